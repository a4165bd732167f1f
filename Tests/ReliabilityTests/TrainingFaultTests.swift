import ClasConfig
import ClasEngine
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Cross-entropy that turns NaN on its `nan_at`-th call (0-based), to fault a training at a known step.
final class NaNAtCallLoss: LossFunction {
    struct Options: ConfigOptions {
        var nanAt: Int
        enum CodingKeys: String, CodingKey, CaseIterable { case nanAt = "nan_at" }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws { nanAt = try decoder.container(keyedBy: CodingKeys.self).decode(.nanAt, default: 0) }
    }
    let nanAt: Int
    private var calls = 0
    init(nanAt: Int) { self.nanAt = nanAt }

    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        defer { calls += 1 }
        let ce = Tensor.crossEntropy(outputs.logits, labels: targets.labels)
        return [("CELoss", calls == nanAt ? ce * Float.nan : ce)]
    }
}

/// Cross-entropy plus `0 · sqrt(0)` on its `at`-th call: the loss stays finite, its gradient is NaN (0 · ∞), as
/// after an overflow in a backward pass.
final class NaNGradientLoss: LossFunction {
    let at: Int
    private var calls = 0
    init(at: Int) { self.at = at }

    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        defer { calls += 1 }
        let ce = Tensor.crossEntropy(outputs.logits, labels: targets.labels)
        guard calls == at else { return [("CELoss", ce)] }
        let zero = outputs.logits.sum() - outputs.logits.sum()
        return [("CELoss", ce + zero.sqrt() * 0)]
    }
}

/// Faults during training: a non-finite loss, SIGINT/SIGTERM, kill -9 (also in the middle of a checkpoint write),
/// an unwritable output folder and a full disk. Signals and kills go to a real `tools train` subprocess.
final class TrainingFaultTests: ReliabilityTestCase {
    // MARK: NaN / inf loss

    func testNaNLossStopsNamingTheStepAndKeepsTheLastGoodCheckpoint() throws {
        // 16 images, batch 4: 4 iterations per epoch; the 7th call is epoch 2, iteration 2, step 6.
        let run = try FaultRun(epochs: 3)
        var registries = Registries.builtins()
        registries.loss.register("NaNAtCall", summary: "test loss", options: NaNAtCallLoss.Options.self) { o, _ in
            NaNAtCallLoss(nanAt: o.nanAt)
        }
        let engine = try Engine(configPath: run.config, overrides: ["Loss.Train.0={NaNAtCall: {nan_at: 6}}"],
                                mode: .train, registries: registries, quiet: true)
        let message = assertThrows(["the loss is nan at epoch 2, iteration 2 (step 6, lr ", "untouched"]) {
            try Trainer(engine: engine).run()
        }
        XCTAssertTrue(message.contains("lr 0.0"), "the learning rate is named: \(message)")
        let latest = try Checkpoint.read(prefix: "\(run.modelDir)/latest")
        XCTAssertEqual(latest.state?.epoch, 1, "latest is still the end of epoch 1")
        XCTAssertEqual(latest.state?.step, 4)
        XCTAssertEqual(try run.weights("latest"), try run.weights("epoch_1"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.checkpoint("epoch_2")))
        XCTAssertTrue(latest.model.values.allSatisfy { $0.scalars.allSatisfy(\.isFinite) }, "no NaN reached a checkpoint")
        XCTAssertEqual(leftoverTemporaryFiles(run.modelDir), [])
    }

    /// A finite loss with non-finite gradients stops before the optimizer step would write NaN into the weights.
    func testNonFiniteGradientStopsBeforeTheWeightsAreTouched() throws {
        let run = try FaultRun(epochs: 3)
        var registries = Registries.builtins()
        registries.loss.register("NaNGradientAt", summary: "test loss", options: NaNAtCallLoss.Options.self) { o, _ in
            NaNGradientLoss(at: o.nanAt)
        }
        let engine = try Engine(configPath: run.config, overrides: ["Loss.Train.0={NaNGradientAt: {nan_at: 5}}"],
                                mode: .train, registries: registries, quiet: true)
        let trainer = try Trainer(engine: engine)
        let message = assertThrows(["the gradient norm is ", "nan at epoch 2, iteration 1 (step 5, lr ", "untouched"]) {
            try trainer.run()
        }
        XCTAssertTrue(message.contains(run.modelDir), message)
        XCTAssertEqual(try Checkpoint.read(prefix: "\(run.modelDir)/latest").state?.epoch, 1)
        XCTAssertTrue(engine.model.namedParameters().allSatisfy { $0.1.scalars.allSatisfy(\.isFinite) },
                      "the step was not taken")
    }

    func testHugeLearningRateStopsToolsAndLeavesTheCheckpointByteIdentical() throws {
        let run = try FaultRun(epochs: 1, evalDuringTrain: false)
        let first = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertEqual(first.status, 0, first.stderr)
        let before = fileBytes(run.checkpoint("latest"))
        XCTAssertFalse(before.isEmpty)
        let blown = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.epochs=2",
                                          "-o", "Optimizer.lr.learning_rate=1e30",
                                          "-o", "Global.checkpoints=\(run.modelDir)/latest"])
        XCTAssertNotEqual(blown.status, 0)
        XCTAssertNil(blown.signal, "an error exit, not a crash")
        XCTAssertTrue(blown.stderr.contains("training stopped: the loss is"), blown.stderr)
        XCTAssertTrue(blown.stderr.contains("at epoch 2, iteration "), blown.stderr)
        XCTAssertTrue(blown.stderr.contains(", lr "), blown.stderr)
        XCTAssertEqual(fileBytes(run.checkpoint("latest")), before, "latest not rewritten")
    }

    // MARK: SIGINT / SIGTERM

    /// Ctrl-C and SIGTERM in the middle of a run save a resumable `latest` and exit with an error; resuming to the
    /// end gives weights bit-identical to an uninterrupted run. (The process is frozen with SIGSTOP as soon as it
    /// logs epoch 2, so the signal lands mid-epoch even on a busy machine; the asserts allow for a late landing.)
    func testSignalsSaveAResumableCheckpointAndResumeIsBitIdentical() throws {
        // 32 images, batch 2: 16 iterations per epoch.
        let straight = try FaultRun(name: "straight", perClass: 8, epochs: 3, batchSize: 2)
        let done = try ToolsProcess.run(["train", "-c", straight.config])
        XCTAssertEqual(done.status, 0, done.stderr)
        let expected = try straight.weights("latest")

        for (sig, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            let run = try FaultRun(name: name, perClass: 8, epochs: 3, batchSize: 2)
            let p = try ToolsProcess(["train", "-c", run.config])
            XCTAssertTrue(p.waitForOutput("[Train][Epoch 2/3][Iter: 1/16]"), "\(name): training did not reach epoch 2")
            p.send(SIGSTOP)
            p.send(sig)
            p.send(SIGCONT)
            let r = p.finish()
            XCTAssertEqual(r.status, 1, "\(name): an error exit\n\(r.stderr)")
            XCTAssertNil(r.signal, "\(name) is handled, not fatal")
            XCTAssertTrue(r.stderr.contains("training interrupted by signal \(sig); a resumable checkpoint is at "
                                            + "\(run.modelDir)/latest.safetensors"), r.stderr)
            XCTAssertTrue(r.stdout.contains("resume with -o Global.checkpoints=\(run.modelDir)/latest"), r.stdout)
            let state = try XCTUnwrap(Checkpoint.read(prefix: "\(run.modelDir)/latest").state)
            let iteration = try XCTUnwrap(state.extra["iteration"].flatMap(Int.init), "\(name): an interrupted checkpoint")
            XCTAssertTrue((1...2).contains(state.epoch) && (0..<16).contains(iteration),
                          "\(name): stopped after epoch \(state.epoch), iteration \(iteration)")

            let resumed = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.checkpoints=\(run.modelDir)/latest"])
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            let at = "epoch \(state.epoch)" + (iteration > 0 ? ", iteration \(iteration)" : "") + ", step \(state.step)"
            XCTAssertTrue(resumed.stdout.contains("Resumed from \(run.modelDir)/latest.safetensors: \(at)"), resumed.stdout)
            XCTAssertEqual(try run.weights("latest"), expected, "\(name): resumed weights differ from the straight run")
        }
    }

    /// A second Ctrl-C exits at once; whatever `latest` is then, it loads and resumes to the same weights.
    func testSecondSignalExitsAtOnceAndLatestStillResumesExactly() throws {
        // 48 iterations per epoch: the signals must arrive while epoch 2 is still running, even on a loaded machine
        // (with 4 iterations the run sometimes finished before the test could send them).
        let straight = try FaultRun(name: "straight", perClass: 48, epochs: 2, evalDuringTrain: false)
        XCTAssertEqual(try ToolsProcess.run(["train", "-c", straight.config]).status, 0)
        let run = try FaultRun(name: "twice", perClass: 48, epochs: 2, evalDuringTrain: false)
        let p = try ToolsProcess(["train", "-c", run.config])
        XCTAssertTrue(p.waitForOutput("[Train][Epoch 2/2][Iter: 0/48]"))
        p.send(SIGINT)
        p.send(SIGINT)
        let r = p.finish()
        XCTAssertNil(r.signal)
        XCTAssertTrue([130, 1].contains(r.status), "exit \(r.status): \(r.stderr)")
        XCTAssertNotNil(try Checkpoint.read(prefix: "\(run.modelDir)/latest").state)
        let resumed = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.checkpoints=\(run.modelDir)/latest"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try run.weights("latest"), try straight.weights("latest"))
    }

    // MARK: kill -9

    /// `kill -9` at random moments, and deliberately while a checkpoint is being written (the process is stopped
    /// until a temporary checkpoint file is seen, then killed): `latest` and `best_model` always load, and resuming
    /// from `latest` after every kill still ends bit-identical to an uninterrupted run.
    func testKill9AtAnyMomentLeavesLoadableCheckpointsAndExactResume() throws {
        // 4 images, batch 4: one step per epoch, so checkpoint writes take a large share of the time.
        let epochs = 16
        let straight = try FaultRun(name: "straight", perClass: 1, epochs: epochs, saveInterval: 1000)
        let done = try ToolsProcess.run(["train", "-c", straight.config])
        XCTAssertEqual(done.status, 0, done.stderr)
        let expected = try straight.weights("latest")

        let run = try FaultRun(name: "killed", perClass: 1, epochs: epochs, saveInterval: 1000)
        var generator = SystemRandomNumberGenerator()
        var log: [String] = []
        var killsDuringWrites = 0
        for round in 0..<4 {
            var args = ["train", "-c", run.config]
            if FileManager.default.fileExists(atPath: run.checkpoint("latest")) {
                args += ["-o", "Global.checkpoints=\(run.modelDir)/latest"]
            }
            let before = leftoverTemporaryFiles(run.modelDir)
            let p = try ToolsProcess(args)
            // Wait for `latest` (written after `best_model` each epoch), so a resumable checkpoint exists whatever
            // the machine's load makes of the kill delay.
            guard p.waitForOutput("Already save model in \(run.modelDir)/latest", timeout: 60) else {
                p.finish()
                XCTFail("round \(round): no checkpoint written\n\(p.stderr)")
                return
            }
            if round % 2 == 0 {
                let delay = UInt32.random(in: 0...150_000, using: &generator)
                usleep(delay)
                log.append("round \(round): kill after \(delay / 1000) ms")
            } else {
                let caught = stopWhileWriting(p, folder: run.modelDir, ignoring: before)
                log.append("round \(round): kill \(caught ? "during a checkpoint write" : "(no write caught)")")
                if caught { killsDuringWrites += 1 }
            }
            p.send(SIGKILL)
            let r = p.finish()
            if r.signal != SIGKILL {
                log.append("round \(round): the run ended first (status \(r.status))")
            }
            for name in ["latest", "best_model"] where FileManager.default.fileExists(atPath: run.checkpoint(name)) {
                XCTAssertNoThrow(try Checkpoint.read(prefix: "\(run.modelDir)/\(name)"), "\(name) after \(log.last ?? "")")
                XCTAssertNotNil(try? Checkpoint.read(prefix: "\(run.modelDir)/\(name)").state, name)
            }
        }
        XCTAssertGreaterThanOrEqual(killsDuringWrites, 1, "at least one kill landed inside a checkpoint write\n"
                                    + log.joined(separator: "\n"))
        let resumed = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.checkpoints=\(run.modelDir)/latest"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try run.weights("latest"), expected, "after kills: " + log.joined(separator: "; "))
    }

    /// Stops `p` repeatedly (SIGSTOP) until a new temporary checkpoint file exists, i.e. a write is in progress,
    /// and leaves it stopped there. Returns false if no write was caught within a few seconds.
    private func stopWhileWriting(_ p: ToolsProcess, folder: String, ignoring old: [String]) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && p.process.isRunning {
            p.send(SIGSTOP)
            let fresh = leftoverTemporaryFiles(folder).filter { !old.contains($0) && $0.contains(".safetensors.tmp-") }
            if !fresh.isEmpty { return true }
            p.send(SIGCONT)
            usleep(UInt32.random(in: 200...2_000))
        }
        return false
    }

    // MARK: Unwritable output, full disk

    func testOutputFolderUnderARegularFileIsAClearError() throws {
        let run = try FaultRun(epochs: 1)
        let blocker = "\(run.dir)/not_a_folder"
        try writeBytes(Array("x".utf8), to: blocker)
        let r = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.output_dir=\(blocker)/out"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertNil(r.signal)
        XCTAssertTrue(r.stderr.contains("error: cannot write \(blocker)/out/MobileNetV3_small_x0_35/"), r.stderr)
        XCTAssertTrue(r.stderr.contains("Not a directory") || r.stderr.contains("not a folder")
                      || r.stderr.contains("cannot create folder"), r.stderr)
        XCTAssertEqual(fileBytes(blocker), Array("x".utf8))
    }

    /// A file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored, as a full disk behaves: write fails with an error)
    /// makes the next checkpoint write fail: a clear error, the previous checkpoint byte-identical, no temporary
    /// file left behind, and the run resumes from it afterwards.
    func testFullDiskDuringACheckpointWriteKeepsThePreviousCheckpoint() throws {
        let run = try FaultRun(epochs: 1)
        let first = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertEqual(first.status, 0, first.stderr)
        let latest = fileBytes(run.checkpoint("latest")), best = fileBytes(run.checkpoint("best_model"))
        XCTAssertGreaterThan(latest.count, 1_100_000, "the limit below must be smaller than a checkpoint")
        // 2000 blocks: 1 MB with dash's 512-byte blocks (1000 KB... 2 MB with 1024-byte blocks).
        let full = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.epochs=2",
                                         "-o", "Global.checkpoints=\(run.modelDir)/latest"],
                                        shellPrefix: "ulimit -f 2000 && trap '' XFSZ")
        XCTAssertNotEqual(full.status, 0)
        XCTAssertNil(full.signal, "an error exit, not SIGXFSZ or a crash")
        XCTAssertTrue(full.stderr.contains("error: cannot write \(run.modelDir)/"), full.stderr)
        XCTAssertTrue(full.stderr.contains("File too large"), full.stderr)
        XCTAssertEqual(fileBytes(run.checkpoint("latest")), latest, "latest untouched")
        XCTAssertEqual(fileBytes(run.checkpoint("best_model")), best, "best_model untouched")
        XCTAssertEqual(leftoverTemporaryFiles(run.modelDir), [], "the failed write cleaned up")
        let resumed = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.epochs=2",
                                            "-o", "Global.checkpoints=\(run.modelDir)/latest"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try Checkpoint.read(prefix: "\(run.modelDir)/latest").state?.epoch, 2)
    }
}

/// Temporary files (`*.tmp-*`) in `folder`.
func leftoverTemporaryFiles(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.contains(".tmp-") }.sorted()
}
