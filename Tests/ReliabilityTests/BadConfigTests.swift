import Foundation
import XCTest
import _ClasTestSupport

/// Bad configs and command lines, end to end through the `tools` binary: each exits non-zero (2 for config
/// errors, 64 for usage errors) without a crash, names the file:line:column (or the `-o` argument) with a
/// suggestion where one exists, and writes nothing to the output folder. The messages themselves are unit-tested
/// in `ClasConfigTests`; this checks what a user sees.
final class BadConfigTests: ReliabilityTestCase {
    private var run: FaultRun!

    override func setUpWithError() throws {
        run = try FaultRun(name: name, perClass: 1, epochs: 1)
    }

    /// Writes `text` as `name` next to the good config (which a `_BASE_: run.yaml` line includes).
    @discardableResult
    private func file(_ name: String, _ text: String) throws -> String {
        let path = "\(run.dir)/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs `tools args…`, expecting exit `status` and stderr containing every needle, and no output folder.
    private func assertRejected(_ args: [String], status: Int32 = 2, _ needles: [String],
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try ToolsProcess.run(args)
        XCTAssertEqual(r.status, status, "\(args): \(r.stderr)", file: file, line: line)
        XCTAssertNil(r.signal, "\(args) crashed: \(r.stderr)", file: file, line: line)
        for n in needles where !r.stderr.contains(n) {
            XCTFail("\(args): stderr «\(r.stderr)» lacks «\(n)»", file: file, line: line)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.outputDir), "\(args) wrote \(run.outputDir)",
                       file: file, line: line)
    }

    func testMalformedYAML() throws {
        let unclosed = try file("unclosed.yaml", "_BASE_: run.yaml\nGlobal:\n  epochs: [3\n")
        try assertRejected(["train", "-c", unclosed], ["\(unclosed):4:1: error: invalid YAML: did not find expected ',' or ']'"])
        let tabs = try file("tabs.yaml", "_BASE_: run.yaml\nGlobal:\n\tepochs: 3\n")
        try assertRejected(["train", "-c", tabs], ["\(tabs):3:1: error: invalid YAML", "use spaces"])
        let duplicate = try file("duplicate.yaml", "_BASE_: run.yaml\nGlobal:\n  epochs: 3\n  epochs: 4\n")
        try assertRejected(["train", "-c", duplicate], ["\(duplicate):4:3: error: duplicate key 'epochs'"])
        let binary = "\(run.dir)/binary.yaml"
        try writeBytes([0xFF, 0xFE, 0x00, 0x41, 0xC3, 0x28], to: binary)
        try assertRejected(["train", "-c", binary], ["config file '\(binary)' is not valid UTF-8"])
        let list = try file("list.yaml", "- Global\n- Arch\n")
        try assertRejected(["train", "-c", list], ["\(list)"])
    }

    func testMissingOrUnreadableConfigFile() throws {
        try assertRejected(["train", "-c", "\(run.dir)/nope.yaml"], ["config file '\(run.dir)/nope.yaml' not found"])
        try assertRejected(["train", "-c", run.dir], ["config file '\(run.dir)' is a directory"])
        let empty = try file("empty.yaml", "")
        try assertRejected(["train", "-c", empty], ["\(empty): error: missing required key 'Global'"])
    }

    func testUnknownKeysAndWrongTypesAreLocatedWithASuggestion() throws {
        // In a base file: the error points into the base, not the file named by -c.
        let base = try file("base.yaml", "_BASE_: run.yaml\nOptimizer:\n  lr:\n    lerning_rate: 0.1\n")
        let child = try file("child.yaml", "_BASE_: base.yaml\nGlobal:\n  epochs: 1\n")
        try assertRejected(["train", "-c", child],
                           ["\(base):4:5: error: unknown key 'lerning_rate' in Optimizer.lr (Cosine). Did you mean 'learning_rate'?"])
        let typed = try file("typed.yaml", "_BASE_: run.yaml\nGlobal:\n  epochs: thirty\n")
        try assertRejected(["train", "-c", typed], ["\(typed):3:11: error: Global.epochs expects an integer, got 'thirty'"])
        try assertRejected(["train", "-c", run.config, "-o", "Global.epochs=3", "-o", "Global.epoch=3"],
                           ["-o #2 'Global.epoch=3': error: unknown key 'epoch' in Global. Did you mean 'epochs'?"])
    }

    func testBadOverrideForms() throws {
        try assertRejected(["train", "-c", run.config, "-o", "Global.epochs"],
                           ["-o #1 'Global.epochs': error: expected KEY=VALUE"])
        try assertRejected(["train", "-c", run.config, "-o", "=3"], ["-o #1 '=3': error:"])
        try assertRejected(["train", "-c", run.config, "-o", "Global..epochs=3"], ["-o #1 'Global..epochs=3': error:"])
        try assertRejected(["train", "-c", run.config, "-o", "Loss.Train.x.CELoss.weight=2"],
                           ["-o #1 'Loss.Train.x.CELoss.weight=2': error: Loss.Train is a list, so 'x' must be an item index"])
        try assertRejected(["train", "-c", run.config, "-o", "Loss.Train.5.CELoss.weight=2"],
                           ["-o #1 'Loss.Train.5.CELoss.weight=2': error: index 5 out of range: Loss.Train has 1 item"])
        try assertRejected(["train", "-c", run.config, "-o", "Global.epochs.x=2"], ["-o #1 'Global.epochs.x=2': error:"])
        try assertRejected(["train", "-c", run.config, "-o", "Global.epochs=[3"], ["-o #1 'Global.epochs=[3': error:"])
    }

    func testMissingBaseAndCycle() throws {
        let orphan = try file("orphan.yaml", "_BASE_: missing.yaml\n")
        try assertRejected(["train", "-c", orphan], ["\(orphan):1:9: error: base config '\(run.dir)/missing.yaml' not found"])
        let a = try file("a.yaml", "_BASE_: b.yaml\n"), b = try file("b.yaml", "_BASE_: a.yaml\n")
        try assertRejected(["train", "-c", a], ["\(b):1:9: error: _BASE_ cycle: \(a) → \(b) → \(a)"])
    }

    func testUnknownComponentNames() throws {
        try assertRejected(["train", "-c", run.config, "-o", "Arch.name=MobileNetV3_smal_x0_35"],
                           ["-o #1 'Arch.name=MobileNetV3_smal_x0_35': error: no Arch named 'MobileNetV3_smal_x0_35'. "
                            + "Did you mean 'MobileNetV3_small_x0_35'?"])
        let loss = try file("loss.yaml", "_BASE_: run.yaml\nLoss:\n  Train:\n    - CELos: {weight: 1.0}\n")
        try assertRejected(["train", "-c", loss], ["\(loss):4:7: error:", "'CELos'", "Did you mean 'CELoss'?"])
        let op = try file("op.yaml", """
            _BASE_: run.yaml
            DataLoader:
              Train:
                dataset:
                  transform_ops:
                    - DecodeImag: {to_rgb: True}
            """)
        try assertRejected(["train", "-c", op], ["\(op):6:11: error:", "'DecodeImag'", "Did you mean 'DecodeImage'?"])
        try assertRejected(["train", "-c", run.config, "-o", "Optimizer.name=Momentun"], ["Did you mean 'Momentum'?"])
    }

    func testOutOfRangeValues() throws {
        let lr = try file("lr.yaml", "_BASE_: run.yaml\nOptimizer:\n  lr: -0.5\n")
        try assertRejected(["train", "-c", lr], ["\(lr):3:7: error: Optimizer.lr must not be negative, got -0.5"])
        try assertRejected(["train", "-c", run.config, "-o", "Optimizer.lr.learning_rate=-0.1"],
                           ["-o #1 'Optimizer.lr.learning_rate=-0.1': error: Optimizer.lr.learning_rate must not be negative"])
        for bad in [".inf", ".nan"] {
            try assertRejected(["train", "-c", run.config, "-o", "Optimizer.lr.learning_rate=\(bad)"],
                               ["Optimizer.lr.learning_rate must be a finite number"])
        }
        try assertRejected(["train", "-c", run.config, "-o", "Optimizer.lr=.inf"], ["Optimizer.lr must be a finite number"])
        let batch = try file("batch.yaml", "_BASE_: run.yaml\nDataLoader:\n  Train:\n    sampler: {batch_size: 0}\n")
        try assertRejected(["train", "-c", batch], ["\(batch):4:27: error: DataLoader.Train.sampler.batch_size must be at least 1, got 0"])
        let epochs = try file("epochs.yaml", "_BASE_: run.yaml\nGlobal:\n  epochs: 0\n")
        try assertRejected(["train", "-c", epochs], ["\(epochs):3:11: error: Global.epochs must be at least 1, got 0"])
        try assertRejected(["train", "-c", run.config, "-o", "Global.epochs=-3"], ["Global.epochs must be at least 1, got -3"])
        try assertRejected(["train", "-c", run.config, "-o", "Global.save_interval=0"], ["Global.save_interval"])
        // Values that would allocate tens of gigabytes (these crashed: a 400 GB classifier, a 30 GB resize).
        try assertRejected(["train", "-c", run.config, "-o", "Arch.class_num=100000000"],
                           ["-o #1 'Arch.class_num=100000000': error: Arch.class_num is 100000000 classes, more than 1000000"])
        let resize = try file("resize.yaml", """
            _BASE_: run.yaml
            DataLoader:
              Train:
                dataset:
                  transform_ops:
                    - DecodeImage: {to_rgb: True}
                    - ResizeImage: {size: 100000}
            """)
        try assertRejected(["train", "-c", resize], ["\(resize):7:24: error: ResizeImage: size must be at most 8192, got 100000"])
        try assertRejected(["train", "-c", resize, "-o", "DataLoader.Train.dataset.transform_ops.1={ResizeImage: {resize_short: 9000}}"],
                           ["resize_short must be at most 8192, got 9000"])
    }

    /// Other subcommands report config errors the same way.
    func testEvalAndInferReportConfigErrorsToo() throws {
        for command in ["eval", "infer"] {
            try assertRejected([command, "-c", run.config, "-o", "Global.epoch=3"],
                               ["-o #1 'Global.epoch=3': error: unknown key 'epoch' in Global. Did you mean 'epochs'?"])
        }
    }

    func testCommandLineUsageErrors() throws {
        try assertRejected(["train"], status: 64, ["Missing expected argument '--config <config>'"])
        try assertRejected(["train", "-c", run.config, "--bogus"], status: 64, ["Unknown option '--bogus'"])
        try assertRejected(["trian"], status: 64, ["Unexpected argument 'trian'"])
        try assertRejected(["train", "-c", run.config, "-o"], status: 64, ["Missing value for '-o <key=value>'"])
    }
}
