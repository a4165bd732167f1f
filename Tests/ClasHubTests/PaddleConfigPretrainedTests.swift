import ClasData
import ClasEngine
import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest

/// A real PaddleClas ImageNet config (Fixtures/ppcls/MobileNetV3_small_x1_0.yaml, unmodified, `Arch.pretrained:
/// True`) runs end to end against a local hub holding a timm-format `model.safetensors` for its architecture: the
/// served weights are really loaded (inference before any training gives exactly their predictions), training
/// fine-tunes from them, and `tools predict --model NAME --pretrained` classifies with them by name.
final class PaddleConfigPretrainedTests: XCTestCase {
    let repo = "timm/mobilenetv3_small_100.lamb_in1k"
    let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]

    /// An ImageNet-style list data set (4 of the 1000 classes, 32×32 PNGs) in `folder`.
    private func makeData(in folder: URL) throws {
        for split in ["train", "val"] {
            var list = ""
            for k in 0..<4 {
                for i in 0..<2 {
                    var image = Image(width: 32, height: 32, channels: 3)
                    for y in 0..<32 { for x in 0..<32 { for c in 0..<3 {
                        image[x, y, c] = UInt8((x * (k + 3) + y * (i + 1) * 5 + c * 70 + k * 40) % 256)
                    } } }
                    let name = "\(split)/n\(k)_\(i).png"
                    try FileManager.default.createDirectory(at: folder.appendingPathComponent(split), withIntermediateDirectories: true)
                    try ImageCodec.writePNG(image, to: folder.appendingPathComponent(name).path, durable: false)
                    list += "\(name) \(k * 250)\n"
                }
            }
            try list.write(to: folder.appendingPathComponent("\(split)_list.txt"), atomically: true, encoding: .utf8)
        }
    }

    func testPaddleClasImageNetConfigFineTunesFromServedWeights() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clas-ppcls-pretrained-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try makeData(in: folder)
        let config = try XCTUnwrap(Bundle.module.url(forResource: "MobileNetV3_small_x1_0", withExtension: "yaml",
                                                     subdirectory: "Fixtures/ppcls")).path

        // The "ImageNet" weights: a 1000-class MobileNetV3-small with non-trivial batch-norm statistics and a
        // classifier scaled so the logits on the test images have a standard deviation of 4 (confident predictions,
        // as a trained network's), in timm's layout.
        Randomness.seed(5)
        let imagenet = try ModelRegistry.builtins().make("MobileNetV3_small_x1_0", classCount: 1000)
        var rng = RandomState(seed: 8)
        for (name, t) in imagenet.stateDict() {
            if name.hasSuffix("running_mean") { for i in 0..<t.count { t.data[i] = 0.1 * rng.normal() } }
            if name.hasSuffix("running_var") { for i in 0..<t.count { t.data[i] = rng.uniform(0.5, 1.5) } }
        }
        imagenet.eval()
        let images = try (0..<4).flatMap { k in try (0..<2).map { i in try ImageCodec.decodeFile("\(folder.path)/val/n\(k)_\(i).png") } }
        func input(_ image: Image) -> Tensor {
            Tensor(shape: [1, 32, 32, 3], values: image.pixels.enumerated().map { i, p in (Float(p) / 255 - mean[i % 3]) / std[i % 3] })
        }
        let raw = images.flatMap { image in GradMode.withoutGrad { imagenet(input(image)) }.scalars }
        let m = raw.reduce(0, +) / Float(raw.count)
        let spread = (raw.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Float(raw.count)).squareRoot()
        for (name, t) in imagenet.stateDict() where name.hasPrefix("classifier.") {
            for i in 0..<t.count { t.data[i] *= 4 / max(spread, 1e-6) }
        }
        let served = folder.appendingPathComponent("model.safetensors")
        try Safetensors.write(TimmImport.timmStateDict(of: imagenet), to: served.path)
        let server = try LocalHubServer(files: ["/\(repo)/resolve/main/model.safetensors": (try Data(contentsOf: served), "lfs")])
        defer { server.stop() }
        let env = ["HF_ENDPOINT": server.endpoint, "XDG_CACHE_HOME": folder.appendingPathComponent("cache").path]

        let data = folder.path
        let common = [
            "-o", "Global.output_dir=\(data)/output", "-o", "Global.device=cpu", "-o", "Global.epochs=1",
            "-o", "Global.print_batch_step=1", "-o", "Global.image_shape=[3,32,32]",
            "-o", "DataLoader.Train.dataset.image_root=\(data)", "-o", "DataLoader.Train.dataset.cls_label_path=\(data)/train_list.txt",
            "-o", "DataLoader.Eval.dataset.image_root=\(data)", "-o", "DataLoader.Eval.dataset.cls_label_path=\(data)/val_list.txt",
            "-o", "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=32",
            "-o", "DataLoader.Eval.dataset.transform_ops.1.ResizeImage.resize_short=32",
            "-o", "DataLoader.Eval.dataset.transform_ops.2.CropImage.size=32",
            "-o", "DataLoader.Train.sampler.batch_size=4", "-o", "DataLoader.Eval.sampler.batch_size=4",
            "-o", "DataLoader.Train.loader.num_workers=0", "-o", "DataLoader.Eval.loader.num_workers=0",
            "-o", "Infer.infer_imgs=\(data)/val", "-o", "Infer.PostProcess.class_id_map_file=null",
            "-o", "Infer.transforms.1.ResizeImage.resize_short=32", "-o", "Infer.transforms.2.CropImage.size=32",
        ]

        // 1. Before training: tools infer with Arch.pretrained=True (the config's own) downloads the served file and
        //    predicts exactly what the served model predicts (the 32×32 images are not resized or cropped).
        let infer = try ToolsRun.run(["infer", "-c", config, "-o", "Arch.pretrained=True"] + common, env: env, in: folder)
        XCTAssertEqual(infer.status, 0, infer.stderr)
        let lines = infer.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }
        XCTAssertEqual(lines.count, 8, infer.stdout)
        for line in lines {
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let file = try XCTUnwrap(o["file_name"] as? String)
            let x = input(try ImageCodec.decodeFile(file))
            let probs = GradMode.withoutGrad { imagenet(x).softmax() }.scalars
            let top = probs.indices.sorted { probs[$0] > probs[$1] }.prefix(5)
            XCTAssertEqual(o["class_ids"] as? [Int], Array(top), file)
            let scores = try XCTUnwrap(o["scores"] as? [Double])
            for (k, s) in zip(top, scores) { XCTAssertEqual(s, Double(probs[k]), accuracy: 2e-5, file) }
            XCTAssertGreaterThan(scores[0], 0.03, "confident predictions make the comparison meaningful")
        }

        // 2. tools train -c <the PaddleClas config> -o Arch.pretrained=True trains from the served weights (all 1000
        //    classes kept: nothing is re-initialised). At learning rate 0 the trained convolutions are exactly the
        //    served ones (BatchNorm statistics move in train mode); at 0.001 the run fine-tunes them.
        func train(lr: String, into out: String) throws -> [String: Tensor] {
            let run = try ToolsRun.run(["train", "-c", config, "-o", "Arch.pretrained=True", "-o", "Optimizer.lr.learning_rate=\(lr)",
                                        "-o", "Optimizer.lr.warmup_epoch=0"] + common + ["-o", "Global.output_dir=\(out)"],
                                       env: env, in: folder)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertTrue(run.stdout.contains("(PyTorch layout, converted)"), run.stdout)
            XCTAssertFalse(run.stdout.contains("skipped classifier"), run.stdout)
            let history = try String(contentsOfFile: "\(out)/MobileNetV3_small_x1_0/history.csv", encoding: .utf8)
            XCTAssertEqual(history.split(separator: "\n").count, 2, history)
            XCTAssertFalse(history.contains("nan"), history)
            return try Checkpoint.read(prefix: "\(out)/MobileNetV3_small_x1_0/latest").model
        }
        let frozen = try train(lr: "0.0", into: "\(data)/lr0")
        let tuned = try train(lr: "0.001", into: "\(data)/lr0.001")
        var same = 0, changed = 0
        for (name, t) in imagenet.stateDict() where name.hasSuffix(".weight") && t.rank == 4 {
            if try XCTUnwrap(frozen[name], name).scalars == t.scalars { same += 1 }
            if try XCTUnwrap(tuned[name], name).scalars != t.scalars { changed += 1 }
        }
        let convolutions = imagenet.stateDict().filter { $0.0.hasSuffix(".weight") && $0.1.rank == 4 }.count
        XCTAssertGreaterThan(convolutions, 30)
        XCTAssertEqual(same, convolutions, "learning rate 0: the served convolutions, unchanged")
        XCTAssertEqual(changed, convolutions, "fine-tuning moved every convolution")

        // 3. tools predict --model NAME --pretrained: the card's weights by name (from the verified cache now) and
        //    its preprocessing, the same predictions as the served file loaded directly with that preprocessing.
        let image = "\(data)/val/n2_1.png"
        let predict = try ToolsRun.run(["predict", image, "--model", "MobileNetV3_small_x1_0", "--pretrained",
                                        "--format", "json", "--topk", "3"], env: env.merging(["HF_HUB_OFFLINE": "1"]) { $1 },
                                       in: folder)
        XCTAssertEqual(predict.status, 0, predict.stderr)
        let card = try XCTUnwrap(ModelRegistry.builtins().card(named: "MobileNetV3_small_x1_0"))
        let direct = folder.appendingPathComponent("direct.yaml").path
        try """
        Global: {epochs: 1, output_dir: \(data)/direct, pretrained_model: \(served.path)}
        Arch: {name: MobileNetV3_small_x1_0, class_num: 1000}
        Infer:
          infer_imgs: \(image)
          batch_size: 8
          PostProcess: {name: Topk, topk: 3}
          transforms:
            - DecodeImage: {to_rgb: True}
            - ResizeImage: {resize_short: \(Int((Double(card.inputSize) / card.cropFraction).rounded(.down))), interpolation: \(card.interpolation)}
            - CropImage: {size: \(card.inputSize)}
            - NormalizeImage: {scale: 1.0/255.0, mean: \(card.mean), std: \(card.std), order: ''}
        """.write(toFile: direct, atomically: true, encoding: .utf8)
        let reference = try ToolsRun.run(["infer", "-c", direct], env: [:], in: folder)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        XCTAssertEqual(predict.stdout, reference.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }.joined(separator: "\n") + "\n")

        // Misuse is explained.
        let noFlag = try ToolsRun.run(["predict", image, "--model", "MobileNetV3_small_x1_0"], env: env, in: folder)
        XCTAssertNotEqual(noFlag.status, 0)
        XCTAssertTrue(noFlag.stderr.contains("--model needs --pretrained"), noFlag.stderr)
        let unknown = try ToolsRun.run(["predict", image, "--model", "NoSuchNet", "--pretrained"], env: env, in: folder)
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("unknown model 'NoSuchNet'"), unknown.stderr)
    }
}
