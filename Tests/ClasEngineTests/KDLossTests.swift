import ClasConfig
import ClasEngine
import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// DKD, DIST, WSL, SKD and distance losses against PaddleClas's definitions evaluated in torch float64
/// (`scripts/kd_loss_fixtures.py` prints every number below), finite-difference gradient checks, their PaddleClas
/// log keys, and the feature plumbing (`return_patterns` + `key`) on a real DistillationModel.
final class KDLossTests: XCTestCase {
    let a = Tensor(shape: [3, 4], values: [1.0, -0.5, 0.3, 2.0, 0.2, 0.1, -1.0, 0.5, -0.3, 0.8, 0.0, -1.2])
    let b = Tensor(shape: [3, 4], values: [0.5, 0.5, -0.2, 1.0, 1.5, -0.3, 0.2, 0.0, 0.1, 0.4, -0.6, 0.9])
    let labels = [3, 0, 1]

    /// Checks `f(a, b)`'s value and both gradients against the fixture.
    private func check(_ f: (Tensor, Tensor) -> Tensor, value: Float, ds: [Float], dt: [Float], tol: Float = 1e-5,
                       line: UInt = #line) {
        let s = a.detachedCopy(), t = b.detachedCopy()
        s.requiresGrad = true
        t.requiresGrad = true
        let loss = f(s, t)
        XCTAssertEqual(loss.item, value, accuracy: tol * max(1, abs(value)), line: line)
        loss.backward()
        assertClose(s.grad?.scalars ?? [], ds, tol: tol, line: line)
        assertClose(t.grad?.scalars ?? [], dt, tol: tol, line: line)
    }

    func testDKDAgainstTorch() {
        check({ KDLoss.dkd(student: $0, teacher: $1, target: self.labels, temperature: 2, alpha: 1, beta: 8) },
              value: 3.200251268,
              ds: [0.444518751, -0.830456584, 0.313247070, 0.072690763, -0.095608087, 0.392297940, -0.868040878,
                   0.571351025, 0.209063556, 0.077207025, 1.005638653, -1.291909234],
              dt: [-0.521669031, 0.957244569, -0.367613953, -0.067961585, 0.103992516, -0.465475276, 0.992199391,
                   -0.630716631, -0.456252998, -0.069424677, -0.909396774, 1.435074449], tol: 2e-5)
        check({ KDLoss.dkd(student: $0, teacher: $1, target: KDLoss.argmax($1), temperature: 1, alpha: 1, beta: 1) },
              value: 0.473330209,
              ds: [0.018685862, -0.099554941, 0.009279124, 0.071589955, -0.106945880, 0.072504909, -0.085558334,
                   0.119999305, -0.031922330, 0.097827955, 0.056832104, -0.122737728],
              dt: [-0.052305763, 0.147967786, -0.025974273, -0.069687750, 0.108009151, -0.079194087, 0.089338590,
                   -0.118153654, -0.002385336, -0.129680227, -0.059337231, 0.191402794])
    }

    func testDISTAgainstTorch() {
        check({ KDLoss.dist(student: $0, teacher: $1, beta: 1, gamma: 2) }, value: 2.734023130,
              ds: [0.410185851, -0.060911468, 0.199925498, -0.549199881, -0.737847589, 0.376657705, -0.130213225,
                   0.491403109, -0.043408239, -0.125059297, 0.202985322, -0.034517786],
              dt: [-0.221165371, 0.755399707, 0.414086697, -0.948321034, 0.137526666, -0.026254653, -0.099307904,
                   -0.011964109, 0.209386233, -0.883896652, -0.231291646, 0.905802064], tol: 2e-5)
    }

    func testWSLAgainstTorch() {
        check({ KDLoss.wsl(student: $0, teacher: $1, target: self.labels, temperature: 2) }, value: 3.283292170,
              ds: [0.002935505, -0.034980864, 0.002068616, 0.029976743, -0.087761870, 0.055339712, -0.041342727,
                   0.073764885, -0.002285992, 0.029994063, 0.024509730, -0.052217802],
              dt: [-0.006128038, 0.045566229, 0.012681534, -0.052119725, -0.027887132, -0.006156794, 0.065276197,
                   -0.031232272, 0.001000659, -0.036810171, -0.005576207, 0.041385718])
    }

    func testSKDAgainstTorch() {
        check({ KDLoss.skd(student: $0, teacher: $1, target: self.labels, temperature: 1, multiplier: 2, alpha: 0.9) },
              value: 2.235192840,
              ds: [0.012298419, -0.020817663, 0.023379841, -0.014860597, -0.920096142, 0.148413050, 0.144442369,
                   0.627240723, 0.080701706, -0.019301544, -0.028356827, -0.033043335],
              dt: [0.201088927, 0.569920740, -0.321253856, -0.449755811, -0.015364866, -0.028659367, 0.072247353,
                   -0.028223120, -0.044084923, -0.754774255, 0.275103282, 0.523755895], tol: 2e-5)
    }

    func testDistancesAgainstTorch() {
        let g1: Float = 1.0 / 12, sign: [Float] = [1, -1, 1, 1, -1, 1, -1, 1, -1, 1, 1, -1]
        check({ KDLoss.distance($0, $1, mode: .l1) }, value: 0.825, ds: sign.map { $0 * g1 }, dt: sign.map { -$0 * g1 })
        let l2: [Float] = [0.083333333, -0.166666667, 0.083333333, 0.166666667, -0.216666667, 0.066666667, -0.2,
                           0.083333333, -0.066666667, 0.066666667, 0.1, -0.35]
        check({ KDLoss.distance($0, $1, mode: .l2) }, value: 0.9275, ds: l2, dt: l2.map { -$0 })
        let smooth: [Float] = [0.166666667, -0.166666667, 0.166666667, 0.166666667, -0.166666667, 0.133333333,
                               -0.166666667, 0.166666667, -0.133333333, 0.133333333, 0.166666667, -0.166666667]
        check({ KDLoss.distance($0 * 2, $1 * 2, mode: .smoothL1) }, value: 1.155, ds: smooth, dt: smooth.map { -$0 })
    }

    func testGradientsMatchFiniteDifferences() {
        let s = randn([4, 5], seed: 11), t = randn([4, 5], seed: 12), y = [0, 3, 4, 1]
        checkGradients([s, t]) { KDLoss.dkd(student: $0[0], teacher: $0[1], target: y, temperature: 2, alpha: 1, beta: 3) }
        checkGradients([s, t]) { KDLoss.dist(student: $0[0], teacher: $0[1], beta: 1, gamma: 2) }
        checkGradients([s, t]) { KDLoss.skd(student: $0[0], teacher: $0[1], target: y, temperature: 2, multiplier: 2, alpha: 0.7) }
        // WSL is left out: its weights are computed from detached logits (as in PaddleClas), so finite differences
        // of its value differ from its gradient by design; the gradient is checked against torch's above.
        for mode in DistanceMode.allCases {
            // Away from smooth-L1's kink at |d| = 1 and L1's at 0.
            checkGradients([randnAvoiding([3, 4], kinks: [-1, 0, 1], seed: 5)]) { KDLoss.distance($0[0], Tensor.zeros([3, 4]), mode: mode) }
        }
    }

    func testLossesUseTheirPaddleClasKeys() throws {
        let outputs = ModelOutputs(logits: a, byName: ["Student": a, "Teacher": b],
                                   features: ["Student": ["blocks[1]": a], "Teacher": ["blocks[3]": b]])
        let r = Registries.builtins()
        let ctx = ComponentContext(classCount: 4, modelNames: ["Teacher", "Student"],
                                   outputNames: ["Student": ["blocks[1]"], "Teacher": ["blocks[3]"]])
        func terms(_ yaml: String) throws -> [(String, Tensor)] {
            try r.loss.build(specNode(yaml), context: ctx, path: "Loss.Train.1", decoder: .init())
                .terms(outputs, Targets(labels: labels))
        }
        let pair = "model_name_pairs: [[Student, Teacher]]"
        XCTAssertEqual(try terms("{DistillationDKDLoss: {\(pair), temperature: 2, beta: 8}}").map(\.0), ["loss_dkd_Student_Teacher"])
        XCTAssertEqual(try terms("{DistillationDKDLoss: {\(pair), temperature: 2, beta: 8}}")[0].1.item, 3.200251268, accuracy: 1e-4)
        XCTAssertEqual(try terms("{DistillationDISTLoss: {\(pair), gamma: 2}}").map(\.0), ["loss_dist_Student_Teacher"])
        XCTAssertEqual(try terms("{DistillationWSLLoss: {\(pair)}}").map(\.0), ["wsl_loss_Student_Teacher"])
        XCTAssertEqual(try terms("{DistillationSKDLoss: {\(pair), temperature: 1}}")[0].1.item, 2.235192840, accuracy: 1e-4)
        XCTAssertEqual(try terms("{DistillationDistanceLoss: {\(pair)}}").map(\.0), ["loss_l2_loss_l2_0"])
        XCTAssertEqual(try terms("{DistillationDistanceLoss: {\(pair), mode: l1, key: logits}}")[0].1.item, 0.825, accuracy: 1e-6)
        let pairLoss = try terms("{DistillationPairLoss: {base_loss_name: DistanceLoss, mode: l1, \(pair), s_key: 'blocks[1]', t_key: 'blocks[3]', name: loss_feat}}")
        XCTAssertEqual(pairLoss.map(\.0), ["loss_feat_0_Student_Teacher_loss_l1"])
        XCTAssertEqual(pairLoss[0].1.item, 0.825, accuracy: 1e-6)
        // The pair loss passes no labels: DKD's target is the teacher's argmax.
        XCTAssertEqual(try terms("{DistillationPairLoss: {base_loss_name: DKDLoss, \(pair), s_key: logits, t_key: logits}}")[0].1.item,
                       0.473330209, accuracy: 1e-5)

        XCTAssertThrowsError(try terms("{DistillationDistanceLoss: {\(pair), key: 'blocks[5]'}}")) {
            XCTAssertTrue("\($0)".contains("model Student does not return 'blocks[5]'; add it to the model's return_patterns"), "\($0)")
        }
        XCTAssertThrowsError(try terms("{DistillationPairLoss: {base_loss_name: AFDLoss, \(pair), s_key: a, t_key: b}}")) {
            XCTAssertTrue("\($0)".contains("'AFDLoss' is not supported; supported: DISTLoss, DKDLoss, DistanceLoss, MGDLoss"), "\($0)")
        }
        XCTAssertThrowsError(try terms("{DistillationPairLoss: {base_loss_name: DISTLoss, temperature: 2, \(pair), s_key: logits, t_key: logits}}")) {
            XCTAssertTrue("\($0)".contains("is not an option of DISTLoss"), "\($0)")
        }
        XCTAssertThrowsError(try terms("{DistillationDKDLoss: {\(pair), temprature: 2}}")) {
            XCTAssertTrue("\($0)".contains("temperature"), "\($0)")
        }
    }

    func testReturnPatternsReachTheLossThroughADistillationModel() throws {
        let r = Registries.builtins(), decoder = ConfigDecoder()
        let yaml = """
        {name: DistillationModel, freeze_params_list: [True, False], models: [
          {Teacher: {name: ResNet18, return_patterns: ["blocks[2]", "blocks[7]", avg_pool]}},
          {Student: {name: ResNet18, return_patterns: ["blocks[7]", avg_pool]}}]}
        """
        let model = try r.arch.build(specNode(yaml), context: ArchContext(classCount: 5, registry: r.arch, decoder: decoder),
                                     path: "Arch", decoder: decoder)
        guard let distill = model as? DistillationModel else { return XCTFail("not a DistillationModel") }
        let out = distill.forwardOutputs(randn([2, 16, 16, 3]))
        XCTAssertEqual(out.features["Teacher"]?["blocks[2]"]?.shape, [2, 2, 2, 128], "layer2.0 at stride 8")
        XCTAssertEqual(out.features["Teacher"]?["blocks[7]"]?.shape, [2, 1, 1, 512])
        XCTAssertEqual(out.features["Student"]?["blocks[7]"]?.shape, [2, 1, 1, 512])
        XCTAssertEqual(out.features["Student"]?["avg_pool"]?.shape, [2, 512])
        XCTAssertEqual(out.byName["Student"]?.shape, [2, 5])
        // The logits through the tapped forward equal the plain forward's.
        let student = distill.models[1].model
        student.eval()
        let x = randn([1, 16, 16, 3], seed: 9)
        assertClose(GradMode.withoutGrad { (student as! NamedOutputsModel).forward(x, returning: ["blocks[3]"]).logits.scalars },
                    GradMode.withoutGrad { student(x).scalars }, tol: 0)
        XCTAssertEqual((student as! NamedOutputsModel).outputNames.filter { $0.hasPrefix("blocks[") }.count, 8)
        // MobileNetV3: timm's stages (blocks.0 …) and PaddleClas's flat blocks[k] are distinct, unique names.
        let small = try XCTUnwrap(try r.arch.make("MobileNetV3_small_x0_35", classCount: 5) as? NamedOutputsModel)
        XCTAssertEqual(Set(small.outputNames).count, small.outputNames.count, "\(small.outputNames)")
        // PaddleClas's 11 residual units are blocks[0] … blocks[10]; blocks[11] is timm's last stage, the 1×1 conv
        // PaddleClas calls last_second_conv.
        XCTAssertEqual(small.outputNames.filter { $0.hasPrefix("blocks[") }.count, 12)
        XCTAssertTrue(small.outputNames.contains("blocks.5"))

        let ctx = ComponentContext(classCount: 5, modelNames: ["Teacher", "Student"],
                                   outputNames: distill.returnPatterns.mapValues { $0.sorted() })
        let loss = try r.loss.build(specNode("{DistillationDistanceLoss: {model_name_pairs: [[Student, Teacher]], key: avg_pool}}"),
                                    context: ctx, path: "Loss.Train.0", decoder: .init())
        let term = loss.terms(out, Targets(labels: [0, 1]))[0].1
        term.backward()
        XCTAssertNotNil(distill.models[1].model.namedParameters().first { $0.0 == "conv1.weight" }?.1.grad,
                        "the student's backbone receives the feature loss's gradient")

        XCTAssertThrowsError(try r.arch.build(specNode("{name: DistillationModel, models: [{Student: {name: ResNet18, return_patterns: ['block[7]']}}]}"),
                                              context: ArchContext(classCount: 5, registry: r.arch, decoder: decoder),
                                              path: "Arch", decoder: decoder)) {
            XCTAssertTrue("\($0)".contains("ResNet18 has no output 'block[7]'. Did you mean 'blocks[7]'?"), "\($0)")
        }
    }
}
