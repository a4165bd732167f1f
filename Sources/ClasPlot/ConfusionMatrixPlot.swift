import Foundation

/// A confusion matrix as a heat map: rows are true classes, columns predicted classes, each cell coloured by its
/// share of the row (the recall for diagonal cells) and labelled with its count; class names on both axes.
public struct ConfusionMatrixPlot {
    /// `counts[t][p]`: samples of true class t predicted as p.
    public var counts: [[Int]]
    public var classNames: [String]
    public var title: String

    public init(counts: [[Int]], classNames: [String], title: String = "confusion matrix") {
        precondition(counts.count == classNames.count && counts.allSatisfy { $0.count == counts.count },
                     "a confusion matrix needs a square count table with one name per class")
        (self.counts, self.classNames, self.title) = (counts, classNames, title)
    }

    public func render() -> Canvas {
        let n = max(counts.count, 1)
        let font = BitmapFont.fixed6x10
        let cell = min(56, max(4, 900 / n))
        let showCounts = cell >= font.width(of: String(counts.joined().max() ?? 0)) + 6 && cell >= 16
        let labelEvery = cell >= 12 ? 1 : Int((12.0 / Double(cell)).rounded(.up))
        let names = classNames.map { font.truncate($0, toWidth: 20 * font.glyphWidth) }
        let labelWidth = names.map { font.width(of: $0) }.max() ?? 0
        let left = 14 + font.glyphHeight + 10 + labelWidth + 8
        let top = 16 + 2 * font.glyphHeight + 14
        let grid = Rect(x: left, y: top, width: n * cell, height: n * cell)
        let bottom = 8 + labelWidth + 12 + font.glyphHeight + 12
        let barWidth = 14, right = 24 + barWidth + 8 + font.width(of: "1.00") + 16
        var canvas = Canvas(width: max(grid.maxX + right, font.width(of: title, scale: 2) + 20),
                            height: grid.maxY + bottom)

        canvas.text(title, x: grid.x + grid.width / 2, y: 10, anchor: .top, scale: 2)
        for t in 0..<counts.count {
            let rowTotal = max(counts[t].reduce(0, +), 1)
            for p in 0..<counts.count {
                let share = Double(counts[t][p]) / Double(rowTotal)
                let color = Color.blues(share)
                let r = Rect(x: grid.x + p * cell, y: grid.y + t * cell, width: cell, height: cell)
                canvas.fill(r, color)
                if showCounts && counts[t][p] > 0 {
                    canvas.text(String(counts[t][p]), x: r.x + cell / 2, y: r.y + cell / 2, anchor: .center,
                                color: color.luminance < 0.5 ? .white : .ink)
                }
            }
        }
        canvas.stroke(grid.inset(left: -1, top: -1, right: -1, bottom: -1), .ink)
        for (i, name) in names.enumerated() where i % labelEvery == 0 {
            let c = i * cell + cell / 2
            canvas.text(name, x: grid.x - 8, y: grid.y + c, anchor: .right)
            canvas.text(name, x: grid.x + c, y: grid.maxY + 8, anchor: .topRight, vertical: true)
        }
        canvas.text("true class", x: 14, y: grid.y + grid.height / 2, anchor: .left, vertical: true)
        canvas.text("predicted class", x: grid.x + grid.width / 2, y: canvas.height - 12, anchor: .bottom)

        // Colour bar: share of the true class.
        let bar = Rect(x: grid.maxX + 24, y: grid.y, width: barWidth, height: grid.height)
        for y in 0..<bar.height {
            canvas.fill(Rect(x: bar.x, y: bar.y + y, width: bar.width, height: 1),
                        .blues(1 - Double(y) / Double(max(bar.height - 1, 1))))
        }
        canvas.stroke(bar.inset(left: -1, top: -1, right: -1, bottom: -1), .ink)
        for v in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let y = bar.y + Int(Double(bar.height - 1) * (1 - v))
            canvas.fill(Rect(x: bar.maxX, y: y, width: 4, height: 1), .ink)
            canvas.text(String(format: "%.2f", v), x: bar.maxX + 8, y: y, anchor: .left, color: .mutedInk)
        }
        canvas.text("share of row", x: bar.x + bar.width / 2, y: bar.y - 6, anchor: .bottom, color: .mutedInk)
        return canvas
    }
}
