import ClasData

/// Images in a grid, each with a caption underneath (for looking at training samples after augmentation).
public struct ImageGrid {
    /// The images (8-bit gray or RGB; sizes may differ) and their captions.
    public var tiles: [(image: Image, caption: String)]
    /// Tiles per row.
    public var columns: Int
    public var title: String
    /// A smaller line under the title.
    public var subtitle: String
    /// Each image is enlarged by a whole factor to about this many pixels on its longer side (never shrunk).
    public var targetSize: Int

    public init(tiles: [(image: Image, caption: String)], columns: Int? = nil, title: String = "", subtitle: String = "",
                targetSize: Int = 128) {
        self.tiles = tiles
        var side = 1
        while side * side < tiles.count { side += 1 }
        self.columns = max(1, columns ?? side)
        self.title = title
        self.subtitle = subtitle
        self.targetSize = targetSize
    }

    public func render() -> Canvas {
        let font = BitmapFont.fixed6x10
        let scales = tiles.map { max(1, targetSize / max($0.image.width, $0.image.height, 1)) }
        let cellWidth = max(zip(tiles, scales).map { $0.0.image.width * $0.1 }.max() ?? 1, 8 * font.glyphWidth)
        let cellHeight = (zip(tiles, scales).map { $0.0.image.height * $0.1 }.max() ?? 1) + font.glyphHeight + 8
        let gap = 10
        let header = gap + (title.isEmpty ? 0 : 2 * font.glyphHeight + gap) + (subtitle.isEmpty ? 0 : font.glyphHeight + gap)
        let rows = max(1, (tiles.count + columns - 1) / columns)
        var canvas = Canvas(width: gap + columns * (cellWidth + gap), height: header + rows * (cellHeight + gap))
        var y = gap
        if !title.isEmpty {
            let scale = font.width(of: title, scale: 2) <= canvas.width - 2 * gap ? 2 : 1
            canvas.text(font.truncate(title, toWidth: canvas.width - 2 * gap, scale: scale), x: canvas.width / 2, y: y,
                        anchor: .top, scale: scale)
            y += 2 * font.glyphHeight + gap
        }
        if !subtitle.isEmpty {
            canvas.text(font.truncate(subtitle, toWidth: canvas.width - 2 * gap), x: canvas.width / 2, y: y, anchor: .top,
                        color: .mutedInk)
        }
        for (i, (tile, scale)) in zip(tiles, scales).enumerated() {
            let x = gap + i % columns * (cellWidth + gap), y = header + i / columns * (cellHeight + gap)
            let w = tile.image.width * scale, h = tile.image.height * scale
            canvas.draw(tile.image, x: x + (cellWidth - w) / 2, y: y, scale: scale)
            canvas.stroke(Rect(x: x + (cellWidth - w) / 2 - 1, y: y - 1, width: w + 2, height: h + 2), Color(hex: 0xBBBBBB))
            canvas.text(font.truncate(tile.caption, toWidth: cellWidth), x: x + cellWidth / 2, y: y + h + 5, anchor: .top)
        }
        return canvas
    }
}
