import ClasConfig
import ClasData
import ClasEngine
import ClasExport
import ClasModels
import ClasNN
import ClasOptim
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

@testable import ClasCLI

/// A model registered by a user's package gets what built-in models get from their cards: `tools summary` and
/// `tools benchmark` find it, fine-tuning knows its classifier, export knows its input size.
final class UserModelTests: XCTestCase {
    func registries() -> Registries {
        var r = Registries.builtins()
        PocketNet.register(into: &r.arch)
        return r
    }

    func testSummaryUsesTheCardsInputSize() throws {
        let text = try SummaryCommand.parse(["--model", "pocketnet_s", "--classes", "3"]).describe(registries: registries())
        XCTAssertTrue(text.hasPrefix("PocketNet_S\n"), text)
        XCTAssertTrue(text.contains("[1, 40, 40, 3]"), text)
    }

    func testBenchmarkFindsIt() throws {
        var lines: [String] = []
        let command = try BenchmarkCommand.parse(["--model", "PocketNet_M", "--batch", "2", "--size", "48", "--reps", "1",
                                                  "--warmup", "0", "--classes", "3"])
        try command.benchmarkModel(registries: registries()) { lines.append($0) }
        XCTAssertEqual(lines.first, "model: PocketNet_M, parameters: \(PocketNet.parameters(width: 16, classes: 3)), "
                       + "batch 2, size 48, mode train")
        XCTAssertTrue(lines.last?.hasSuffix(" img/s") ?? false, "\(lines)")
    }

    func testFineTunesWithAFreshClassifierAndExportsAtItsOwnSize() throws {
        let dir = try pocketRun()
        let r = registries()
        // Weights of a 5-class PocketNet_S, as if trained elsewhere.
        Randomness.seed(3)
        let pretrained = try r.arch.make("PocketNet_S", classCount: 5)
        try Checkpoint.save(prefix: "\(dir)/pretrained", model: pretrained, optimizer: nil, ema: nil,
                            state: .init(epoch: 1, step: 1, bestMetric: 0, bestEpoch: 1))

        let config = try RunConfig.load("\(dir)/run.yaml", overrides: ["Global.pretrained_model=\(dir)/pretrained",
                                                                      "Arch.freeze_backbone=True"])
        let engine = try Engine(config: config, mode: .train, registries: r, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        let trainable = engine.model.namedParameters().filter { $0.1.requiresGrad }.map(\.0)
        XCTAssertEqual(trainable, ["head.weight", "head.bias"], "the card's classifier, not the last linear layer (proj)")
        let model = try XCTUnwrap(engine.model as? PocketNet)
        XCTAssertEqual(model.head.weight.shape, [3, 16], "a fresh 3-class classifier")
        XCTAssertEqual(model.stem.weight.scalars, pretrained.stateDict().first { $0.0 == "stem.weight" }?.1.scalars)
        try Trainer(engine: engine).run()
        XCTAssertEqual(model.proj.weight.scalars, pretrained.stateDict().first { $0.0 == "proj.weight" }?.1.scalars,
                       "the backbone stays frozen")

        let export = try Engine(config: config.overriding(["Global.pretrained_model=\(dir)/output/PocketNet_S/latest",
                                                           "Global.save_inference_dir=\(dir)/inference"]),
                                mode: .export, registries: r, quiet: true)
        let result = try ExportRun(engine: export).run()
        let input = try XCTUnwrap(result.model.graph.input.first)
        XCTAssertEqual(input.type.tensorType.shape.dim.dropFirst().map(\.dimValue), [3, 40, 40], "the card's input size")
        XCTAssertLessThan(result.maxDifference, 1e-4)
    }

    /// Three classes of four 40×40 images, and a config for PocketNet_S whose transforms do not resize.
    func pocketRun(name: String = #function) throws -> String {
        let dir = temporaryDirectory(name)
        for split in ["train", "val"] {
            for k in 0..<3 {
                let folder = "\(dir)/\(split)/class_\(k)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for i in 0..<4 {
                    let pixels = (0..<40 * 40 * 3).map { UInt8(truncatingIfNeeded: $0 % (k + 2) * 60 + i * 5) }
                    try ImageCodec.writePNG(Image(width: 40, height: 40, channels: 3, pixels: pixels),
                                            to: "\(folder)/\(i).png", durable: false)
                }
            }
        }
        func split(_ name: String, shuffle: Bool) -> String {
            """
              \(name):
                dataset:
                  name: ImageFolderDataset
                  image_root: \(dir)/\(name.lowercased() == "train" ? "train" : "val")
                  transform_ops:
                    - DecodeImage: {to_rgb: True}
                    - NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}
                sampler: {name: DistributedBatchSampler, batch_size: 4, shuffle: \(shuffle ? "True" : "False")}
                loader: {num_workers: 0}
            """
        }
        let yaml = """
            Global: {output_dir: \(dir)/output, epochs: 1, print_batch_step: 1, seed: 7}
            Arch: {name: PocketNet_S}
            Loss: {Train: [{CELoss: {weight: 1.0}}], Eval: [{CELoss: {weight: 1.0}}]}
            Optimizer: {name: Momentum, momentum: 0.9, lr: 0.05}
            DataLoader:
            \(split("Train", shuffle: true))
            \(split("Eval", shuffle: false))
            """
        try yaml.write(toFile: "\(dir)/run.yaml", atomically: true, encoding: .utf8)
        return dir
    }
}

extension PocketNet {
    /// Parameters of a PocketNet of `width` with `classes` outputs (two 3×3 convs, two BNs, proj and head).
    static func parameters(width w: Int, classes: Int) -> Int {
        27 * w + 2 * w + 9 * w * 2 * w + 2 * (2 * w) + (2 * w) * (2 * w) + 2 * w + 2 * w * classes + classes
    }
}
