import ClasData
import ClasEngine
import Foundation
import XCTest

/// The pictures a run leaves: `train_curves.png` after training, the `tools visualize` grid.
final class PlotOutputTests: XCTestCase {
    func testTrainingLeavesCurves() throws {
        let run = try TinyRun(epochs: 2, name: "curves")
        let trainer = try Trainer(engine: Engine(configPath: run.config, mode: .train, quiet: true))
        try trainer.run()
        let png = try ImageCodec.decodeFile("\(run.modelDir)/train_curves.png")
        XCTAssertEqual(png.width, 3 * 420)
        XCTAssertEqual(png.height, 30 + 320)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run.modelDir)/vdl"), "no TensorBoard files unless use_visualdl")
        // The schedule panel follows the schedule: warm-up from 0 to 0.05 over the first epoch, cosine after.
        let points = TrainingCurves.schedulePoints(trainer.schedule, stepsPerEpoch: 4, epochs: 2)
        XCTAssertEqual(points.first?.y ?? -1, 0, accuracy: 1e-9)
        XCTAssertEqual(points.first { $0.x == 1 }?.y ?? -1, 0.05, accuracy: 1e-6)
        XCTAssertEqual(points.last?.x, 2)
    }

    func testVisualizeUndoesNormalisation() throws {
        let run = try TinyRun(epochs: 1, name: "visualize")
        let preview = try DataPreview(configPath: run.config, split: .train, count: 6)
        XCTAssertEqual(preview.tiles.count, 6)
        for (tile, path) in zip(preview.tiles, preview.paths) {
            // No augmentation in this config: un-normalising gives back the file's pixels (up to rounding).
            let original = try ImageCodec.decodeFile(path)
            XCTAssertEqual(tile.image.width, original.width)
            let diff = zip(tile.image.pixels, original.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 99
            XCTAssertLessThanOrEqual(diff, 1, path)
            XCTAssertEqual(tile.caption, (path as NSString).deletingLastPathComponent.split(separator: "/").last.map(String.init))
        }
        let grid = preview.render()
        XCTAssertGreaterThan(grid.width, 3 * 96)
        let eval = try DataPreview(configPath: run.config, split: .eval, count: 40)
        XCTAssertEqual(eval.tiles.count, 32, "at most the split's size")
    }
}
