import ClasData
import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest

/// `Arch.pretrained` end to end through the binary: `tools train -o Arch.pretrained=True` fetches the model card's
/// timm weights from a local hub (HF_ENDPOINT on 127.0.0.1), verifies and caches them, loads the backbone converted
/// from PyTorch layout, re-initialises the 1000-class classifier for the run's 4 classes, and fine-tunes.
final class ArchPretrainedTests: XCTestCase {
    let repo = "timm/mobilenetv3_small_050.lamb_in1k"

    /// A 4-class folder data set of 32×32 PNGs and a PaddleClas-style config training MobileNetV3_small_x0_5 on it.
    private func makeRun(in folder: URL) throws -> String {
        for split in ["train", "val"] {
            for k in 0..<4 {
                let dir = folder.appendingPathComponent("\(split)/c\(k)")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                for i in 0..<2 {
                    var image = Image(width: 32, height: 32, channels: 3)
                    for y in 0..<32 { for x in 0..<32 { for c in 0..<3 {
                        image[x, y, c] = UInt8((x * (k + 1) + y * (i + 2) + c * 40) % 256)
                    } } }
                    try ImageCodec.writePNG(image, to: dir.appendingPathComponent("\(i).png").path, durable: false)
                }
            }
        }
        let ops = """
                  transform_ops:
                    - DecodeImage: {to_rgb: True}
                    - NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}
            """
        let config = """
            Global: {output_dir: \(folder.path)/output, epochs: 1, seed: 3, print_batch_step: 1}
            Arch: {name: MobileNetV3_small_x0_5, pretrained: False}
            Loss: {Train: [CELoss: {weight: 1.0}], Eval: [CELoss: {weight: 1.0}]}
            Optimizer: {name: Momentum, momentum: 0.9, lr: {name: Cosine, learning_rate: 0.0}}
            DataLoader:
              Train:
                dataset:
                  name: ImageFolderDataset
                  image_root: \(folder.path)/train
            \(ops)
                sampler: {name: DistributedBatchSampler, batch_size: 4, shuffle: True, drop_last: False}
                loader: {num_workers: 0}
              Eval:
                dataset:
                  name: ImageFolderDataset
                  image_root: \(folder.path)/val
            \(ops)
                sampler: {name: DistributedBatchSampler, batch_size: 4, shuffle: False}
                loader: {num_workers: 0}
            Metric: {Eval: [TopkAcc: {topk: [1, 2]}]}
            """
        let path = folder.appendingPathComponent("run.yaml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testArchPretrainedDownloadsVerifiesAndFineTunes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clas-pretrained-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try makeRun(in: folder)

        // "ImageNet" weights in timm's layout: a 1000-class model with a fixed seed.
        Randomness.seed(42)
        let imagenet = try ModelRegistry.builtins().make("MobileNetV3_small_x0_5", classCount: 1000)
        let weightsFile = folder.appendingPathComponent("model.safetensors")
        try Safetensors.write(TimmImport.timmStateDict(of: imagenet), to: weightsFile.path)
        let server = try LocalHubServer(files: ["/\(repo)/resolve/main/model.safetensors": (try Data(contentsOf: weightsFile), "lfs")])
        defer { server.stop() }
        let cache = folder.appendingPathComponent("cache")
        let env = ["HF_ENDPOINT": server.endpoint, "XDG_CACHE_HOME": cache.path]

        let train = try ToolsRun.run(["train", "-c", config, "-o", "Arch.pretrained=True"], env: env, in: folder)
        XCTAssertEqual(train.status, 0, train.stderr)
        let cached = cache.appendingPathComponent("swiftclas/hub/\(repo)/main/model.safetensors").path
        XCTAssertTrue(train.stdout.contains("Loaded \(cached) (PyTorch layout, converted)"), train.stdout)
        XCTAssertTrue(train.stdout.contains("skipped classifier.weight: the file has shape [1000, 1024], the model [4, 1024]"),
                      train.stdout)
        // The learning rate is 0: the fine-tuned backbone is exactly the served one (convolutions and linear layers;
        // BatchNorm running statistics move in train mode).
        let saved = try Safetensors.read(folder.appendingPathComponent("output/MobileNetV3_small_x0_5/latest.safetensors").path)
        let ours = Dictionary(uniqueKeysWithValues: saved.entries.map { ($0.name, $0.tensor) })
        var compared = 0
        for (name, t) in imagenet.stateDict() where name.hasSuffix(".weight") && !name.hasPrefix("classifier")
            && !name.contains("bn") {
            XCTAssertEqual(ours[name]?.scalars, t.scalars, name)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 30)
        XCTAssertNotEqual(ours["classifier.weight"]?.shape, [1000, 1024])

        // Offline, the verified cache serves the same run; a tag with no file on the hub is a clear error.
        let offline = env.merging(["HF_HUB_OFFLINE": "1"]) { $1 }
        let again = try ToolsRun.run(["train", "-c", config, "-o", "Arch.pretrained=True", "-o", "Global.output_dir=\(folder.path)/o2"],
                                     env: offline, in: folder)
        XCTAssertEqual(again.status, 0, again.stderr)
        let tag = try ToolsRun.run(["train", "-c", config, "-o", "Arch.pretrained=ra_in1k", "--overwrite"], env: env, in: folder)
        XCTAssertEqual(tag.status, 1)
        XCTAssertTrue(tag.stderr.contains("/timm/mobilenetv3_small_050.ra_in1k/resolve/main/model.safetensors"), tag.stderr)
        XCTAssertTrue(tag.stderr.contains("404"), tag.stderr)

        // Evaluation with the ImageNet weights counts as having weights (no --allow-random-weights needed).
        let eval = try ToolsRun.run(["eval", "-c", config, "-o", "Arch.pretrained=True", "-o", "Arch.class_num=1000"],
                                    env: offline, in: folder)
        XCTAssertEqual(eval.status, 0, eval.stderr)
    }
}
