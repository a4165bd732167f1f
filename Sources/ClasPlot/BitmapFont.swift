/// A fixed-width bitmap font for labels in plots (ASCII; other characters are drawn as `?`).
public struct BitmapFont: Sendable {
    /// Cell width in pixels (the glyphs leave their last column blank, which spaces the letters).
    public let glyphWidth: Int
    /// Cell height in pixels.
    public let glyphHeight: Int
    /// Rows from the top of the cell to the baseline.
    public let ascent: Int
    private let rows: [UInt8]
    private let first: UInt32, last: UInt32

    /// The X11 misc-fixed 6×10 font (public domain).
    public static let fixed6x10 = BitmapFont(glyphWidth: 6, glyphHeight: 10, ascent: 8, rows: fixed6x10Rows,
                                             first: 32, last: 126)

    init(glyphWidth: Int, glyphHeight: Int, ascent: Int, rows: [UInt8], first: UInt32, last: UInt32) {
        precondition(rows.count == Int(last - first + 1) * glyphHeight, "font table size does not match its range")
        (self.glyphWidth, self.glyphHeight, self.ascent, self.rows) = (glyphWidth, glyphHeight, ascent, rows)
        (self.first, self.last) = (first, last)
    }

    /// Width in pixels of `text` drawn at `scale`.
    public func width(of text: String, scale: Int = 1) -> Int { text.unicodeScalars.count * glyphWidth * scale }

    /// Height in pixels of one line at `scale`.
    public func height(scale: Int = 1) -> Int { glyphHeight * scale }

    /// Whether the pixel at column `x`, row `y` of the glyph of `scalar` is set.
    public func isSet(_ scalar: Unicode.Scalar, x: Int, y: Int) -> Bool {
        guard x >= 0, x < glyphWidth, y >= 0, y < glyphHeight else { return false }
        let code = (first...last).contains(scalar.value) ? scalar.value : 63  // '?'
        let row = rows[Int(code - first) * glyphHeight + y]
        return row >> UInt8(glyphWidth - 1 - x) & 1 == 1
    }

    /// `text` cut to at most `maxWidth` pixels at `scale`, ending in "." when shortened.
    public func truncate(_ text: String, toWidth maxWidth: Int, scale: Int = 1) -> String {
        let fits = maxWidth / (glyphWidth * scale)
        let scalars = Array(text.unicodeScalars)
        guard scalars.count > fits else { return text }
        guard fits >= 2 else { return String(String.UnicodeScalarView(scalars.prefix(max(fits, 0)))) }
        return String(String.UnicodeScalarView(scalars.prefix(fits - 1))) + "."
    }
}
