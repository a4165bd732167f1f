import ClasEngine
import ClasNN
import ClasOptim
import ClasTensor
import XCTest
import _ClasTestSupport

/// EMA arithmetic and options, no-bias-decay from YAML to the optimizer, global-norm clipping.
final class OptimizationRecipeTests: XCTestCase {
    // MARK: EMA

    func testEMAArithmeticWithAndWithoutWarmup() {
        for warmup in [false, true] {
            let model = Linear(1, 1)
            model.weight.fill(2)
            let ema = ModelEMA(model: model, decay: 0.9, warmup: warmup)
            var expected: Float = 2
            for (t, w) in [Float(4), 6, -1].enumerated() {
                model.weight.fill(w)
                let d: Float = warmup ? min(0.9, Float(1 + t) / Float(10 + t)) : 0.9
                XCTAssertEqual(ema.currentDecay, d, accuracy: 1e-7)
                ema.update()
                expected = d * expected + (1 - d) * w
                XCTAssertEqual(ema.shadow.first { $0.0 == "weight" }?.1.item ?? .nan, expected, accuracy: 1e-6, "warmup \(warmup), t \(t)")
            }
            // The averaged weights are swapped in for the body only.
            let inside = ema.withAveragedWeights { model.weight.item }
            XCTAssertEqual(inside, expected, accuracy: 1e-6)
            XCTAssertEqual(model.weight.item, -1)
        }
        // Warm-up: 0.1, 2/11, 3/12 … until it reaches the decay.
        let warm = ModelEMA(model: Linear(1, 1), decay: 0.5, warmup: true)
        var decays: [Float] = []
        for _ in 0..<4 { decays.append(warm.currentDecay); warm.update() }
        assertClose(decays, [0.1, 2.0 / 11, 0.25, 4.0 / 13], tol: 1e-7, "warm-up decays")
        for _ in 0..<10 { warm.update() }
        XCTAssertEqual(warm.currentDecay, 0.5)
    }

    func testEMAConfigIsUsedAndSavedAlongsideTheWeights() throws {
        let run = try TinyRun(epochs: 1, extraYAML: "EMA: {decay: 0.9, use_warmup: True}")
        let trainer = try Trainer(engine: Engine(configPath: run.config, mode: .train, quiet: true))
        XCTAssertEqual(trainer.ema?.decay, 0.9)
        XCTAssertEqual(trainer.ema?.warmup, true)
        try trainer.run()
        let saved = try Checkpoint.read(prefix: "\(run.modelDir)/latest")
        XCTAssertEqual(saved.metadata["ema_updates"], "4")
        XCTAssertEqual(Set(saved.ema.keys), Set(saved.model.keys), "an average for every weight and buffer")
        let name = "classifier.weight"
        XCTAssertEqual(saved.ema[name]?.scalars, trainer.ema?.shadow.first { $0.0 == name }?.1.scalars)
        XCTAssertNotEqual(saved.ema[name]?.scalars, saved.model[name]?.scalars, "raw and averaged weights differ")
    }

    // MARK: No bias decay

    func testNoWeightDecayNamesAndOneDimensionalParameters() throws {
        let run = try TinyRun(epochs: 1)
        func decays(_ overrides: [String]) throws -> [String: Float] {
            let trainer = try Trainer(engine: Engine(configPath: run.config, overrides: overrides, mode: .train, quiet: true))
            let opt = (trainer.optimizer as? SAM)?.base ?? trainer.optimizer
            return Dictionary(uniqueKeysWithValues: zip(opt.parameters.map(\.name), opt.decays))
        }
        let all = try decays([])
        XCTAssertTrue(all.values.allSatisfy { $0 == 1e-4 }, "the regularizer applies to every parameter by default")
        let d = try decays(["Optimizer.no_weight_decay_name=conv_stem .bias", "Optimizer.one_dim_param_no_weight_decay=True"])
        XCTAssertEqual(d["conv_stem.weight"], 0, "named")
        XCTAssertEqual(d["classifier.bias"], 0)
        XCTAssertEqual(d["bn1.weight"], 0, "one-dimensional")
        XCTAssertEqual(d["blocks.1.0.conv_pw.weight"], 1e-4)
        XCTAssertEqual(d["classifier.weight"], 1e-4)
        let oneDim = d.filter { $0.key.hasSuffix(".bias") || $0.key.contains("bn") }
        XCTAssertFalse(oneDim.isEmpty)
        XCTAssertTrue(oneDim.values.allSatisfy { $0 == 0 })
        // The same options inside SAM's base optimizer.
        let sam = try decays(["Optimizer={name: SAM, rho: 0.05, base: {name: Momentum, momentum: 0.9, "
                              + "one_dim_param_no_weight_decay: True}, lr: 0.01, regularizer: {name: L2, coeff: 0.0001}}"])
        XCTAssertEqual(sam["bn1.weight"], 0)
        XCTAssertEqual(sam["conv_stem.weight"], 1e-4)
    }

    func testExcludedParametersAreNotDecayed() {
        let w = Tensor(shape: [2, 2], values: [1, 2, 3, 4], requiresGrad: true)
        let b = Tensor(shape: [2], values: [1, -1], requiresGrad: true)
        let opt = Momentum(parameters: [("fc.weight", w), ("fc.bias", b)], learningRate: 0.1, momentum: 0,
                           weightDecay: WeightDecayPolicy(coefficient: 0.5, excludeOneDimensional: true))
        w.grad = Tensor.zeros([2, 2])
        b.grad = Tensor.zeros([2])
        opt.step()
        assertClose(w.scalars, [0.95, 1.9, 2.85, 3.8], tol: 1e-6, "decayed: w·(1 − lr·λ)")
        XCTAssertEqual(b.scalars, [1, -1])
    }

    // MARK: Gradient clipping

    func testClipNormBoundsTheUpdate() throws {
        // A large rate makes the update dominate float rounding in w_after − w_before.
        func update(clip: String?) throws -> [Float] {
            let run = try TinyRun(epochs: 1, name: "clip\(clip ?? "none")")
            let optimizer = "Optimizer={name: SGD, lr: 100" + (clip.map { ", clip_norm: \($0)" } ?? "") + "}"
            let engine = try Engine(configPath: run.config, overrides: [optimizer, "Global.iter_per_epoch=1",
                                                                        "Global.eval_during_train=False"],
                                    mode: .train, quiet: true)
            let before = engine.model.namedParameters().flatMap { $0.1.scalars }
            try Trainer(engine: engine).run()
            return zip(engine.model.namedParameters().flatMap { $0.1.scalars }, before).map { $0 - $1 }
        }
        func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
        let free = try update(clip: nil), clipped = try update(clip: "0.001")
        let freeNorm = dot(free, free).squareRoot(), clippedNorm = dot(clipped, clipped).squareRoot()
        XCTAssertGreaterThan(freeNorm, 100 * 0.001 * 10, "the gradient is well above the clip")
        XCTAssertEqual(clippedNorm, 100 * 0.001, accuracy: 1e-4, "‖Δw‖ = lr·clip_norm")
        XCTAssertEqual(dot(free, clipped) / (freeNorm * clippedNorm), 1, accuracy: 1e-5, "clipping only rescales")
    }
}
