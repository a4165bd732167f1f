import ClasConfig
import ClasEngine
import ClasOptim
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// `Optimizer.weight_decay_schedule`: MobileOne's regularisation annealing.
final class WeightDecayScheduleTests: XCTestCase {
    static let cosine = "Optimizer.weight_decay_schedule={name: Cosine, end: 0.00001}"

    func testValuesPerStep() {
        let cos = WeightDecaySchedule(shape: .cosine, start: 1e-4, end: 1e-5, totalSteps: 10)
        XCTAssertEqual(cos.value(at: 0), 1e-4, accuracy: 1e-12)
        XCTAssertEqual(cos.value(at: 5), 5.5e-5, accuracy: 1e-12)
        XCTAssertEqual(cos.value(at: 10), 1e-5, accuracy: 1e-12)
        XCTAssertEqual(cos.value(at: 12), 1e-5, accuracy: 1e-12, "held at the end")
        for t in 0..<10 { XCTAssertGreaterThan(cos.value(at: t), cos.value(at: t + 1)) }
        let lin = WeightDecaySchedule(shape: .linear, start: 1e-4, end: 0, totalSteps: 4)
        for (t, v) in [1e-4, 7.5e-5, 5e-5, 2.5e-5, 0].enumerated() { XCTAssertEqual(lin.value(at: t), v, accuracy: 1e-12) }
        XCTAssertEqual(cos.scale(at: 10), 0.1, accuracy: 1e-6)
    }

    /// The scale multiplies the configured decay; excluded parameters stay at zero decay.
    func testScaleRespectsExclusions() {
        let w = Tensor.ones([2, 2]), b = Tensor.ones([2])
        for t in [w, b] { t.requiresGrad = true; t.grad = Tensor.zeros(t.shape) }
        let sgd = Momentum(parameters: [("fc.weight", w), ("fc.bias", b)], learningRate: 1, momentum: 0,
                           weightDecay: WeightDecayPolicy(coefficient: 0.1, excludedNameParts: ["bias"]))
        sgd.weightDecayScale = 0.5
        sgd.step()
        XCTAssertEqual(w.scalars, [Float](repeating: 0.95, count: 4))
        XCTAssertEqual(b.scalars, [1, 1])
    }

    func testTrainingAnnealsLogsAndResumesExactly() throws {
        let run = try TinyRun(epochs: 2, name: "annealed")
        let engine = try Engine(configPath: run.config, overrides: [Self.cosine], mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        let trainer = try Trainer(engine: engine)
        let schedule = try XCTUnwrap(trainer.weightDecaySchedule)
        XCTAssertEqual(schedule.start, 1e-4, accuracy: 1e-9, "from Optimizer.regularizer.coeff")
        XCTAssertEqual(schedule.totalSteps, 8)
        try trainer.run()
        XCTAssertEqual(trainer.optimizer.weightDecayScale, Float(schedule.scale(at: 7)))
        let first = lines.first { $0.contains("[Train][Epoch 1/2][Iter: 0/4]") } ?? ""
        XCTAssertTrue(first.contains("lr(LinearWarmup): 0.00000000, wd(Cosine): 0.00010000, "), first)

        // Resume at the epoch boundary: the same weights as the uninterrupted run.
        let split = try TinyRun(epochs: 2, name: "annealedSplit")
        _ = try Trainer(engine: Engine(configPath: split.config, overrides: [Self.cosine], mode: .train, quiet: true))
            .runEpochs(until: 1)
        try Trainer(engine: Engine(configPath: split.config,
                                   overrides: [Self.cosine, "Global.checkpoints=\(split.modelDir)/latest"],
                                   mode: .train, quiet: true)).run()
        XCTAssertEqual(try run.weights("latest"), try split.weights("latest"))
        // And annealing changes the result.
        let plain = try TinyRun(epochs: 2, name: "plainDecay")
        try Trainer(engine: Engine(configPath: plain.config, mode: .train, quiet: true)).run()
        XCTAssertNotEqual(try run.weights("latest"), try plain.weights("latest"))
    }

    func testNothingToAnnealIsRefused() throws {
        let run = try TinyRun(epochs: 1)
        let engine = try Engine(configPath: run.config, overrides: [Self.cosine, "Optimizer.regularizer=null"],
                                mode: .train, quiet: true)
        XCTAssertThrowsError(try Trainer(engine: engine)) {
            XCTAssertTrue("\($0)".contains("Optimizer.weight_decay_schedule needs a weight decay"), "\($0)")
        }
    }
}
