import ClasConfig
import ClasData
import ClasEngine
import ClasTensor
import Foundation
import XCTest

/// The range test's choice on synthetic curves, TPE on a synthetic objective, and the finder on a tiny run
/// (weights untouched, figure written, `auto` applying the choice, grid search through the Trainer).
final class LRFinderTests: XCTestCase {
    /// A loss that falls fastest at lr = 10^center (a logistic step in log10(lr)) and explodes above 10^blowUp.
    static func syntheticLoss(_ lr: Double, center: Double, blowUp: Double, noise: Double, violence: Double = 4) -> Double {
        let x = log10(lr)
        let descent = 2.3 - 2.0 / (1 + exp(-3 * (x - center)))
        return descent + (x > blowUp ? exp(violence * (x - blowUp)) - 1 : 0) + noise
    }

    func testRangeTestChoosesTheSteepestDescentOfASyntheticCurve() {
        // Mild and violent divergence (a real run's loss jumps to tens within a few steps), noisy losses.
        for (center, violence) in [(-4.0, 4.0), (-3.0, 4.0), (-2.0, 4.0), (-3.0, 40.0), (-2.0, 40.0)] {
            var test = LRRangeTest(minLR: 1e-6, maxLR: 10, numIter: 150, smoothing: 0.05, divergeThreshold: 5)
            var rng = RandomState(seed: 3)
            while !test.isFinished {
                let lr = test.nextLearningRate
                let noise = Double(rng.uniform(-0.15, 0.15))
                test.record(lr: lr, loss: Self.syntheticLoss(lr, center: center, blowUp: center + 1.5, noise: noise,
                                                             violence: violence))
            }
            XCTAssertNotNil(test.stopReason, "the explosion stops the test (center \(center))")
            XCTAssertLessThan(test.points.count, 150)
            guard let choice = test.suggestion() else { return XCTFail("no suggestion") }
            XCTAssertEqual(log10(choice.lr), center, accuracy: 0.25, "chosen \(choice.lr) for a descent centred at 1e\(center)")
            XCTAssertEqual(choice.lr, test.points[choice.index].lr)
        }
    }

    func testTheOneSidedAverageWouldHaveChosenTooLate() {
        // Why the choice uses the lag-free smoothing: the causal moving average's steepest point trails the curve.
        var test = LRRangeTest(minLR: 1e-6, maxLR: 1, numIter: 100, smoothing: 0.05, divergeThreshold: 50)
        while !test.isFinished {
            let lr = test.nextLearningRate
            test.record(lr: lr, loss: Self.syntheticLoss(lr, center: -3, blowUp: 10, noise: 0))
        }
        let p = test.points
        let lagged = (1..<p.count - 1).min { (p[$0 + 1].smoothedLoss - p[$0 - 1].smoothedLoss) < (p[$1 + 1].smoothedLoss - p[$1 - 1].smoothedLoss) } ?? 0
        XCTAssertGreaterThan(log10(p[lagged].lr), -3 + 0.5, "the causal average lags by more than half a decade")
        XCTAssertEqual(log10(test.suggestion()?.lr ?? 0), -3, accuracy: 0.15)
    }

    func testRangeTestRampAndStopOnNonFiniteLoss() {
        var test = LRRangeTest(minLR: 1e-4, maxLR: 1, numIter: 5)
        XCTAssertEqual(test.learningRate(at: 0), 1e-4, accuracy: 1e-12)
        XCTAssertEqual(test.learningRate(at: 2), 1e-2, accuracy: 1e-12)
        XCTAssertEqual(test.learningRate(at: 4), 1, accuracy: 1e-12)
        XCTAssertTrue(test.record(lr: 1e-4, loss: 1))
        XCTAssertFalse(test.record(lr: 1e-3, loss: .nan))
        XCTAssertTrue(test.stopReason?.contains("nan") ?? false, test.stopReason ?? "")
        XCTAssertNil(test.suggestion(), "too few points")
    }

    func testTPEConcentratesNearTheOptimum() {
        var tpe = TPESampler(lower: -1, upper: 1, seed: 11, startupTrials: 4)
        var xs: [Double] = []
        for _ in 0..<30 {
            let x = tpe.suggest()
            XCTAssertTrue((-1...1).contains(x))
            tpe.observe(x: x, score: -(x - 0.37) * (x - 0.37))
            xs.append(x)
        }
        let best = xs.min { abs($0 - 0.37) < abs($1 - 0.37) } ?? 0
        XCTAssertEqual(best, 0.37, accuracy: 0.05)
        let late = xs.suffix(10).map { abs($0 - 0.37) }.sorted()[5]
        XCTAssertLessThan(late, 0.15, "the later proposals cluster around the optimum (median distance \(late))")
        // Deterministic for a seed.
        var again = TPESampler(lower: -1, upper: 1, seed: 11, startupTrials: 4)
        var ys: [Double] = []
        for _ in 0..<30 { let y = again.suggest(); again.observe(x: y, score: -(y - 0.37) * (y - 0.37)); ys.append(y) }
        XCTAssertEqual(xs, ys)
    }

    func testOverrideKeyFollowsTheLearningRateForm() throws {
        let run = try TinyRun(epochs: 1, name: "lr_override")
        func config(_ overrides: [String]) throws -> RunConfig {
            try RunConfig.load(run.config, overrides: overrides, decoder: ConfigDecoder())
        }
        XCTAssertEqual(try LRFinder.override(for: config([]), learningRate: 0.0316), "Optimizer.lr.learning_rate=0.0316")
        XCTAssertEqual(try LRFinder.override(for: config(["Optimizer.lr=0.1"]), learningRate: 3e-5), "Optimizer.lr=3e-05")
        // The value reads back as the number.
        let applied = try config(["Optimizer.lr=0.1", try LRFinder.override(for: config(["Optimizer.lr=0.1"]), learningRate: 3e-5)])
        guard case .constant(let v, _)? = applied.optimizer?.lr else { return XCTFail("expected a constant lr") }
        XCTAssertEqual(v, 3e-5, accuracy: 1e-15)
    }

    func testConfigSectionIsChecked() throws {
        let run = try TinyRun(epochs: 1, name: "lr_section")
        XCTAssertThrowsError(try RunConfig.load(run.config, overrides: ["LRFinder.max_lr=1e-7"], decoder: ConfigDecoder())) {
            XCTAssertTrue("\($0)".contains("LRFinder.max_lr must be greater than min_lr"), "\($0)")
        }
        XCTAssertThrowsError(try RunConfig.load(run.config, overrides: ["LRFinder.num_iters=5"], decoder: ConfigDecoder())) {
            XCTAssertTrue("\($0)".contains("unknown key 'num_iters'") && "\($0)".contains("num_iter"), "\($0)")
        }
        XCTAssertThrowsError(try RunConfig.load(run.config, overrides: ["LRFinder.mode=bayes"], decoder: ConfigDecoder()))
        let c = try RunConfig.load(run.config, overrides: ["LRFinder.mode=tpe", "LRFinder.path_to_savefig=null"],
                                   decoder: ConfigDecoder())
        XCTAssertEqual(c.lrFinder?.mode, .tpe)
        XCTAssertNil(c.lrFinder?.pathToSavefig)
        XCTAssertEqual(c.lrFinder?.numIter, 100)
    }

    func testRangeTestOnATinyRunLeavesTheWeightsUntouched() throws {
        let run = try TinyRun(epochs: 1, name: "lr_range")
        let overrides = ["LRFinder.num_iter=12", "LRFinder.min_lr=1e-4", "LRFinder.max_lr=10", "LRFinder.skip_start=1",
                         "LRFinder.skip_end=1", "LRFinder.warmup_iter=2"]
        let engine = try Engine(configPath: run.config, overrides: overrides, mode: .train, quiet: true)
        let before = engine.model.stateDict().map { ($0.0, $0.1.scalars) }
        let result = try LRFinder.run(engine: engine)
        let after = engine.model.stateDict().map { ($0.0, $0.1.scalars) }
        XCTAssertEqual(before.map(\.0), after.map(\.0))
        XCTAssertTrue(zip(before, after).allSatisfy { $0.1 == $1.1 }, "weights and buffers restored bit for bit")
        XCTAssertTrue((1e-4...10).contains(result.learningRate), "\(result.learningRate)")
        XCTAssertGreaterThanOrEqual(result.rangeTest?.points.count ?? 0, 3)
        let png = try ImageCodec.decodeFile(try XCTUnwrap(result.figurePath))
        XCTAssertEqual(png.width, 760)
    }

    func testAutoTrainsWithTheChosenRateAndStopAfterStops() throws {
        let run = try TinyRun(epochs: 1, name: "lr_auto")
        let base = ["LRFinder.auto=True", "LRFinder.num_iter=8", "LRFinder.skip_start=0", "LRFinder.skip_end=0",
                    "LRFinder.path_to_savefig=null"]
        let engine = try XCTUnwrap(try LRFinder.trainingEngine(config: RunConfig.load(run.config, overrides: base),
                                                               registries: .builtins(), quiet: true))
        guard case .schedule(let spec)? = engine.config.optimizer?.lr,
              let text = spec.args["learning_rate"]?.scalar?.text, let lr = Double(text) else {
            return XCTFail("expected the Cosine schedule with a learning_rate")
        }
        XCTAssertNotEqual(lr, 0.05, "the base rate was replaced by the finder's choice")
        XCTAssertTrue((1e-6...1).contains(lr))
        XCTAssertNil(try LRFinder.trainingEngine(config: RunConfig.load(run.config, overrides: base + ["LRFinder.stop_after=True"]),
                                                 registries: .builtins(), quiet: true))
    }

    func testGridSearchRunsShortTrainingsAndPicksTheBest() throws {
        let run = try TinyRun(epochs: 3, name: "lr_grid")
        let overrides = ["LRFinder.mode=grid", "LRFinder.num_trials=3", "LRFinder.min_lr=1e-4", "LRFinder.max_lr=0.1",
                         "LRFinder.trial_iters=2"]
        let engine = try Engine(configPath: run.config, overrides: overrides, mode: .train, quiet: true)
        let result = try LRFinder.run(engine: engine)
        XCTAssertEqual(result.trials.map(\.lr), [1e-4, 0.00316, 0.1])
        let best = result.trials.max { $0.score < $1.score }
        XCTAssertEqual(result.learningRate, best?.lr)
        XCTAssertEqual(result.metric, "top1")
        let trialLog = try String(contentsOfFile: "\(run.modelDir)/lr_search/trial_1/MobileNetV3_small_x0_35/train.log",
                                  encoding: .utf8)
        XCTAssertTrue(trialLog.contains("1 epochs × 2 iterations"), "short trainings: \(trialLog.prefix(400))")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run.modelDir)/lr_find.png"))
    }
}
