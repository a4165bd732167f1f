import ClasData
import ClasPlot
import Foundation
import XCTest

/// Ticks, the bitmap font, canvas primitives and the charts, checked pixel by pixel where it matters.
final class PlotTests: XCTestCase {
    func testLinearTicksAreNiceAndCoverTheData() {
        let (range, ticks) = Ticks.linear(0.03, 0.97, count: 5)
        XCTAssertEqual(range, 0...1)
        XCTAssertEqual(ticks.count, 6)
        for (t, e) in zip(ticks, [0, 0.2, 0.4, 0.6, 0.8, 1.0]) { XCTAssertEqual(t, e, accuracy: 1e-12) }
        XCTAssertEqual(Ticks.niceStep(0.13), 0.2)
        XCTAssertEqual(Ticks.niceStep(3.1), 5)
        XCTAssertEqual(Ticks.niceStep(7), 10)
        XCTAssertEqual(Ticks.linear(2, 2).range, 1.8...2.2, "a flat series still gets a range")
        XCTAssertEqual(Ticks.label(0.25, step: 0.05), "0.25")
        XCTAssertEqual(Ticks.label(12, step: 2), "12")
        XCTAssertEqual(Ticks.exponentLabel(1e-4), "1e-4")
        XCTAssertEqual(Ticks.exponentLabel(0.03), "3e-2")
    }

    func testLogTicksAreDecades() {
        let (range, ticks) = Ticks.logarithmic(3e-6, 0.4)
        XCTAssertEqual(range.lowerBound, 1e-6, accuracy: 1e-18)
        XCTAssertEqual(range.upperBound, 1, accuracy: 1e-12)
        XCTAssertEqual(ticks.count, 7)
    }

    func testFontGlyphsAndMeasures() {
        let font = BitmapFont.fixed6x10
        // 'A' of misc-fixed 6x10: apex at column 2 of row 1, crossbar on row 5.
        XCTAssertTrue(font.isSet("A", x: 2, y: 1))
        XCTAssertFalse(font.isSet("A", x: 0, y: 1))
        XCTAssertEqual((0..<6).filter { font.isSet("A", x: $0, y: 5) }.count, 5)
        XCTAssertFalse((0..<6).contains { x in (0..<10).contains { font.isSet(" ", x: x, y: $0) } }, "space is blank")
        XCTAssertEqual(font.width(of: "abc", scale: 2), 36)
        XCTAssertEqual(font.truncate("T-shirt/top", toWidth: 36), "T-shi.")
        XCTAssertEqual(font.truncate("Bag", toWidth: 36), "Bag")
        // Characters outside ASCII are drawn as '?'.
        XCTAssertEqual((0..<10).map { font.isSet("é", x: 2, y: $0) }, (0..<10).map { font.isSet("?", x: 2, y: $0) })
    }

    func testLinesAreAntialiasedAndClipped() {
        var c = Canvas(width: 20, height: 20)
        c.line(from: (x: 2, y: 10.5), to: (x: 18, y: 10.5), .black, thickness: 1)
        XCTAssertEqual(c.color(x: 10, y: 10), .black, "the pixel row the line runs through is covered")
        XCTAssertEqual(c.color(x: 10, y: 12), .white)
        XCTAssertEqual(c.color(x: 10, y: 8), .white)
        var d = Canvas(width: 20, height: 20)
        d.line(from: (x: 2, y: 10), to: (x: 18, y: 10), .black, thickness: 1)
        let half = d.color(x: 10, y: 9)
        XCTAssertTrue(half.r > 60 && half.r < 200, "a line between two rows half-covers both, got \(half)")
        d.line(from: (x: -50, y: -50), to: (x: 100, y: 100), .black)  // must not trap outside the canvas
    }

    func testTextInkStaysInsideItsBox() {
        var c = Canvas(width: 80, height: 40)
        c.text("Hi", x: 40, y: 20, anchor: .center, color: .black)
        let ink = inked(c)
        XCTAssertFalse(ink.isEmpty)
        XCTAssertTrue(ink.allSatisfy { $0.x >= 34 && $0.x < 46 && $0.y >= 15 && $0.y < 25 }, "\(ink)")
        var v = Canvas(width: 40, height: 80)
        v.text("Hi", x: 20, y: 40, anchor: .center, color: .black, vertical: true)
        let vInk = inked(v)
        XCTAssertTrue(vInk.allSatisfy { $0.x >= 15 && $0.x < 25 && $0.y >= 34 && $0.y < 46 }, "\(vInk)")
        XCTAssertGreaterThan(vInk.map(\.y).max()! - vInk.map(\.y).min()!, vInk.map(\.x).max()! - vInk.map(\.x).min()!,
                             "vertical text is taller than wide")
    }

    func testLinePlotMapsDataIntoThePlotArea() throws {
        var plot = LinePlot(title: "t", xLabel: "epoch", yLabel: "loss")
        plot.add("a", [(x: 0, y: 0), (x: 10, y: 10)], color: Color(255, 0, 0))
        plot.add("b", [(x: 0, y: 10), (x: 10, y: 0)], color: Color(0, 0, 255))
        let c = plot.render(width: 300, height: 200)
        let red = coloured(c) { $0.r > 200 && $0.g < 80 && $0.b < 80 }
        let blue = coloured(c) { $0.b > 200 && $0.r < 80 && $0.g < 80 }
        XCTAssertGreaterThan(red.count, 150)
        XCTAssertGreaterThan(blue.count, 150)
        // The rising series goes up to the right (smaller y at larger x), the falling one down.
        let leftRed = red.filter { $0.x < 120 }.map(\.y), rightRed = red.filter { $0.x > 220 }.map(\.y)
        XCTAssertGreaterThan(mean(leftRed), mean(rightRed))
        let leftBlue = blue.filter { $0.x < 120 }.map(\.y), rightBlue = blue.filter { $0.x > 220 }.map(\.y)
        XCTAssertLessThan(mean(leftBlue), mean(rightBlue))
        // PNG through libpng decodes to the same pixels.
        let decoded = try ImageCodec.decode(try ImageCodec.encodePNG(c.image), path: "plot.png")
        XCTAssertEqual(decoded.pixels, c.pixels)
    }

    func testConfusionMatrixColoursFollowRowShares() {
        let plot = ConfusionMatrixPlot(counts: [[90, 10], [50, 50]], classNames: ["cat", "dog"], title: "cm")
        let c = plot.render()
        // Find the four cells by their colours: the 90 % cell is the darkest.
        let darkest = coloured(c) { $0 == Color.blues(0.9) }
        let light = coloured(c) { $0 == Color.blues(0.1) }
        XCTAssertGreaterThan(darkest.count, 400)
        XCTAssertGreaterThan(light.count, 400)
        XCTAssertLessThan(mean(darkest.map(\.x)), mean(light.map(\.x)), "90 % is in the first column, 10 % in the second")
    }

    func testImageGridCopiesAndEnlargesTiles() {
        let tile = Image(width: 2, height: 2, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
        let grid = ImageGrid(tiles: [(tile, "x"), (tile, "y")], columns: 2, targetSize: 8)
        let c = grid.render()
        let red = coloured(c) { $0 == Color(255, 0, 0) }
        XCTAssertEqual(red.count, 2 * 16, "each red pixel becomes a 4×4 block in each of the two tiles")
    }

    private func inked(_ c: Canvas) -> [(x: Int, y: Int)] { coloured(c) { $0 != .white } }

    private func coloured(_ c: Canvas, _ test: (Color) -> Bool) -> [(x: Int, y: Int)] {
        var out: [(x: Int, y: Int)] = []
        for y in 0..<c.height { for x in 0..<c.width where test(c.color(x: x, y: y)) { out.append((x, y)) } }
        return out
    }

    private func mean(_ v: [Int]) -> Double { v.isEmpty ? 0 : Double(v.reduce(0, +)) / Double(v.count) }
}
