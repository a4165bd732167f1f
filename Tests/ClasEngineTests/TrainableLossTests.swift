import ClasConfig
@testable import ClasEngine
import ClasNN
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// PaddleClas's MGDLoss and PEFDLoss (`DistillationPairLoss` bases with trainable layers): values and gradients
/// against torch float64 (`scripts/trainable_loss_fixtures.py` prints every number below, with the same formula
/// weights and inputs), finite differences, and a real distillation run whose loss parameters are trained, saved
/// under `loss.` and restored exactly on resume.
final class TrainableLossTests: XCTestCase {
    /// Fills `t` (SwiftClas layout) from f(i), i the flat index in PyTorch's layout (NCHW features, OIHW kernels).
    private func fill(_ t: Tensor, _ f: (Int) -> Double) {
        let s = t.shape
        if s.count == 4 {  // NHWC / OHWI [a, h, w, c] ← NCHW / OIHW [a, c, h, w]
            let (a, h, w, c) = (s[0], s[1], s[2], s[3])
            for n in 0..<a { for y in 0..<h { for x in 0..<w { for k in 0..<c {
                t.data[((n * h + y) * w + x) * c + k] = Float(f(((n * c + k) * h + y) * w + x))
            } } } }
        } else {
            for i in 0..<t.count { t.data[i] = Float(f(i)) }
        }
    }
    private func parameters(_ m: Module) { for (k, (_, p)) in m.namedParameters().enumerated() { fill(p) { 0.3 * sin(1 + 0.7 * Double($0) + Double(k)) } } }
    private func student(_ shape: [Int]) -> Tensor {
        let t = Tensor.zeros(shape); fill(t) { 1.5 * cos(0.3 * Double($0) + 0.1) }; t.requiresGrad = true; return t
    }
    private func teacher(_ shape: [Int]) -> Tensor { let t = Tensor.zeros(shape); fill(t) { sin(0.2 * Double($0) - 0.4) }; return t }
    private func absSum(_ t: Tensor?) -> Float { t?.scalars.reduce(0) { $0 + Swift.abs($1) } ?? -1 }

    func testMGDLossAgainstTorch() throws {
        let mgd = MGDLoss(studentChannels: 3, teacherChannels: 4, alpha: 1.756, lambda: 0)
        XCTAssertEqual(mgd.namedParameters().map(\.0), ["align.weight", "align.bias", "generation.0.weight", "generation.0.bias",
                                                        "generation.2.weight", "generation.2.bias"])
        parameters(mgd)
        let s = student([2, 3, 4, 3]), t = teacher([2, 3, 4, 4])
        let loss = mgd.loss(s, t)
        XCTAssertEqual(loss.item, 0.94652828829, accuracy: 2e-6)
        loss.backward()
        XCTAssertEqual(absSum(s.grad), 0.0346379411435, accuracy: 2e-6)
        XCTAssertEqual(absSum(mgd.align?.weight.grad), 0.41943295548, accuracy: 2e-6)
        XCTAssertEqual(mgd.align?.weight.grad?.data[0] ?? 0, 0.0467936504672, accuracy: 1e-6)
        XCTAssertEqual(absSum((mgd.generation.layers[2] as? Conv2d)?.weight.grad), 0.133077318968, accuracy: 2e-6)
        // λ → 1 masks every channel: the generator sees zeros and the loss is its bias pattern against the teacher.
        let masked = MGDLoss(studentChannels: 3, teacherChannels: 4, alpha: 1, lambda: 0.999_999)
        parameters(masked)
        let zeros = Tensor.zeros([2, 3, 4, 4])
        let d = GradMode.withoutGrad { masked.generation(zeros) - t }
        XCTAssertEqual(GradMode.withoutGrad { masked.loss(s, t).item }, (d * d).mean().item, accuracy: 1e-6)
    }

    func testMGDMaskDropsAboutLambdaOfTheChannels() {
        let mgd = MGDLoss(studentChannels: 8, teacherChannels: 8, alpha: 1, lambda: 0.5)
        mgd.generation.layers.compactMap { $0 as? Conv2d }.forEach { $0.weight.fill(0); $0.bias?.fill(0) }
        // With a zero generator the loss is mean(t²) whatever the mask; the mask's draw count is checked instead.
        Randomness.beginStep(seed: 3, step: 0)
        var a = Randomness.training
        Randomness.beginStep(seed: 3, step: 0)
        _ = GradMode.withoutGrad { mgd.loss(randn([16, 2, 2, 8]), randn([16, 2, 2, 8], seed: 8)) }
        var dropped = 0
        for _ in 0..<(16 * 8) where a.uniform() < 0.5 { dropped += 1 }
        XCTAssertEqual(a.uniform(), Randomness.training.uniform(), "one draw per (sample, channel) from the training stream")
        XCTAssertTrue((40...88).contains(dropped), "\(dropped) of 128")
    }

    func testPEFDLossAgainstTorch() throws {
        for (gap, value, studentSum, weightSum) in [(false, 0.690919878755, 0.101781559271, 0.536875111802),
                                                    (true, 1.16720941521, 1.47365782911, 3.4384869771)] {
            let pefd = PEFDLoss(studentChannel: 5, teacherChannel: 4, projectors: 2, gap: gap)
            XCTAssertEqual(pefd.namedParameters().map(\.0), ["projectors.0.weight", "projectors.0.bias",
                                                             "projectors.1.weight", "projectors.1.bias"])
            parameters(pefd)
            let s = student(gap ? [3, 2, 3, 5] : [3, 5]), t = teacher(gap ? [3, 2, 3, 4] : [3, 4])
            let loss = pefd.loss(s, t)
            XCTAssertEqual(loss.item, Float(value), accuracy: 2e-6, "gap \(gap)")
            loss.backward()
            XCTAssertEqual(absSum(s.grad), Float(studentSum), accuracy: 5e-6, "gap \(gap)")
            XCTAssertEqual(absSum(pefd.projectors[0].weight.grad), Float(weightSum), accuracy: 2e-5, "gap \(gap)")
        }
    }

    func testGradientsMatchFiniteDifferences() {
        let mgd = MGDLoss(studentChannels: 3, teacherChannels: 4, alpha: 1.756, lambda: 0)
        (mgd.generation.layers[0] as? Conv2d)?.bias?.fill(10)  // away from the ReLU kink
        // A teacher near the generated map keeps the loss small, so float32 rounding of its value stays far below
        // what the finite differences measure.
        let x = randn([2, 3, 3, 3], seed: 5)
        let t = GradMode.withoutGrad { mgd.generation(mgd.align!(x)) + randn([2, 3, 3, 4], seed: 4) * 0.1 }
        checkGradients([x, mgd.align!.weight, mgd.generation.layers[2].namedParameters()[0].1]) { mgd.loss($0[0], t) }
        let pefd = PEFDLoss(studentChannel: 5, teacherChannel: 4, projectors: 3, gap: true)
        for p in pefd.projectors { p.bias?.fill(0.5) }  // away from the ReLU kink
        checkGradients([randn([3, 2, 2, 5], seed: 6), pefd.projectors[1].weight]) { pefd.loss($0[0], randn([3, 2, 2, 4], seed: 7)) }
    }

    /// ResNet18 → ResNet18 with MGD on layer4's output and PEFD on the pooled features: the losses' parameters are
    /// trained (they move), saved under `loss.<entry>.` and restored on resume (two epochs equal one + resume).
    func testLossParametersTrainSaveAndResume() throws {
        let overrides = [
            "Arch={name: DistillationModel, freeze_params_list: [True, False], models: ["
                + "{Teacher: {name: ResNet18, return_patterns: ['blocks[7]', avg_pool]}}, "
                + "{Student: {name: ResNet18, return_patterns: ['blocks[7]', avg_pool]}}]}",
            "Loss.Train=[{DistillationGTCELoss: {weight: 1.0, model_names: [Student]}}, "
                + "{DistillationPairLoss: {weight: 1.0, base_loss_name: MGDLoss, model_name_pairs: [[Student, Teacher]], "
                + "s_key: 'blocks[7]', t_key: 'blocks[7]', name: loss_mgd, student_channels: 512, teacher_channels: 512}}, "
                + "{DistillationPairLoss: {weight: 25.0, base_loss_name: PEFDLoss, model_name_pairs: [[Student, Teacher]], "
                + "s_key: avg_pool, t_key: avg_pool, name: loss_pefd, student_channel: 512, teacher_channel: 512}}]",
            "DataLoader.Train.sampler.batch_size=4", "Global.eval_during_train=False",
        ]
        let full = try TinyRun(classes: 2, perClass: 4, epochs: 2)
        var lines: [String] = []
        let engine = try Engine(configPath: full.config, overrides: overrides, mode: .train, quiet: true)
        engine.logger.capture = { lines.append($0) }
        let trainer = try Trainer(engine: engine)
        let initial = trainer.lossParameters.stateDict().map { ($0.0, $0.1.scalars) }
        XCTAssertEqual(initial.count, 4 + 6, "MGD: two 3×3 convs (weight, bias); PEFD: three projectors")
        XCTAssertTrue(initial.map(\.0).contains("1.generation.0.weight") && initial.map(\.0).contains("2.projectors.2.bias"),
                      "\(initial.map(\.0))")
        try trainer.run()
        XCTAssertTrue(lines.contains { $0.contains("loss_mgd_0_Student_Teacher: ") && $0.contains("loss_pefd_0_Student_Teacher: ") },
                      lines.filter { $0.contains("[Avg]") }.joined(separator: "\n"))
        let dir = "\(full.dir)/output/DistillationModel"
        let end = try Checkpoint.read(prefix: "\(dir)/epoch_2")
        XCTAssertEqual(Set(end.loss.keys), Set(initial.map(\.0)))
        XCTAssertFalse(end.model.keys.contains { $0.hasPrefix("loss.") }, "loss tensors stay out of the model's")
        XCTAssertTrue(end.optimizer.keys.contains { $0.contains("loss.1.generation.0.weight") }, "the optimizer has their state")
        for (name, before) in initial where name.hasSuffix("weight") {
            XCTAssertNotEqual(end.loss[name]?.scalars, before, "\(name) is trained")
        }
        // Resume from epoch 1 in a second run folder: the same loss parameters (and model) after epoch 2.
        let resumed = try TinyRun(classes: 2, perClass: 4, epochs: 2, name: "resumed")
        let again = try Engine(configPath: resumed.config, overrides: overrides + ["Global.checkpoints=\(dir)/epoch_1"],
                               mode: .train, quiet: true)
        try Trainer(engine: again).run()
        let other = try Checkpoint.read(prefix: "\(resumed.dir)/output/DistillationModel/epoch_2")
        for (name, t) in end.loss { XCTAssertEqual(other.loss[name]?.scalars, t.scalars, "\(name) after resume") }
        XCTAssertEqual(other.model["Student.fc.weight"]?.scalars, end.model["Student.fc.weight"]?.scalars)
    }
}
