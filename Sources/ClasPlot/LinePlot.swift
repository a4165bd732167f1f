import Foundation

/// One panel of line charts: axes with ticks and grid, titled axes, several series, marked points and a legend
/// placed in the emptiest corner.
///
/// ```swift
/// var plot = LinePlot(title: "loss", xLabel: "epoch", yLabel: "loss")
/// plot.add("train", [(1, 0.9), (2, 0.6), (3, 0.5)])
/// try plot.render(width: 480, height: 320).writePNG(to: "loss.png")
/// ```
public struct LinePlot {
    /// How values map to positions along an axis.
    public enum Scale: Sendable { case linear, logarithmic }

    /// A named line.
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: Color
        public var thickness: Double
        /// Dash length in pixels, or nil for a solid line.
        public var dash: Double?
        /// Draw a dot at each point (useful for few points).
        public var showPoints: Bool
    }

    /// A highlighted point with a label.
    public struct Marker {
        public var x: Double, y: Double
        public var label: String
        public var color: Color
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale = Scale.linear
    public var yScale = Scale.linear
    /// Only integer x ticks (epochs).
    public var integerXTicks = false
    /// Fixed y range (values outside are clipped), or nil to fit the data.
    public var yLimits: ClosedRange<Double>?
    public private(set) var series: [Series] = []
    public private(set) var markers: [Marker] = []

    public init(title: String = "", xLabel: String = "", yLabel: String = "") {
        (self.title, self.xLabel, self.yLabel) = (title, xLabel, yLabel)
    }

    /// Adds a series; its colour defaults to the next one of the palette. Non-finite points are skipped (and
    /// non-positive ones on a logarithmic axis, when drawing).
    public mutating func add(_ name: String, _ points: [(x: Double, y: Double)], color: Color? = nil,
                             thickness: Double = 1.6, dash: Double? = nil, showPoints: Bool? = nil) {
        let kept = points.filter { $0.x.isFinite && $0.y.isFinite }
        series.append(Series(name: name, points: kept, color: color ?? Color.palette[series.count % Color.palette.count],
                             thickness: thickness, dash: dash, showPoints: showPoints ?? (kept.count <= 12)))
    }

    /// Marks a point with a dot and a label.
    public mutating func mark(x: Double, y: Double, label: String, color: Color = Color.palette[3]) {
        markers.append(Marker(x: x, y: y, label: label, color: color))
    }

    /// The panel drawn alone on a white canvas.
    public func render(width: Int, height: Int) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        draw(on: &canvas, in: Rect(x: 0, y: 0, width: width, height: height))
        return canvas
    }

    private func usable(_ v: Double, _ scale: Scale) -> Bool { scale == .linear || v > 0 }

    /// Draws the panel into `frame`.
    public func draw(on canvas: inout Canvas, in frame: Rect) {
        let font = canvas.font
        var shown = series
        for i in shown.indices { shown[i].points = shown[i].points.filter { usable($0.x, xScale) && usable($0.y, yScale) } }
        let xs = shown.flatMap { $0.points.map(\.x) } + markers.map(\.x)
        var ys = shown.flatMap { $0.points.map(\.y) } + markers.map(\.y)
        if let yLimits { ys = ys.map { min(max($0, yLimits.lowerBound), yLimits.upperBound) } }
        let x = axis(xs, xScale, count: 6, integers: integerXTicks, limits: nil)
        let y = axis(ys, yScale, count: 5, integers: false, limits: yLimits)
        let yLabels = y.ticks.map { label($0, y) }
        let tickWidth = yLabels.map { font.width(of: $0) }.max() ?? 0
        let plot = frame.inset(left: 8 + (yLabel.isEmpty ? 0 : font.glyphHeight + 6) + tickWidth + 6,
                               top: title.isEmpty ? 10 : font.glyphHeight + 14, right: 14,
                               bottom: 6 + font.glyphHeight + (xLabel.isEmpty ? 6 : font.glyphHeight + 12))
        guard plot.width > 10, plot.height > 10 else { return }
        let map = Mapping(plot: plot, x: x, y: y)

        // Grid, frame, ticks and their labels.
        for (t, text) in zip(y.ticks, yLabels) {
            let py = Int(map.py(t).rounded(.down))
            canvas.fill(Rect(x: plot.x, y: py, width: plot.width, height: 1), .grid)
            canvas.text(text, x: plot.x - 6, y: py, anchor: .right, color: .mutedInk)
        }
        for t in x.ticks {
            let px = Int(map.px(t).rounded(.down))
            canvas.fill(Rect(x: px, y: plot.y, width: 1, height: plot.height), .grid)
            canvas.fill(Rect(x: px, y: plot.maxY, width: 1, height: 4), .ink)
            canvas.text(label(t, x), x: px, y: plot.maxY + 6, anchor: .top, color: .mutedInk)
        }
        canvas.stroke(plot.inset(left: -1, top: -1, right: -1, bottom: -1), .ink)
        if !title.isEmpty { canvas.text(title, x: plot.x + plot.width / 2, y: frame.y + 6, anchor: .top) }
        if !xLabel.isEmpty { canvas.text(xLabel, x: plot.x + plot.width / 2, y: frame.maxY - 6, anchor: .bottom) }
        if !yLabel.isEmpty {
            canvas.text(yLabel, x: frame.x + 8, y: plot.y + plot.height / 2, anchor: .left, vertical: true)
        }

        // Data, clipped to the plot area.
        for s in shown {
            let points = s.points.map { (x: map.px($0.x), y: map.py($0.y)) }
            for run in clippedRuns(points, to: plot) { canvas.polyline(run, s.color, thickness: s.thickness, dash: s.dash) }
            if s.showPoints {
                for p in points where contains(plot, p) { canvas.dot(at: p, radius: 2.2, s.color) }
            }
        }
        for m in markers {
            let p = (x: map.px(m.x), y: map.py(min(max(m.y, y.range.lowerBound), y.range.upperBound)))
            canvas.polyline([(x: p.x, y: Double(plot.maxY)), p], m.color, thickness: 1, dash: 3)
            canvas.dot(at: p, radius: 4.5, m.color)
            let rightHalf = p.x > Double(plot.x + plot.width / 2)
            let w = canvas.font.width(of: m.label), h = canvas.font.glyphHeight
            let left = rightHalf ? Int(p.x) - 8 - w : Int(p.x) + 8, top = Int(p.y) - 8 - h
            canvas.fill(Rect(x: left - 3, y: top - 2, width: w + 6, height: h + 4), .white)
            canvas.stroke(Rect(x: left - 3, y: top - 2, width: w + 6, height: h + 4), m.color.mixed(with: .white, 0.6))
            canvas.text(m.label, x: left, y: top, color: m.color)
        }
        drawLegend(on: &canvas, series: shown, plot: plot, map: map)
    }

    // MARK: - Axes

    struct Axis {
        var scale: Scale
        var range: ClosedRange<Double>
        var ticks: [Double]
        var step: Double
    }

    private func axis(_ values: [Double], _ scale: Scale, count: Int, integers: Bool, limits: ClosedRange<Double>?) -> Axis {
        let lo = limits?.lowerBound ?? values.min() ?? 0, hi = limits?.upperBound ?? values.max() ?? 1
        if scale == .logarithmic {
            let (range, ticks) = Ticks.logarithmic(lo > 0 ? lo : 1e-3, hi > 0 ? hi : 1)
            return Axis(scale: scale, range: range, ticks: ticks, step: 1)
        }
        if integers {
            let step = max(1, Ticks.niceStep((hi - lo) / Double(count)))
            let first = (lo / step).rounded(.down) * step, last = max((hi / step).rounded(.up) * step, first + step)
            let ticks = stride(from: first, through: last + step / 2, by: step).map { $0 }
            return Axis(scale: scale, range: first...last, ticks: ticks, step: step)
        }
        var (range, ticks) = Ticks.linear(lo, hi, count: count)
        if let limits {
            range = limits
            ticks = ticks.filter { limits.contains($0) }
        }
        return Axis(scale: scale, range: range, ticks: ticks, step: ticks.count > 1 ? ticks[1] - ticks[0] : 1)
    }

    private func label(_ v: Double, _ axis: Axis) -> String {
        axis.scale == .logarithmic ? Ticks.exponentLabel(v) : Ticks.label(v, step: axis.step)
    }

    /// Data → pixel coordinates.
    struct Mapping {
        let plot: Rect, x: Axis, y: Axis
        private func fraction(_ v: Double, _ a: Axis) -> Double {
            a.scale == .logarithmic
                ? (log10(v) - log10(a.range.lowerBound)) / (log10(a.range.upperBound) - log10(a.range.lowerBound))
                : (v - a.range.lowerBound) / (a.range.upperBound - a.range.lowerBound)
        }
        func px(_ v: Double) -> Double { Double(plot.x) + fraction(v, x) * Double(plot.width - 1) + 0.5 }
        func py(_ v: Double) -> Double { Double(plot.maxY - 1) - fraction(v, y) * Double(plot.height - 1) + 0.5 }
    }

    // MARK: - Clipping and legend

    private func contains(_ r: Rect, _ p: (x: Double, y: Double)) -> Bool {
        p.x >= Double(r.x) && p.x <= Double(r.maxX) && p.y >= Double(r.y) && p.y <= Double(r.maxY)
    }

    /// The polyline cut into the pieces inside `rect` (Liang–Barsky per segment).
    private func clippedRuns(_ points: [(x: Double, y: Double)], to rect: Rect) -> [[(x: Double, y: Double)]] {
        var runs: [[(x: Double, y: Double)]] = [], current: [(x: Double, y: Double)] = []
        let (xmin, xmax, ymin, ymax) = (Double(rect.x), Double(rect.maxX), Double(rect.y), Double(rect.maxY))
        for i in 1..<max(points.count, 1) {
            let a = points[i - 1], b = points[i]
            let dx = b.x - a.x, dy = b.y - a.y
            var t0 = 0.0, t1 = 1.0, inside = true
            for (p, q) in [(-dx, a.x - xmin), (dx, xmax - a.x), (-dy, a.y - ymin), (dy, ymax - a.y)] {
                if p == 0 {
                    if q < 0 { inside = false }
                } else {
                    let r = q / p
                    if p < 0 { t0 = max(t0, r) } else { t1 = min(t1, r) }
                }
            }
            guard inside, t0 <= t1 else {
                if !current.isEmpty { runs.append(current); current = [] }
                continue
            }
            let start = (x: a.x + t0 * dx, y: a.y + t0 * dy), end = (x: a.x + t1 * dx, y: a.y + t1 * dy)
            if current.isEmpty || t0 > 0 {
                if !current.isEmpty { runs.append(current) }
                current = [start]
            }
            current.append(end)
            if t1 < 1 { runs.append(current); current = [] }
        }
        if current.count > 1 { runs.append(current) }
        return runs.filter { $0.count > 1 }
    }

    private func drawLegend(on canvas: inout Canvas, series: [Series], plot: Rect, map: Mapping) {
        let named = series.filter { !$0.name.isEmpty && !$0.points.isEmpty }
        guard named.count > 1 || (named.count == 1 && !markers.isEmpty) else { return }
        let font = canvas.font, rowHeight = font.glyphHeight + 5
        let box = (width: 8 + 22 + 6 + (named.map { font.width(of: $0.name) }.max() ?? 0) + 8,
                   height: 6 + named.count * rowHeight + 1)
        let corners = [
            Rect(x: plot.maxX - box.width - 6, y: plot.y + 6, width: box.width, height: box.height),
            Rect(x: plot.maxX - box.width - 6, y: plot.maxY - box.height - 6, width: box.width, height: box.height),
            Rect(x: plot.x + 6, y: plot.y + 6, width: box.width, height: box.height),
            Rect(x: plot.x + 6, y: plot.maxY - box.height - 6, width: box.width, height: box.height),
        ]
        // The corner covering the fewest drawn points (including points interpolated along each line).
        let drawn = series.flatMap { s -> [(x: Double, y: Double)] in
            let p = s.points.map { (x: map.px($0.x), y: map.py($0.y)) }
            guard p.count > 1 else { return p }
            return (1..<p.count).flatMap { i in (0..<8).map { k in
                let t = Double(k) / 8
                return (x: p[i - 1].x + (p[i].x - p[i - 1].x) * t, y: p[i - 1].y + (p[i].y - p[i - 1].y) * t)
            } } + [p[p.count - 1]]
        } + markers.map { (x: map.px($0.x), y: map.py($0.y)) }
        let legend = corners.min { a, b in
            drawn.filter { contains(a.inset(left: -4, top: -4, right: -4, bottom: -4), $0) }.count
                < drawn.filter { contains(b.inset(left: -4, top: -4, right: -4, bottom: -4), $0) }.count
        } ?? corners[0]
        canvas.fill(legend, .white)
        canvas.stroke(legend, Color(hex: 0xCCCCCC))
        for (i, s) in named.enumerated() {
            let cy = Double(legend.y + 6 + i * rowHeight + font.glyphHeight / 2)
            canvas.polyline([(x: Double(legend.x + 8), y: cy), (x: Double(legend.x + 30), y: cy)], s.color,
                            thickness: 2, dash: s.dash)
            canvas.text(s.name, x: legend.x + 36, y: Int(cy), anchor: .left)
        }
    }
}
