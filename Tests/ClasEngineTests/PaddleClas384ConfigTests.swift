import ClasConfig
import ClasEngine
import Foundation
import XCTest
import _ClasTestSupport

/// PaddleClas's own ImageNet config of Swin-B/384 (window 12), copied unmodified under `ClasConfigTests/Fixtures/ppcls`
/// (its `AMP` section, `device: gpu`, `use_fused_attn`), loads and trains one step with the config catalogue's
/// overrides (data paths, batch 2, one iteration, crops at 64 px) and `Global.device=cpu`. (PaddleClas's other
/// ConvNeXt and Swin configs differ from their `ppcls-style-configs` copies, which the catalogue trains, only in
/// comments, AMP and `update_freq`.)
final class PaddleClas384ConfigTests: XCTestCase {
    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ClasConfigTests/Fixtures/ppcls").path

    func testSwinBase384TrainsOneStep() throws {
        let data = try CatalogueData(dir: temporaryDirectory())
        addTeardownBlock { try? FileManager.default.removeItem(atPath: data.dir) }
        for name in ["SwinTransformer_base_patch4_window12_384.yaml"] {
            let path = "\(Self.fixtures)/\(name)"
            let overrides = try data.overrides(for: path, output: "\(data.dir)/out") + ["Global.device=cpu"]
            XCTAssertTrue(overrides.contains("DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=64"), name)
            let engine = try Engine(configPath: path, overrides: overrides, mode: .train, quiet: true)
            var lines: [String] = []
            engine.logger.capture = { lines.append($0) }
            try Trainer(engine: engine).run()
            let step = lines.first { $0.contains("[Train][Epoch 1/1][Iter: 0/1]") } ?? ""
            XCTAssertTrue(step.contains("loss: ") && !step.contains("loss: nan"), "\(name): \(step)")
            try? FileManager.default.removeItem(atPath: "\(data.dir)/out")
        }
    }
}
