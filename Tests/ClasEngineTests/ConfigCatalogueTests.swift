import ClasConfig
import ClasData
import ClasEngine
import Foundation
import XCTest
import _ClasTestSupport

/// Every shipped config (`ppcls-style-configs/` and `configs/`, except the `_base_` fragments) validates and trains
/// one step, unchanged except for the overrides a user would pass: data paths, and here batch size 2, one iteration,
/// no evaluation, no downloads (`Arch.pretrained=False`), a finder that runs no trials (`LRFinder.auto=False`; the
/// recipe test runs the finder). Inputs above 256 px (EfficientNet-B3…B7, the 384 px transformers) and the networks of
/// 50M parameters and more (``CatalogueData/largeArchitectures``) train at 64 px to keep the suite short.
final class ConfigCatalogueTests: XCTestCase {
    static let repo = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// The shipped configs, relative to the repository, sorted.
    static func shippedConfigs() -> [String] {
        var found: [String] = []
        for folder in ["ppcls-style-configs", "configs"] {
            let root = "\(repo)/\(folder)"
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            for case let path as String in walker where path.hasSuffix(".yaml") && !path.contains("_base_/") {
                found.append("\(folder)/\(path)")
            }
        }
        return found.sorted()
    }

    func testTheCatalogueCoversEveryRegisteredArchitecture() throws {
        var named = Set<String>()
        for path in Self.shippedConfigs() where path.hasPrefix("ppcls-style-configs/ImageNet/") {
            let node = try Inheritance.resolve("\(Self.repo)/\(path)")
            if let name = node.node(at: "Arch.name")?.scalar?.text { named.insert(name) }
        }
        let missing = Registries.builtins().arch.names.filter {
            !["DistillationModel", "AttentionModel"].contains($0) && !named.contains($0)
        }
        XCTAssertEqual(missing, [], "architectures without a ppcls-style-configs/ImageNet/<Family>/<Model>.yaml")
    }

    func testEveryShippedConfigTrainsOneStep() throws {
        let data = try CatalogueData(dir: temporaryDirectory())
        let configs = Self.shippedConfigs()
        XCTAssertGreaterThan(configs.count, 40)
        var failures: [String] = []
        for (index, path) in configs.enumerated() {
            do {
                let overrides = try data.overrides(for: "\(Self.repo)/\(path)", output: "\(data.dir)/out/\(index)")
                let engine = try Engine(configPath: "\(Self.repo)/\(path)", overrides: overrides, mode: .train, quiet: true)
                var lines: [String] = []
                engine.logger.capture = { lines.append($0) }
                try Trainer(engine: engine).run()
                let step = lines.first { $0.contains("[Train][Epoch 1/1][Iter: 0/1]") } ?? ""
                if !step.contains("loss: ") || step.contains("loss: nan") {
                    failures.append("\(path): no finite first step in the log: \(step.isEmpty ? lines.suffix(3).joined(separator: " | ") : step)")
                }
            } catch {
                failures.append("\(path): \(error)")
            }
            try? FileManager.default.removeItem(atPath: "\(data.dir)/out/\(index)")  // checkpoints: up to 1 GB each
        }
        XCTAssertEqual(failures, [], failures.joined(separator: "\n"))
    }
}

/// Four 48×40 PNGs in two classes, laid out every way the configs read data: one sub-folder per class
/// (`ImageFolderDataset`), a PaddleClas list file (`ImageNetDataset`) and multi-label lists (`MultiLabelDataset`).
struct CatalogueData {
    let dir: String

    init(dir: String) throws {
        self.dir = dir
        for k in 0..<2 {
            let folder = "\(dir)/images/class_\(k)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for i in 0..<2 {
                let pixels = (0..<(48 * 40 * 3)).map { UInt8(truncatingIfNeeded: $0 &* (7 + 5 * k + 3 * i) >> 3) }
                try ImageCodec.writePNG(Image(width: 48, height: 40, channels: 3, pixels: pixels),
                                        to: "\(folder)/\(i).png", durable: false)
            }
        }
    }

    /// A PaddleClas list of the four images, `path<delimiter>label` lines, or paths alone without a delimiter.
    func list(delimiter: String?) throws -> String {
        let path = "\(dir)/images/" + (delimiter.map { "list_\($0.unicodeScalars.first!.value).txt" } ?? "paths.txt")
        let lines = (0..<4).map { i in "class_\(i / 2)/\(i % 2).png" + (delimiter.map { "\($0)\(i / 2)" } ?? "") }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A PaddleClas multi-label list of the four images: `path<delimiter>t1,…,tK` with alternating targets.
    func multiLabelList(classes: Int, delimiter: String) throws -> String {
        let path = "\(dir)/images/multilabel_\(classes).txt"
        let lines = (0..<4).map { i in
            "class_\(i / 2)/\(i % 2).png" + delimiter + (0..<classes).map { ($0 + i) % 2 == 0 ? "1" : "0" }.joined(separator: ",")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The architectures of about 50M parameters and more (a 224 px training step of each takes seconds).
    static let largeArchitectures: Set = ["ConvNeXt_small", "ConvNeXt_base_224", "ConvNeXt_base_384",
                                          "SwinTransformer_small_patch4_window7_224",
                                          "SwinTransformer_base_patch4_window7_224",
                                          "SwinTransformer_base_patch4_window12_384"]

    /// What a user passes for `path` here: data paths by dataset kind, plus the test's budget.
    func overrides(for path: String, output: String) throws -> [String] {
        let node = try Inheritance.resolve(path)
        // save_interval 2: no epoch_1 checkpoint besides `latest` (each is up to 1.4 GB for the 88 M-parameter models).
        var result = ["Global.output_dir=\(output)", "Global.epochs=1", "Global.iter_per_epoch=1", "Global.save_interval=2",
                      "Global.eval_during_train=False", "Global.pretrained_model=null", "Global.checkpoints=null",
                      "Global.use_visualdl=False", "Infer.infer_imgs=\(dir)/images/class_0"]
        if node.node(at: "Arch.pretrained") != nil { result.append("Arch.pretrained=False") }
        if node.node(at: "LRFinder") != nil { result.append("LRFinder.auto=False") }
        for split in ["Train", "Eval"] {
            let prefix = "DataLoader.\(split)"
            guard let dataset = node.node(at: "\(prefix).dataset") else { continue }
            result.append("\(prefix).dataset.image_root=\(dir)/images")
            if dataset["name"]?.scalar?.text == "MultiLabelDataset" {
                let classes = node.node(at: "Arch.class_num")?.scalar.flatMap { Int($0.text) } ?? 2
                let delimiter = dataset["delimiter"]?.scalar?.text ?? "\t"
                result.append("\(prefix).dataset.cls_label_path=\(try multiLabelList(classes: classes, delimiter: delimiter))")
            } else if dataset["sample_list_path"] != nil {  // CustomLabelDataset: paths only
                result.append("\(prefix).dataset.sample_list_path=\(try list(delimiter: nil))")
            } else if dataset["cls_label_path"] != nil {
                result.append("\(prefix).dataset.cls_label_path=\(try list(delimiter: dataset["delimiter"]?.scalar?.text ?? " "))")
            }
            if let sampler = node.node(at: "\(prefix).sampler") {
                // PaddleClas's MultiScaleSampler names its first batch size first_bs.
                result.append("\(prefix).sampler.\(sampler["first_bs"] != nil ? "first_bs" : "batch_size")=2")
                if sampler["drop_last"] != nil { result.append("\(prefix).sampler.drop_last=False") }
            }
            if node.node(at: "\(prefix).loader") != nil { result.append("\(prefix).loader.num_workers=0") }
        }
        let side = node.node(at: "Global.image_shape")?.items?.last?.scalar.flatMap { Int($0.text) } ?? 224
        let large = node.node(at: "Arch.name")?.scalar.map { Self.largeArchitectures.contains($0.text) } ?? false
        if side > 256 || large, let ops = node.node(at: "DataLoader.Train.dataset.transform_ops")?.items {
            for (i, op) in ops.enumerated() {
                for (name, key) in [("RandCropImage", "size"), ("ResizeImage", "size"), ("ResizeImage", "resize_short"),
                                    ("CropImage", "size")] where op[name]?[key] != nil {
                    result.append("DataLoader.Train.dataset.transform_ops.\(i).\(name).\(key)=64")
                }
            }
        }
        return result
    }
}
