import ClasConfig
import ClasEngine
import Foundation
import XCTest

/// Day-to-day commands through the real binary: refusing random weights, run folders as weights, `ckpt info` and
/// `ckpt strip`, `config show`, and the history and summary a training run leaves.
final class EverydayCommandTests: ReliabilityTestCase {
    /// Adds an `Infer` section classifying the run's validation images.
    private func addInfer(_ run: FaultRun) throws {
        let text = try String(contentsOfFile: run.config, encoding: .utf8) + """

            Infer:
              infer_imgs: \(run.dir)/val
              batch_size: 4
              transforms:
                - DecodeImage: {to_rgb: True}
                - NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}
              PostProcess: {name: Topk, topk: 2}

            """
        try text.write(toFile: run.config, atomically: true, encoding: .utf8)
    }

    func testTrainingLeavesHistoryCSVAndASummary() throws {
        let run = try FaultRun(epochs: 2)
        let train = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertEqual(train.status, 0, train.stderr)
        let csv = try String(contentsOfFile: "\(run.modelDir)/history.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.count, 3, csv)  // header + 2 epochs
        let header = rows[0].map(String.init)
        XCTAssertEqual(header.first, "epoch")
        for key in ["lr", "time_s", "train_loss", "eval_top1", "eval_loss"] { XCTAssertTrue(header.contains(key), "\(key) in \(header)") }
        XCTAssertEqual(rows[1].first, "1")
        XCTAssertEqual(rows[2].first, "2")
        let time = header.firstIndex(of: "time_s").map { Double(rows[2][$0]) ?? -1 } ?? -1
        XCTAssertGreaterThan(time, 0)
        let log = run.trainLog()
        XCTAssertTrue(log.first?.contains("Compute: ") ?? false, log.first ?? "")
        let summary = log.last { $0.contains("Training finished: 2 epochs") } ?? ""
        XCTAssertTrue(summary.contains("best metric"), log.suffix(3).joined(separator: "\n"))
        XCTAssertTrue(summary.contains("\(run.modelDir)/best_model.safetensors"), summary)
    }

    func testEvalInferExportRefuseRandomWeightsUnlessAllowed() throws {
        let run = try FaultRun(perClass: 1, epochs: 1)
        try addInfer(run)
        for command in ["eval", "infer", "export"] {
            let r = try ToolsProcess.run([command, "-c", run.config])
            XCTAssertEqual(r.status, 1, "\(command): \(r.stdout)")
            XCTAssertTrue(r.stderr.contains("tools \(command) needs trained weights: add -o Global.pretrained_model=PATH"), r.stderr)
            XCTAssertTrue(r.stderr.contains("--allow-random-weights"), r.stderr)
        }
        let allowed = try ToolsProcess.run(["eval", "-c", run.config, "--allow-random-weights"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
    }

    func testRunFolderStandsForItsBestModel() throws {
        let run = try FaultRun(perClass: 1, epochs: 1)
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", run.config]).status, 0)
        for folder in [run.modelDir, run.modelDir + "/"] {
            let r = try ToolsProcess.run(["eval", "-c", run.config, "-o", "Global.pretrained_model=\(folder)"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertEqual(Checkpoint.path(for: run.modelDir), "\(run.modelDir)/best_model.safetensors")
    }

    func testCkptInfoAndStrip() throws {
        let run = try FaultRun(epochs: 2)
        try addInfer(run)
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", run.config]).status, 0)
        let info = try ToolsProcess.run(["ckpt", "info", "\(run.modelDir)/latest", "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(o["arch"] as? String, "MobileNetV3_small_x0_35")
        XCTAssertEqual(o["class_num"] as? Int, 4)
        XCTAssertEqual(o["class_names"] as? [String], ["class_0", "class_1", "class_2", "class_3"])
        XCTAssertEqual(o["epoch"] as? Int, 2)
        XCTAssertEqual((o["history"] as? [[String: Double]])?.count, 2)
        XCTAssertGreaterThan(o["optimizer_tensors"] as? Int ?? 0, 0)
        let text = try ToolsProcess.run(["ckpt", "ls", run.modelDir])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("file:        \(run.modelDir)/best_model.safetensors"), text.stdout)
        XCTAssertTrue(text.stdout.contains("SwiftClas training checkpoint"), text.stdout)
        XCTAssertTrue(text.stdout.contains("history:"), text.stdout)

        let stripped = "\(run.dir)/deploy/model"
        try FileManager.default.createDirectory(atPath: "\(run.dir)/deploy", withIntermediateDirectories: true)
        let strip = try ToolsProcess.run(["ckpt", "strip", "\(run.modelDir)/latest", stripped])
        XCTAssertEqual(strip.status, 0, strip.stderr)
        let full = try Checkpoint.read(prefix: "\(run.modelDir)/latest"), small = try Checkpoint.read(prefix: stripped)
        XCTAssertTrue(small.optimizer.isEmpty)
        XCTAssertNil(small.state, "a weights-only file has no training state")
        XCTAssertEqual(small.metadata["class_num"], "4")
        XCTAssertEqual(Set(small.model.keys), Set(full.model.keys))
        for (name, t) in full.model { XCTAssertEqual(small.model[name]?.scalars, t.scalars, name) }
        let size = { (p: String) in (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
        XCTAssertLessThan(size("\(stripped).safetensors"), size("\(run.modelDir)/latest.safetensors"))
        // The stripped file runs inference like the checkpoint.
        let a = try ToolsProcess.run(["infer", "-c", run.config, "-o", "Global.pretrained_model=\(stripped)"])
        let b = try ToolsProcess.run(["infer", "-c", run.config, "-o", "Global.pretrained_model=\(run.modelDir)/latest"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertFalse(a.stdout.isEmpty)
    }

    func testConfigShowPrintsTheResolvedConfigWithSources() throws {
        let run = try FaultRun(perClass: 1, epochs: 1)
        let yaml = try ToolsProcess.run(["config", "show", "-c", run.config, "-o", "Global.epochs=7"])
        XCTAssertEqual(yaml.status, 0, yaml.stderr)
        XCTAssertTrue(yaml.stdout.contains("epochs: 7"), yaml.stdout)
        XCTAssertTrue(yaml.stdout.hasPrefix("# resolved from \(run.config) with -o Global.epochs=7"), yaml.stdout)
        let sources = try ToolsProcess.run(["config", "show", "-c", run.config, "-o", "Global.epochs=7", "--sources"])
        XCTAssertEqual(sources.status, 0, sources.stderr)
        XCTAssertTrue(sources.stdout.contains("Global.epochs: 7  # -o #1 'Global.epochs=7'"), sources.stdout)
        XCTAssertTrue(sources.stdout.contains("Arch.name: MobileNetV3_small_x0_35  # \(run.config):"), sources.stdout)
        // The same validation as train: a misspelt key is refused with a suggestion.
        let bad = try ToolsProcess.run(["config", "show", "-c", run.config, "-o", "Global.epoch=3"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("Did you mean 'epochs'?"), bad.stderr)
    }

    func testListSectionShowsKeysWithTypeDefaultAndMeaning() throws {
        let global = try ToolsProcess.run(["list", "Global"])
        XCTAssertEqual(global.status, 0, global.stderr)
        let lines = global.stdout.split(separator: "\n").map(String.init)
        for key in GlobalConfig.knownKeys {
            XCTAssertTrue(lines.contains { $0.hasPrefix("  \(key) ") }, "Global.\(key) in tools list Global")
        }
        let epochs = try XCTUnwrap(lines.first { $0.hasPrefix("  epochs ") })
        XCTAssertTrue(epochs.contains("int") && epochs.contains("required — number of training epochs"), epochs)
        let output = try XCTUnwrap(lines.first { $0.hasPrefix("  output_dir ") })
        XCTAssertTrue(output.contains("string") && output.contains("./output/ — "), output)
        let optimizer = try ToolsProcess.run(["list", "optimizer"])
        XCTAssertEqual(optimizer.status, 0, optimizer.stderr)
        XCTAssertTrue(optimizer.stdout.contains("keys: name, "), optimizer.stdout)
        let bad = try ToolsProcess.run(["list", "Globl"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("Did you mean 'Global'?"), bad.stderr)
    }
}
