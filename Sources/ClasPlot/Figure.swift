/// Several ``LinePlot`` panels side by side (left to right, then top to bottom) under an optional title.
public struct Figure {
    public var title: String
    public var panels: [LinePlot]
    /// Panels per row.
    public var columns: Int
    /// Size of each panel in pixels.
    public var panelWidth: Int, panelHeight: Int

    public init(title: String = "", panels: [LinePlot], columns: Int? = nil, panelWidth: Int = 420, panelHeight: Int = 320) {
        self.title = title
        self.panels = panels
        self.columns = max(1, columns ?? panels.count)
        (self.panelWidth, self.panelHeight) = (panelWidth, panelHeight)
    }

    /// Draws every panel on one canvas.
    public func render() -> Canvas {
        let rows = max(1, (panels.count + columns - 1) / columns)
        let header = title.isEmpty ? 0 : 30
        var canvas = Canvas(width: columns * panelWidth, height: header + rows * panelHeight)
        if !title.isEmpty { canvas.text(title, x: canvas.width / 2, y: 8, anchor: .top, scale: 2) }
        for (i, panel) in panels.enumerated() {
            let frame = Rect(x: i % columns * panelWidth, y: header + i / columns * panelHeight,
                             width: panelWidth, height: panelHeight)
            panel.draw(on: &canvas, in: frame)
        }
        return canvas
    }
}
