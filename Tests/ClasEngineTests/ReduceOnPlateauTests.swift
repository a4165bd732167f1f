import ClasEngine
import ClasOptim
import XCTest
import _ClasTestSupport

final class ReduceOnPlateauTests: XCTestCase {
    /// Without cooldown PaddlePaddle's and PyTorch's rules agree; the expected rates come from
    /// `torch.optim.lr_scheduler.ReduceLROnPlateau(mode='max', factor=0.5, patience=2, threshold=1e-4, min_lr=0.01)`.
    func testRateSequenceMatchesTorch() {
        let schedule = ReduceOnPlateau(learningRate: 0.1, mode: .max, factor: 0.5, patience: 2, threshold: 1e-4, minLR: 0.01)
        let metrics = [0.50, 0.60, 0.60, 0.61, 0.61, 0.61, 0.61, 0.70, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69]
        let torch: [Float] = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125,
                              0.01, 0.01]
        var rates: [Float] = []
        for m in metrics {
            schedule.record(m)
            rates.append(schedule.learningRate(at: 1000))
        }
        assertClose(rates, torch, tol: 1e-9, "lr after each evaluation")
        // 0.61 beats 0.60 by more than the relative threshold (0.60006); 0.6 + 1e-5 would not.
        XCTAssertTrue(schedule.isBetter(0.61, than: 0.6))
        XCTAssertFalse(schedule.isBetter(0.60001, than: 0.6))
        // Two more stalls at min_lr: the next due reduction is impossible, so training should stop.
        XCTAssertEqual(schedule.record(0.69), .unchanged)
        XCTAssertEqual(schedule.record(0.69), .exhausted)
        XCTAssertEqual(schedule.learningRate(at: 1000), 0.01)
    }

    /// PaddlePaddle's cooldown skips the comparison entirely (PyTorch would take 2.0 as the new best).
    func testCooldownIgnoresEvaluations() {
        let s = ReduceOnPlateau(learningRate: 1, mode: .max, factor: 0.5, patience: 1, cooldown: 2)
        let events = [1.0, 0.9, 0.9, 2.0, 0.9, 1.5, 0.9, 0.9].map { s.record($0) }
        XCTAssertEqual(events, [.improved, .unchanged, .reduced(from: 1, to: 0.5), .unchanged, .unchanged, .improved,
                                .unchanged, .reduced(from: 0.5, to: 0.25)])
        XCTAssertEqual(s.best, 1.5)
    }

    func testMinModeAbsoluteThresholdWarmupAndState() {
        let s = ReduceOnPlateau(learningRate: 0.4, mode: .min, factor: 0.1, patience: 0, threshold: 0.05, thresholdMode: .abs,
                                warmupSteps: 4, warmupStartLR: 0)
        assertClose((0..<6).map { s.learningRate(at: $0) }, [0, 0.1, 0.2, 0.3, 0.4, 0.4], tol: 1e-7, "warm-up")
        XCTAssertEqual(s.displayName, "LinearWarmup")
        XCTAssertEqual(s.record(1.0), .improved)
        guard case let .reduced(from, to) = s.record(0.96) else { return XCTFail("0.96 > 1.0 − 0.05 is not better") }
        XCTAssertEqual(from, 0.4)
        XCTAssertEqual(to, 0.04, accuracy: 1e-8)
        let copy = ReduceOnPlateau(learningRate: 0.4, mode: .min, factor: 0.1, patience: 0, threshold: 0.05, thresholdMode: .abs)
        copy.restore(s.state)
        XCTAssertEqual(copy.learningRate(at: 100), s.learningRate(at: 100))
        XCTAssertEqual(copy.best, s.best)
        XCTAssertEqual(copy.evaluations, 2)
    }

    func testTrainingStopsWhenTheRateIsExhausted() throws {
        // threshold 1 in min/rel mode: nothing after the first evaluation counts as better; patience 0 and
        // min_lr = learning_rate make the second evaluation exhaust the rate.
        let run = try TinyRun(epochs: 5)
        let engine = try Engine(configPath: run.config, overrides: [
            "Optimizer.lr={name: ReduceOnPlateau, learning_rate: 0.05, mode: min, threshold: 1.0, patience: 0, min_lr: 0.05}",
        ], mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        let trainer = try Trainer(engine: engine)
        XCTAssertTrue(trainer.observers.first is ReduceOnPlateau, "the schedule follows training as an observer")
        try trainer.run()
        XCTAssertEqual(trainer.state.epoch, 2)
        XCTAssertTrue(lines.contains { $0.contains("lr is at its minimum 0.05; stopping training") }, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.contains("ReduceOnPlateau has mode 'min' but follows top1") })
        XCTAssertTrue(lines.contains { $0.contains("Training stopped early after epoch 2") })
        XCTAssertTrue(lines.contains { $0.contains("lr(ReduceOnPlateau): 0.05000000") })
    }

    func testResumeKeepsThePlateauState() throws {
        // The rate halves after every evaluation but the first; a resumed run must continue from the saved rate.
        let plateau = "Optimizer.lr={name: ReduceOnPlateau, learning_rate: 0.05, mode: min, threshold: 1.0, patience: 0, "
            + "factor: 0.5, min_lr: 0.0001}"
        let straight = try TinyRun(epochs: 3, name: "plateauStraight")
        try Trainer(engine: Engine(configPath: straight.config, overrides: [plateau], mode: .train, quiet: true)).run()
        let split = try TinyRun(epochs: 3, name: "plateauSplit")
        try Trainer(engine: Engine(configPath: split.config, overrides: [plateau], mode: .train, quiet: true)).runEpochs(until: 2)
        let saved = try Checkpoint.read(prefix: "\(split.modelDir)/latest").state?.extra ?? [:]
        XCTAssertEqual(saved["observer.ReduceOnPlateau.lr"], "0.025")
        XCTAssertEqual(saved["observer.ReduceOnPlateau.evaluations"], "2")
        try Trainer(engine: Engine(configPath: split.config, overrides: [plateau, "Global.checkpoints=\(split.modelDir)/latest"],
                                   mode: .train, quiet: true)).run()
        XCTAssertEqual(try straight.weights("latest"), try split.weights("latest"))
    }
}
