import ClasData
import Foundation
import XCTest

/// Through the real binary: `tools predict` runs an exported `inference.onnx` + `inference.yml` with SwiftClas's own
/// ONNX importer and gives the scores `tools infer` gives on the checkpoint; a file it cannot run is refused with the
/// operator named; `tools eval --mistakes N` draws the most confident mistakes.
final class OnnxPredictTests: ReliabilityTestCase {
    /// A trained FaultRun of `arch` at 32×32 with an Infer section.
    private func trainedRun(_ arch: String, name: String) throws -> (FaultRun, modelDir: String) {
        let run = try FaultRun(name: name, perClass: 2, epochs: 1, global: ["image_shape: [3, 32, 32]"])
        let text = try String(contentsOfFile: run.config, encoding: .utf8)
            .replacingOccurrences(of: "name: MobileNetV3_small_x0_35", with: "name: \(arch)") + """

            Infer:
              infer_imgs: \(run.dir)/val
              batch_size: 3
              transforms:
                - DecodeImage: {to_rgb: True}
                - NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}
                - ToCHWImage:
              PostProcess: {name: Topk, topk: 3}

            """
        try text.write(toFile: run.config, atomically: true, encoding: .utf8)
        let train = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertEqual(train.status, 0, train.stderr)
        return (run, "\(run.dir)/output/\(arch)")
    }

    private func parse(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func testPredictOnTheExportedOnnxGivesTheScoresOfInfer() throws {
        for arch in ["MobileNetV3_small_x1_0", "ResNet18"] {
            let (run, modelDir) = try trainedRun(arch, name: "onnx-predict-\(arch)")
            let weights = ["-o", "Global.pretrained_model=\(modelDir)"]
            let export = try ToolsProcess.run(["export", "-c", run.config, "-o", "Global.save_inference_dir=\(run.dir)/inference"] + weights)
            XCTAssertEqual(export.status, 0, export.stderr)
            let infer = try ToolsProcess.run(["infer", "-c", run.config] + weights)
            XCTAssertEqual(infer.status, 0, infer.stderr)
            // The folder (its inference.onnx) and the file itself; no config, no checkpoint.
            for target in ["\(run.dir)/inference", "\(run.dir)/inference/inference.onnx"] {
                let predict = try ToolsProcess.run(["predict", "\(run.dir)/val", "--weights", target, "--topk", "3",
                                                    "--format", "json", "--batch-size", "3"])
                XCTAssertEqual(predict.status, 0, predict.stderr)
                let a = try parse(infer.stdout), b = try parse(predict.stdout)
                XCTAssertEqual(a.count, 8, infer.stdout)
                XCTAssertEqual(b.count, a.count, predict.stdout)
                var compared = 0
                for (x, y) in zip(a, b) {
                    XCTAssertEqual(x["file_name"] as? String, y["file_name"] as? String)
                    XCTAssertEqual(x["label_names"] as? [String], y["label_names"] as? [String], "\(arch) \(target)")
                    XCTAssertEqual(x["class_ids"] as? [Int], y["class_ids"] as? [Int], "\(arch) \(target)")
                    let s = try XCTUnwrap(x["scores"] as? [Double]), t = try XCTUnwrap(y["scores"] as? [Double])
                    XCTAssertEqual(s.count, 3)
                    for (u, v) in zip(s, t) {
                        // Scores are printed with 5 decimals: equal up to one unit in the last place.
                        XCTAssertEqual(u, v, accuracy: 1e-5 + 1e-9, "\(arch) \(x["file_name"] ?? "")")
                        compared += 1
                    }
                }
                XCTAssertEqual(compared, 24)
            }
        }
    }

    func testPredictRefusesOnnxFilesItCannotRun() throws {
        let (run, modelDir) = try trainedRun("MobileNetV3_small_x1_0", name: #function)
        let dir = "\(run.dir)/inference"
        let export = try ToolsProcess.run(["export", "-c", run.config, "-o", "Global.pretrained_model=\(modelDir)",
                                           "-o", "Global.save_inference_dir=\(dir)"])
        XCTAssertEqual(export.status, 0, export.stderr)
        let onnx = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/inference.onnx"))
        // An operator it does not know (same length, so the protobuf stays valid).
        let renamed = try XCTUnwrap(String(data: onnx, encoding: .isoLatin1)?
            .replacingOccurrences(of: "HardSwish", with: "HardSwizz").data(using: .isoLatin1))
        XCTAssertNotEqual(renamed, onnx)
        try renamed.write(to: URL(fileURLWithPath: "\(dir)/inference.onnx"))
        let unknown = try ToolsProcess.run(["predict", "\(run.dir)/val/class_0/0.png", "--weights", dir])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("operator 'HardSwizz' is not supported"), unknown.stderr)
        // Garbage and a missing inference.yml.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: "\(dir)/inference.onnx"))
        let garbage = try ToolsProcess.run(["predict", "\(run.dir)/val/class_0/0.png", "--weights", dir])
        XCTAssertEqual(garbage.status, 1)
        XCTAssertTrue(garbage.stderr.contains("not an ONNX model"), garbage.stderr)
        try FileManager.default.removeItem(atPath: "\(dir)/inference.yml")
        let noYml = try ToolsProcess.run(["predict", "\(run.dir)/val/class_0/0.png", "--weights", "\(dir)/inference.onnx"])
        XCTAssertEqual(noYml.status, 1)
        XCTAssertTrue(noYml.stderr.contains("inference.yml is missing"), noYml.stderr)
    }

    func testEvalDrawsTheMostConfidentMistakes() throws {
        let run = try FaultRun(perClass: 3, epochs: 1)
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", run.config]).status, 0)
        let plain = try ToolsProcess.run(["eval", "-c", run.config, "-o", "Global.pretrained_model=\(run.modelDir)"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run.modelDir)/eval/mistakes.png"), "opt-in only")
        let eval = try ToolsProcess.run(["eval", "-c", run.config, "-o", "Global.pretrained_model=\(run.modelDir)",
                                         "--mistakes", "4"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        // As many tiles as wrong rows in predictions.csv, at most 4.
        let csv = try String(contentsOfFile: "\(run.modelDir)/eval/predictions.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        let wrong = rows.filter { $0[6] == "0" }
        XCTAssertEqual(rows.count, 12)
        XCTAssertGreaterThan(wrong.count, 0, "a model trained one epoch on 12 images makes mistakes")
        let shown = min(4, wrong.count)
        XCTAssertTrue(eval.stdout.contains("mistakes.png (\(shown) mistakes)"), eval.stdout)
        let png = try ImageCodec.decodeFile("\(run.modelDir)/eval/mistakes.png")
        XCTAssertGreaterThan(png.width, 2 * 32)
        let bad = try ToolsProcess.run(["eval", "-c", run.config, "--mistakes", "0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--mistakes must be at least 1"), bad.stderr)
    }

    /// `tools eval` on the int8 QDQ file `tools quantize` writes (`Arch: OnnxModel`, which needs no weights file): the
    /// file runs on the integer kernels and gives the simulated int8 model's top-1 (within one of the 12 images).
    func testEvalRunsTheQuantizedOnnxFile() throws {
        let run = try FaultRun(perClass: 3, epochs: 1, global: ["image_shape: [3, 32, 32]"])
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", run.config]).status, 0)
        let quantize = try ToolsProcess.run(["quantize", "-c", run.config, "-o", "Global.pretrained_model=\(run.modelDir)",
                                             "-o", "Global.save_inference_dir=\(run.dir)/int8"])
        XCTAssertEqual(quantize.status, 0, quantize.stderr)
        let eval = try ToolsProcess.run(["eval", "-c", run.config, "-o", "Arch.name=OnnxModel",
                                         "-o", "Arch.path=\(run.dir)/int8/inference.onnx",
                                         "-o", "Global.output_dir=\(run.dir)/onnx-eval"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        func number(after key: String, in text: String) throws -> Double {
            let line = try XCTUnwrap(text.components(separatedBy: key).last?.prefix(8), "\(key) in \(text)")
            return try XCTUnwrap(Double(line.trimmingCharacters(in: CharacterSet(charactersIn: " ,\n"))), String(line))
        }
        let report = try String(contentsOfFile: "\(run.modelDir)/quantization.yaml", encoding: .utf8)
        let simulated = try number(after: "top1_int8_simulated:", in: report)
        let native = try number(after: "top1: ", in: eval.stdout + eval.stderr)
        print("int8 eval top-1: native \(native), simulated \(simulated)")
        XCTAssertEqual(native, simulated, accuracy: 1.0 / 12 + 1e-6)
    }
}
