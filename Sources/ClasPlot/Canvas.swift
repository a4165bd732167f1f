import ClasData
import Foundation

/// An integer rectangle on a canvas (origin at the top left, y down).
public struct Rect: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) { (self.x, self.y, self.width, self.height) = (x, y, width, height) }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    /// The rectangle shrunk by the given margins.
    public func inset(left: Int = 0, top: Int = 0, right: Int = 0, bottom: Int = 0) -> Rect {
        Rect(x: x + left, y: y + top, width: max(0, width - left - right), height: max(0, height - top - bottom))
    }
}

/// Where a text's anchor point sits on the text's box.
public enum TextAnchor: Sendable {
    case topLeft, top, topRight, left, center, right, bottomLeft, bottom, bottomRight

    var fractions: (Double, Double) {
        switch self {
        case .topLeft: (0, 0)
        case .top: (0.5, 0)
        case .topRight: (1, 0)
        case .left: (0, 0.5)
        case .center: (0.5, 0.5)
        case .right: (1, 0.5)
        case .bottomLeft: (0, 1)
        case .bottom: (0.5, 1)
        case .bottomRight: (1, 1)
        }
    }
}

/// An RGB raster to draw plots on: rectangles, anti-aliased lines, dots, bitmap text and images; saved as PNG.
///
/// Pixel (i, j) covers [i, i+1) × [j, j+1); line coordinates are real numbers in that space.
public struct Canvas {
    public let width: Int
    public let height: Int
    /// `height × width × 3` components, row by row.
    public private(set) var pixels: [UInt8]
    /// The font of `text`.
    public var font = BitmapFont.fixed6x10

    /// A canvas filled with `background`.
    public init(width: Int, height: Int, background: Color = .white) {
        precondition(width > 0 && height > 0, "canvas size must be positive, got \(width)x\(height)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(Rect(x: 0, y: 0, width: width, height: height), background)
    }

    /// The colour at (x, y).
    public func color(x: Int, y: Int) -> Color {
        let i = (y * width + x) * 3
        return Color(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Paints one pixel `alpha` of the way towards `color` (clipped to the canvas).
    public mutating func blend(x: Int, y: Int, _ color: Color, alpha: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let i = (y * width + x) * 3
        if alpha >= 1 {
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (color.r, color.g, color.b)
            return
        }
        let mixed = Color(pixels[i], pixels[i + 1], pixels[i + 2]).mixed(with: color, alpha)
        (pixels[i], pixels[i + 1], pixels[i + 2]) = (mixed.r, mixed.g, mixed.b)
    }

    /// Fills a rectangle (clipped to the canvas).
    public mutating func fill(_ rect: Rect, _ color: Color) {
        let x0 = max(rect.x, 0), x1 = min(rect.maxX, width), y0 = max(rect.y, 0), y1 = min(rect.maxY, height)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 { for x in x0..<x1 { blend(x: x, y: y, color) } }
    }

    /// Draws the outline of a rectangle, one pixel wide, inside its bounds.
    public mutating func stroke(_ rect: Rect, _ color: Color) {
        fill(Rect(x: rect.x, y: rect.y, width: rect.width, height: 1), color)
        fill(Rect(x: rect.x, y: rect.maxY - 1, width: rect.width, height: 1), color)
        fill(Rect(x: rect.x, y: rect.y, width: 1, height: rect.height), color)
        fill(Rect(x: rect.maxX - 1, y: rect.y, width: 1, height: rect.height), color)
    }

    /// An anti-aliased line segment of the given thickness: each pixel is covered by how far its centre lies
    /// inside the stroke.
    public mutating func line(from a: (x: Double, y: Double), to b: (x: Double, y: Double), _ color: Color,
                              thickness: Double = 1.5) {
        guard a.x.isFinite, a.y.isFinite, b.x.isFinite, b.y.isFinite else { return }
        let half = thickness / 2
        let x0 = max(0, Int((min(a.x, b.x) - half - 1).rounded(.down)))
        let x1 = min(width - 1, Int((max(a.x, b.x) + half + 1).rounded(.up)))
        let y0 = max(0, Int((min(a.y, b.y) - half - 1).rounded(.down)))
        let y1 = min(height - 1, Int((max(a.y, b.y) + half + 1).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let dx = b.x - a.x, dy = b.y - a.y, length2 = dx * dx + dy * dy
        for y in y0...y1 {
            for x in x0...x1 {
                let px = Double(x) + 0.5, py = Double(y) + 0.5
                let t = length2 > 0 ? min(max(((px - a.x) * dx + (py - a.y) * dy) / length2, 0), 1) : 0
                let ex = px - (a.x + t * dx), ey = py - (a.y + t * dy)
                let coverage = half + 0.5 - (ex * ex + ey * ey).squareRoot()
                if coverage > 0 { blend(x: x, y: y, color, alpha: min(coverage, 1)) }
            }
        }
    }

    /// A polyline through `points`; with `dash`, drawn as dashes of that many pixels separated by gaps of the same.
    public mutating func polyline(_ points: [(x: Double, y: Double)], _ color: Color, thickness: Double = 1.5,
                                  dash: Double? = nil) {
        guard points.count > 1 else { return }
        guard let dash else {
            for i in 1..<points.count { line(from: points[i - 1], to: points[i], color, thickness: thickness) }
            return
        }
        var travelled = 0.0
        for i in 1..<points.count {
            let a = points[i - 1], b = points[i]
            let length = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
            guard length > 0 else { continue }
            var s = 0.0
            while s < length {
                let phase = (travelled + s).truncatingRemainder(dividingBy: 2 * dash)
                let runEnd = min(length, s + (phase < dash ? dash - phase : 2 * dash - phase))
                if phase < dash {
                    let p = (x: a.x + (b.x - a.x) * s / length, y: a.y + (b.y - a.y) * s / length)
                    let q = (x: a.x + (b.x - a.x) * runEnd / length, y: a.y + (b.y - a.y) * runEnd / length)
                    line(from: p, to: q, color, thickness: thickness)
                }
                s = runEnd
            }
            travelled += length
        }
    }

    /// A filled, anti-aliased disc.
    public mutating func dot(at c: (x: Double, y: Double), radius: Double, _ color: Color) {
        line(from: c, to: c, color, thickness: 2 * radius)
    }

    /// Draws `text` with its `anchor` point at (x, y); `scale` enlarges each font pixel to a square.
    /// With `vertical`, the text runs bottom to top (rotated 90° counter-clockwise), for y-axis titles.
    public mutating func text(_ text: String, x: Int, y: Int, anchor: TextAnchor = .topLeft, color: Color = .ink,
                              scale: Int = 1, vertical: Bool = false) {
        let w = font.width(of: text, scale: scale), h = font.height(scale: scale)
        let (fx, fy) = anchor.fractions
        let boxW = vertical ? h : w, boxH = vertical ? w : h
        let left = x - Int((Double(boxW) * fx).rounded()), top = y - Int((Double(boxH) * fy).rounded())
        for (i, scalar) in text.unicodeScalars.enumerated() {
            for gy in 0..<font.glyphHeight {
                for gx in 0..<font.glyphWidth where font.isSet(scalar, x: gx, y: gy) {
                    // Glyph pixel (u, v) of the text box before rotation.
                    let u = (i * font.glyphWidth + gx) * scale, v = gy * scale
                    let (px, py) = vertical ? (left + v, top + boxH - 1 - u - (scale - 1)) : (left + u, top + v)
                    fill(Rect(x: px, y: py, width: scale, height: scale), color)
                }
            }
        }
    }

    /// Copies an 8-bit image (1 or 3 channels) with its top left at (x, y), each pixel enlarged `scale` times.
    public mutating func draw(_ image: Image, x: Int, y: Int, scale: Int = 1) {
        precondition(image.channels == 1 || image.channels == 3, "draw(image:) takes gray or RGB images")
        let channels = image.channels
        image.pixels.withUnsafeBufferPointer { src in
            for iy in 0..<image.height {
                for ix in 0..<image.width {
                    let i = (iy * image.width + ix) * channels
                    let c = channels == 1 ? Color(src[i], src[i], src[i]) : Color(src[i], src[i + 1], src[i + 2])
                    fill(Rect(x: x + ix * scale, y: y + iy * scale, width: scale, height: scale), c)
                }
            }
        }
    }

    /// The canvas as an 8-bit RGB image.
    public var image: Image { Image(width: width, height: height, channels: 3, pixels: pixels) }

    /// Writes the canvas as a PNG file (through libpng), replacing `path` atomically.
    public func writePNG(to path: String) throws { try ImageCodec.writePNG(image, to: path, durable: false) }
}
