import ClasEngine
import Foundation
import XCTest

/// Through the real binary: training never clobbers a run folder, eval/infer/export write into their own folders,
/// and `tools predict` classifies from a checkpoint alone with the scores `tools infer` gives.
final class RunFolderAndPredictTests: ReliabilityTestCase {
    private func addInfer(_ run: FaultRun, batchSize: Int = 4) throws {
        let text = try String(contentsOfFile: run.config, encoding: .utf8) + """

            Infer:
              infer_imgs: \(run.dir)/val
              batch_size: \(batchSize)
              transforms:
                - DecodeImage: {to_rgb: True}
                - NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}
              PostProcess: {name: Topk, topk: 2}

            """
        try text.write(toFile: run.config, atomically: true, encoding: .utf8)
    }

    private func modified(_ path: String) -> Date? {
        try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
    }

    func testTrainingRefusesToOverwriteARunUnlessResumingOrTold() throws {
        let run = try FaultRun(perClass: 1, epochs: 1)
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", run.config]).status, 0)
        let best = run.checkpoint("best_model"), before = modified(best)
        let again = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertEqual(again.status, 1, again.stdout)
        XCTAssertTrue(again.stderr.contains("\(run.modelDir) already holds a training run"), again.stderr)
        for way in ["-o Global.checkpoints=\(run.modelDir)/latest", "--overwrite", "-o Global.overwrite=True",
                    "-o Global.output_dir=DIR"] {
            XCTAssertTrue(again.stderr.contains(way), "\(way) in \(again.stderr)")
        }
        XCTAssertEqual(modified(best), before, "the refused run left best_model alone")
        // Resuming, --overwrite, the config key and another folder all run.
        let resumed = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.epochs=2",
                                            "-o", "Global.checkpoints=\(run.modelDir)/latest"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", run.config, "--overwrite"]).status, 0)
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.overwrite=True"]).status, 0)
        let other = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.output_dir=\(run.dir)/output2"])
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run.dir)/output2/MobileNetV3_small_x0_35/best_model.safetensors"))
    }

    func testEvalInferExportWriteIntoTheirOwnFolders() throws {
        let run = try FaultRun(perClass: 1, epochs: 1)
        try addInfer(run)
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", run.config]).status, 0)
        let trainConfig = try String(contentsOfFile: "\(run.modelDir)/config.yaml", encoding: .utf8)
        let weights = ["-o", "Global.pretrained_model=\(run.modelDir)",
                       "-o", "Global.save_inference_dir=\(run.dir)/inference"]
        for command in ["eval", "infer", "export"] {
            let r = try ToolsProcess.run([command, "-c", run.config] + weights)
            XCTAssertEqual(r.status, 0, "\(command): \(r.stderr)")
            let own = "\(run.modelDir)/\(command)"
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(own)/\(command).log"), own)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(own)/config.\(command).yaml"), own)
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run.modelDir)/\(command).log"))
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run.modelDir)/eval/metrics.yaml"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run.modelDir)/metrics.yaml"))
        XCTAssertEqual(try String(contentsOfFile: "\(run.modelDir)/config.yaml", encoding: .utf8), trainConfig)
        // Evaluating did not make the folder look like a new run to the training refusal, nor the reverse.
        XCTAssertEqual(try ToolsProcess.run(["eval", "-c", run.config] + weights).status, 0)
    }

    func testPredictFromACheckpointGivesTheScoresOfInfer() throws {
        let run = try FaultRun(epochs: 2)
        try addInfer(run, batchSize: 3)
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", run.config]).status, 0)
        let infer = try ToolsProcess.run(["infer", "-c", run.config, "-o", "Global.pretrained_model=\(run.modelDir)"])
        XCTAssertEqual(infer.status, 0, infer.stderr)
        XCTAssertEqual(infer.stdout.split(separator: "\n").count, 16)

        // Folder, run folder as weights, JSON: the same lines as infer (same transforms, batch size from config.yaml).
        let json = try ToolsProcess.run(["predict", "\(run.dir)/val", "--weights", run.modelDir, "--topk", "2", "--format", "json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertEqual(json.stdout, infer.stdout)
        XCTAssertTrue(json.stdout.contains("\"label_names\":[\"class_"), json.stdout)

        // A glob and a checkpoint prefix, CSV.
        let csv = try ToolsProcess.run(["predict", "\(run.dir)/val/class_1/*.png", "--weights", "\(run.modelDir)/best_model",
                                        "--topk", "2", "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = csv.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.first, "file_name,rank,class_id,label_name,score")
        XCTAssertEqual(rows.count, 1 + 4 * 2, csv.stdout)
        let inferLines = infer.stdout.split(separator: "\n").map(String.init)
        let first = try XCTUnwrap(inferLines.first { $0.contains("/val/class_1/0.png") })
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        let ids = try XCTUnwrap(o["class_ids"] as? [Int]), scores = try XCTUnwrap(o["scores"] as? [Double])
        XCTAssertEqual(rows[1], "\(run.dir)/val/class_1/0.png,1,\(ids[0]),class_\(ids[0]),\(scores[0])")

        // Paths on stdin, table format.
        let list = "\(run.dir)/list.txt"
        try "\(run.dir)/val/class_0/0.png\n\(run.dir)/val/class_3/1.png\n".write(toFile: list, atomically: true, encoding: .utf8)
        let table = try ToolsProcess.run(["predict", "-", "--weights", run.modelDir, "--topk", "1"], shellPrefix: "exec < '\(list)'")
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, table.stdout)
        XCTAssertTrue(lines[0].hasPrefix("\(run.dir)/val/class_0/0.png  class_"), table.stdout)

        // Without a run config.yaml, the model card's preprocessing is used; a file without metadata is refused.
        let bare = "\(run.dir)/bare"
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        XCTAssertEqual(try ToolsProcess.run(["ckpt", "strip", "\(run.modelDir)/best_model", "\(bare)/model"]).status, 0)
        let card = try ToolsProcess.run(["predict", "\(run.dir)/val/class_0/0.png", "--weights", "\(bare)/model", "--format", "json"])
        XCTAssertEqual(card.status, 0, card.stderr)
        XCTAssertEqual(card.stdout.split(separator: "\n").count, 1)
        let missing = try ToolsProcess.run(["predict", "\(run.dir)/nothing/*.png", "--weights", run.modelDir])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no file matches"), missing.stderr)
    }

    func testEvalWritesPerImagePredictions() throws {
        let run = try FaultRun(perClass: 2, epochs: 1)
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", run.config]).status, 0)
        let eval = try ToolsProcess.run(["eval", "-c", run.config, "-o", "Global.pretrained_model=\(run.modelDir)"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let csv = try String(contentsOfFile: "\(run.modelDir)/eval/predictions.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.first, ["file_name", "label", "label_name", "prediction", "prediction_name", "score", "correct"])
        XCTAssertEqual(rows.count, 1 + 8, csv)
        XCTAssertTrue(rows[1][0].hasPrefix("\(run.dir)/val/class_"), csv)
        for row in rows.dropFirst() {
            XCTAssertEqual(row.count, 7, csv)
            XCTAssertEqual(row[2], "class_\(row[1])")
            XCTAssertEqual(row[6], row[1] == row[3] ? "1" : "0")
        }
        // The share of correct rows is the reported top-1.
        let metrics = try String(contentsOfFile: "\(run.modelDir)/eval/metrics.yaml", encoding: .utf8)
        let top1Line = try XCTUnwrap(metrics.split(separator: "\n").first { $0.hasPrefix("top1: ") })
        let top1 = try XCTUnwrap(Double(top1Line.dropFirst(6)))
        XCTAssertEqual(Double(rows.dropFirst().filter { $0[6] == "1" }.count) / 8, top1, accuracy: 1e-6)
        // --predictions FILE puts it elsewhere.
        let other = "\(run.dir)/preds.csv"
        let again = try ToolsProcess.run(["eval", "-c", run.config, "-o", "Global.pretrained_model=\(run.modelDir)",
                                          "--predictions", other])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try String(contentsOfFile: other, encoding: .utf8), csv)
    }
}
