@testable import ClasEngine
import ClasModels
import ClasNN
import ClasOptim
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// `Arch.lr_mult_list`, `Arch.freeze_stages` and the two-phase `Arch.freeze_backbone_epochs` recipe.
final class StagedFineTuningTests: XCTestCase {
    /// Parameters and buffers of a model, copied.
    private func snapshot(_ model: Module) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: (model.namedParameters() + model.namedBuffers()).map { ($0.0, $0.1.scalars) })
    }

    /// One forward/backward pass of a fixed batch through the engine's model.
    private func backward(_ engine: Engine) {
        let x = Tensor(shape: [2, 32, 32, 3], values: (0..<(2 * 3 * 32 * 32)).map { Float(($0 * 37) % 101) / 50 - 1 })
        let out = engine.model(x)
        (out * out).sum().backward()
    }

    func testPaddleClasStagesOfEachFamily() throws {
        let registry = ModelRegistry.builtins()
        XCTAssertEqual(registry.card(named: "ResNet50_vd")?.lrMultGroups.count, 5, "PaddleClas ResNet: stem + 4 stages")
        XCTAssertEqual(registry.card(named: "MobileNetV3_large_x1_0")?.lrMultGroups.count, 5, "PaddleClas MobileNetV3: 5")
        XCTAssertEqual(registry.card(named: "EfficientNetB0")?.lrMultGroups.count, 8, "stem + 7 block stages")
        for name in ["MobileNetV3_small_x0_35", "MobileNetV3_large_x0_35"] {
            let card = try XCTUnwrap(registry.card(named: name))
            let model = try registry.make(name, classCount: 7)
            let names = model.namedParameters().map(\.0)
            for prefix in card.lrMultGroups.joined() {
                XCTAssertTrue(names.contains { $0.hasPrefix(prefix) }, "\(name): \(prefix) names no parameter")
            }
            let plan = StagePlan(model: model, card: card)
            XCTAssertEqual(plan.stageOfParameter["conv_stem.weight"], 0)
            XCTAssertNil(plan.stageOfParameter["conv_head.weight"], "the head keeps multiplier 1")
            XCTAssertNil(plan.stageOfParameter["classifier.weight"])
        }
        // PaddleClas PPLCNet: six stages, conv1 and blocks2 … blocks6 (blocks5 is timm's blocks.3 and blocks.4).
        let lcnet = try XCTUnwrap(registry.card(named: "PPLCNet_x0_25"))
        let lcnetPlan = StagePlan(model: try registry.make("PPLCNet_x0_25", classCount: 7), card: lcnet)
        XCTAssertEqual(lcnetPlan.count, 6)
        for (name, stage) in ["conv_stem.weight": 0, "bn1.bias": 0, "blocks.0.0.conv_dw.weight": 1,
                              "blocks.1.1.conv_pw.weight": 2, "blocks.2.0.bn2.weight": 3, "blocks.3.1.conv_dw.weight": 4,
                              "blocks.4.3.conv_pw.weight": 4, "blocks.5.1.se.conv_reduce.weight": 5] {
            XCTAssertEqual(lcnetPlan.stageOfParameter[name], stage, name)
        }
        XCTAssertNil(lcnetPlan.stageOfParameter["conv_head.weight"], "PaddleClas's last_conv keeps multiplier 1")
        // PaddleClas small: units 0-1 → 0, 2-3 → 1, 4-5 → 2, 6-7 → 3, 8-10 and the last conv → 4.
        let small = try XCTUnwrap(registry.card(named: "MobileNetV3_small_x1_0")).lrMultGroups
        XCTAssertEqual(small, [["blocks.0.0.", "blocks.1.0."], ["blocks.1.1.", "blocks.2.0."], ["blocks.2.1.", "blocks.2.2."],
                               ["blocks.3.0.", "blocks.3.1."], ["blocks.4.0.", "blocks.4.1.", "blocks.4.2.", "blocks.5."]])
    }

    /// One step of each optimizer: a parameter in stage k moves by exactly mult_k × its unscaled update.
    func testLRMultListScalesEachStagesUpdate() throws {
        let run = try TinyRun(epochs: 1)
        let mults = [0.1, 0.1, 0.2, 0.25, 0.3]
        let engine = try Engine(configPath: run.config, overrides: ["Arch.lr_mult_list=[0.1, 0.1, 0.2, 0.25, 0.3]"],
                                mode: .train, quiet: true)
        backward(engine)
        let params = engine.model.namedParameters()
        let start = snapshot(engine.model)
        let factors = engine.fineTuning.learningRateMultipliers(for: params.map(\.0))
        let plan = try XCTUnwrap(engine.fineTuning.plan)
        XCTAssertEqual(Set(plan.stageOfParameter.values), [0, 1, 2, 3, 4])
        let optimizers: [(String, ([(String, Tensor)]) -> Optimizer)] = [
            ("SGD", { Momentum(parameters: $0, learningRate: 0.5, momentum: 0) }),
            ("Adam", { Adam(parameters: $0, learningRate: 0.01) }),
            ("RMSProp", { RMSProp(parameters: $0, learningRate: 0.01) }),
        ]
        for (label, make) in optimizers {
            var updates: [[String: [Float]]] = []
            for scaled in [false, true] {
                for (name, p) in params { p.copy(from: Tensor(shape: p.shape, values: start[name]!)) }
                let optimizer = make(params)
                if scaled { optimizer.learningRateMultipliers = factors }
                optimizer.step()
                updates.append(Dictionary(uniqueKeysWithValues: params.map { name, p in
                    (name, zip(p.scalars, start[name]!).map { $0 - $1 }) }))
                XCTAssertEqual(optimizer.learningRate, label == "SGD" ? 0.5 : 0.01, "the scheduled rate is restored")
            }
            for (name, _) in params {
                let mult = Float(plan.stageOfParameter[name].map { mults[$0] } ?? 1)
                let plain = updates[0][name]!, scaled = updates[1][name]!
                let size = plain.map(abs).max() ?? 0
                XCTAssertGreaterThan(size, 0, "\(label) \(name) moved")
                if mult == 1 { XCTAssertEqual(scaled, plain, "\(label) \(name)"); continue }
                let worst = zip(scaled, plain).map { abs($0 - mult * $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, 1e-5 * size + 1e-7, "\(label) \(name): update × \(mult)")
            }
        }
        for (name, p) in params { p.copy(from: Tensor(shape: p.shape, values: start[name]!)) }
    }

    func testWrongLengthIsAConfigErrorWithFileAndLine() throws {
        let run = try TinyRun(epochs: 1)
        let text = try String(contentsOfFile: run.config, encoding: .utf8)
        try text.replacingOccurrences(of: "  dropout_prob: 0.2\n", with: "  dropout_prob: 0.2\n  lr_mult_list: [0.1, 0.2]\n")
            .write(toFile: run.config, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Engine(configPath: run.config, mode: .train, quiet: true)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("run.yaml:10"), message)
            XCTAssertTrue(message.contains("lr_mult_list has 2 values but expects 5"), message)
        }
        XCTAssertThrowsError(try Engine(configPath: run.config, overrides: ["Arch.lr_mult_list=[0.1, x]"], mode: .train,
                                        quiet: true)) { XCTAssertTrue("\($0)".contains("non-negative numbers"), "\($0)") }
        XCTAssertThrowsError(try Engine(configPath: run.config, overrides: ["Arch.lr_mult_list=null", "Arch.freeze_stages=6"],
                                        mode: .train, quiet: true)) { XCTAssertTrue("\($0)".contains("5 stages"), "\($0)") }
        XCTAssertThrowsError(try Engine(configPath: run.config, overrides: ["Arch.lr_mult_list=null", "Arch.unfreeze_stages=1"],
                                        mode: .train, quiet: true)) { XCTAssertTrue("\($0)".contains("freeze_backbone_epochs"), "\($0)") }
    }

    /// The first N stages get no gradient and no update, and their BatchNorm statistics stay; the rest trains.
    func testFreezeStagesFreezesGradientsUpdatesAndStatistics() throws {
        let run = try TinyRun(epochs: 1)
        let engine = try Engine(configPath: run.config, overrides: ["Arch.freeze_stages=2"], mode: .train, quiet: true)
        let plan = try XCTUnwrap(engine.fineTuning.plan)
        backward(engine)
        for (name, p) in engine.model.namedParameters() {
            let frozen = plan.stageOfParameter[name].map { $0 < 2 } ?? false
            XCTAssertEqual(p.requiresGrad, !frozen, name)
            if frozen { XCTAssertTrue(p.grad.map { $0.scalars.allSatisfy { $0 == 0 } } ?? true, "\(name) has a gradient") }
        }
        engine.model.namedParameters().forEach { $0.1.grad = nil }
        let before = snapshot(engine.model)
        try Trainer(engine: engine).run()
        let after = snapshot(engine.model)
        XCTAssertEqual(after["conv_stem.weight"], before["conv_stem.weight"])
        XCTAssertEqual(after["blocks.1.0.conv_dw.weight"], before["blocks.1.0.conv_dw.weight"])
        XCTAssertEqual(after["blocks.1.0.bn1.running_mean"], before["blocks.1.0.bn1.running_mean"], "frozen statistics")
        XCTAssertEqual(after["blocks.2.0.conv_dw.weight"], before["blocks.2.0.conv_dw.weight"], "stage 1 is frozen")
        XCTAssertNotEqual(after["blocks.2.1.conv_dw.weight"], before["blocks.2.1.conv_dw.weight"], "stage 2 trains")
        XCTAssertNotEqual(after["blocks.4.0.bn1.running_mean"], before["blocks.4.0.bn1.running_mean"])
        XCTAssertNotEqual(after["classifier.weight"], before["classifier.weight"])
    }

    /// Keras's recipe: the head alone for epoch 1, then the top two stages with BatchNorm frozen; resuming from the
    /// end of epoch 1 gives the same weights as the uninterrupted run.
    func testTwoPhaseFreezeEndsAtItsEpochAndResumesExactly() throws {
        let phases = ["Arch.freeze_backbone_epochs=1", "Arch.unfreeze_stages=2"]
        let straight = try TinyRun(epochs: 2, name: "straight")
        let engine = try Engine(configPath: straight.config, overrides: phases, mode: .train, quiet: true)
        let initial = snapshot(engine.model)
        let trainer = try Trainer(engine: engine)
        try trainer.runEpochs(until: 1)
        let one = snapshot(engine.model)
        for (name, values) in one where !name.hasPrefix("classifier.") {
            XCTAssertEqual(values, initial[name], "\(name) is frozen in epoch 1")
        }
        XCTAssertNotEqual(one["classifier.weight"], initial["classifier.weight"])
        try trainer.run()
        let two = snapshot(engine.model)
        XCTAssertEqual(two["blocks.2.1.conv_dw.weight"], one["blocks.2.1.conv_dw.weight"], "stage 2 stays frozen")
        XCTAssertNotEqual(two["blocks.3.0.conv_dw.weight"], one["blocks.3.0.conv_dw.weight"], "stage 3 trains in epoch 2")
        XCTAssertNotEqual(two["conv_head.weight"], one["conv_head.weight"], "the head trains in epoch 2")
        XCTAssertEqual(two["blocks.4.0.bn1.running_mean"], initial["blocks.4.0.bn1.running_mean"], "BatchNorm stays frozen")

        let split = try TinyRun(epochs: 2, name: "split")
        try Trainer(engine: Engine(configPath: split.config, overrides: phases, mode: .train, quiet: true)).runEpochs(until: 1)
        try Trainer(engine: Engine(configPath: split.config, overrides: phases + ["Global.checkpoints=\(split.modelDir)/epoch_1"],
                                   mode: .train, quiet: true)).run()
        XCTAssertEqual(try straight.weights("latest"), try split.weights("latest"))
    }

    /// `configs/recipes/finetune_two_phase_mobilenet_v3_small.yaml` fine-tunes a SwiftClas checkpoint on a folder
    /// dataset with another class count (a smoke test: two short epochs, one per phase).
    func testTwoPhaseRecipeFineTunesACheckpoint() throws {
        // A source checkpoint whose BatchNorm statistics are settled (a small rate, three epochs): the recipe freezes
        // BatchNorm, so statistics from four steps at the fixture's rate of 0.05 would make the frozen features blow up.
        let source = try TinyRun(classes: 4, epochs: 3, name: "source")
        try Trainer(engine: Engine(configPath: source.config, overrides: ["Optimizer.lr.learning_rate=0.005"],
                                   mode: .train, quiet: true)).run()
        let data = try TinyRun(classes: 3, epochs: 1, name: "target")
        let engine = try Engine(configPath: RecipeConfigTests.recipes + "/finetune_two_phase_mobilenet_v3_small.yaml", overrides: [
            "Arch.name=MobileNetV3_small_x0_35", "Global.pretrained_model=\(source.modelDir)/best_model",
            "DataLoader.Train.dataset.image_root=\(data.dir)/train", "DataLoader.Eval.dataset.image_root=\(data.dir)/val",
            "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=32",
            "DataLoader.Eval.dataset.transform_ops.1.ResizeImage.size=32",
            "Global.output_dir=\(data.dir)/finetune", "Global.epochs=2", "Global.iter_per_epoch=2",
            "Arch.freeze_backbone_epochs=1", "DataLoader.Train.sampler.batch_size=8",
        ], mode: .train, quiet: true)
        XCTAssertEqual(engine.classCount, 3)
        XCTAssertEqual(engine.fineTuning.lrMultList, [0.1, 0.1, 0.2, 0.5, 0.5])
        let best = try Trainer(engine: engine).run()
        XCTAssertTrue(best >= 0 && best <= 1, "\(best)")
    }
}
