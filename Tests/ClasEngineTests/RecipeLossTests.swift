import ClasConfig
import ClasEngine
import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// AM-softmax, mutual-learning and distillation losses against their formulas and PyTorch reference values,
/// computed in float64 with torch 2 from PaddleClas's definitions:
/// ```python
/// x, t = F.softmax(a, -1), F.softmax(b, -1); kl = lambda x, t: t * torch.log((t + 1e-12) / (x + 1e-12)) * 4
/// dml = ((kl(x, t) + kl(t, x)) / 2).mean()                                       # DMLLoss
/// kd = F.kl_div(F.log_softmax(a / 4, 1), F.softmax(b / 4, 1), reduction='sum') * 16 / 3   # KLDivLoss, T = 4
/// z = 30 * F.normalize(feats, dim=1) @ F.normalize(W, dim=1).t()                 # AM-softmax logits
/// am = F.cross_entropy(z - 30 * 0.35 * F.one_hot(labels, 4), labels)
/// ```
final class RecipeLossTests: XCTestCase {
    let a = Tensor(shape: [3, 4], values: [1.0, -0.5, 0.3, 2.0, 0.2, 0.1, -1.0, 0.5, -0.3, 0.8, 0.0, -1.2])
    let b = Tensor(shape: [3, 4], values: [0.5, 0.5, -0.2, 1.0, 1.5, -0.3, 0.2, 0.0, 0.1, 0.4, -0.6, 0.9])

    // MARK: AM-softmax

    func testCosineClassifierHandCheckable() {
        // x = [3, 4] → [0.6, 0.8]; rows [1, 0] and [0, 2] → [1, 0] and [0, 1]: cosines 0.6 and 0.8.
        let head = CosineClassifier(2, 2, scale: 30)
        head.weight.copy(from: Tensor(shape: [2, 2], values: [1, 0, 0, 2]))
        let z = head(Tensor(shape: [1, 2], values: [3, 4]))
        assertClose(z.scalars, [18, 24], tol: 1e-4)
        // Margin 0.35 on class 0: [18 − 10.5, 24] → loss log(1 + e^16.5), gradient softmax(z') − onehot.
        let logits = z.detachedCopy()
        logits.requiresGrad = true
        let loss = AMSoftmaxLoss.loss(logits, Targets(labels: [0]), margin: 0.35, scale: 30)
        XCTAssertEqual(loss.item, Float(log1p(exp(16.5))), accuracy: 1e-4)
        loss.backward()
        let p0 = Float(1 / (1 + exp(16.5)))
        assertClose(logits.grad?.scalars ?? [], [p0 - 1, 1 - p0], tol: 1e-6)
    }

    func testAMSoftmaxAgainstTorch() {
        let x = Tensor(shape: [2, 3], values: [0.5, -1.0, 2.0, 1.5, 0.3, -0.7])
        let head = CosineClassifier(3, 4, scale: 30)
        head.weight.copy(from: Tensor(shape: [4, 3], values: [0.2, 0.4, -0.1, -0.5, 0.3, 0.8, 1.0, -0.2, 0.1, 0.0, 0.6, 0.6]))
        x.requiresGrad = true
        let logits = head(x)
        assertClose(logits.scalars, [-14.285714, 13.887301, 11.499778, 9.258201, 19.068409, -21.977325, 23.842619, -5.043976],
                    tol: 1e-4)
        let loss = AMSoftmaxLoss.loss(logits, Targets(labels: [2, 1]), margin: 0.35, scale: 30)
        XCTAssertEqual(loss.item, 34.612798, accuracy: 1e-3)
        loss.backward()
        assertClose(x.grad?.scalars ?? [], [-9.774831, 3.510342, 4.198879, 1.032456, -6.789218, -0.697259], tol: 1e-3)
        assertClose(head.weight.grad?.scalars ?? [],
                    [0.168370, -0.103194, -0.076038, -1.121253, -14.720098, 4.819253, 3.966370, 10.133891, -19.395920,
                     0.037299, -0.111898, 0.111898], tol: 2e-3)
    }

    func testCosineClassifierGradients() {
        let head = CosineClassifier(5, 3, scale: 2)
        checkGradients([randn([4, 5], seed: 3), head.weight]) { t in
            Tensor.linear(t[0].l2Normalized(), weight: t[1].l2Normalized(), bias: nil) * 2
        }
        // The loss's gradient with respect to the scaled cosines is (softmax(z − s·m·y) − y)/N.
        let z = randn([3, 4], seed: 5, std: 3)
        checkGradients([z]) { AMSoftmaxLoss.loss($0[0], Targets(labels: [1, 3, 0]), margin: 0.35, scale: 10) }
    }

    func testSoftTargetsTakeAProportionalMargin() {
        let soft = Tensor(shape: [1, 3], values: [0.7, 0.3, 0])
        let z = Tensor(shape: [1, 3], values: [2, 1, 0])
        let loss = AMSoftmaxLoss.loss(z, Targets(labels: [0], soft: soft), margin: 0.2, scale: 10)
        let shifted = Tensor(shape: [1, 3], values: [2 - 1.4, 1 - 0.6, 0])
        XCTAssertEqual(loss.item, Tensor.softCrossEntropy(shifted, target: soft).item, accuracy: 1e-6)
    }

    // MARK: Mutual learning and distillation

    func testDMLLossValueAndGradientsAgainstTorch() {
        let (x, y) = (a.detachedCopy(), b.detachedCopy())
        x.requiresGrad = true
        y.requiresGrad = true
        let loss = DistillationLoss.dml(x, y)
        XCTAssertEqual(loss.item, 0.342908586, accuracy: 1e-6)
        loss.backward()
        // Both models learn toward each other (PaddleClas does not detach either side).
        assertClose(x.grad?.scalars ?? [], [-0.011320529, -0.046330173, -0.005621608, 0.063272311, -0.106172192, 0.050236772,
                                            -0.027690647, 0.083626067, -0.019306851, 0.065893657, 0.041031637, -0.087618442],
                    tol: 1e-6)
        assertClose(y.grad?.scalars ?? [], [-0.003901518, 0.085582593, -0.001937436, -0.079743639, 0.096359818, -0.046931778,
                                            0.022183010, -0.071611050, -0.010370267, -0.097346494, -0.046154715, 0.153871476],
                    tol: 1e-6)
        XCTAssertEqual(DistillationLoss.dml(a, b, sumAcrossClasses: true).item, 4 * 0.342908586, accuracy: 4e-6)
    }

    func testDMLGradientMatchesItsClosedForm() {
        // dL/da_j = (1/2N)·[p_j(log p_j − log q_j − KL(p‖q)) + p_j − q_j] with p = softmax(a), q = softmax(b).
        let x = a.detachedCopy()
        x.requiresGrad = true
        DistillationLoss.dml(x, b).backward()
        let p = a.softmax().scalars, q = b.softmax().scalars
        var expected = [Float](repeating: 0, count: 12)
        for r in 0..<3 {
            var kl: Float = 0
            for c in 0..<4 { kl += p[r * 4 + c] * (log(p[r * 4 + c]) - log(q[r * 4 + c])) }
            for c in 0..<4 {
                let (pj, qj) = (p[r * 4 + c], q[r * 4 + c])
                expected[r * 4 + c] = (pj * (log(pj) - log(qj) - kl) + pj - qj) / 6
            }
        }
        assertClose(x.grad?.scalars ?? [], expected, tol: 1e-6)
        checkGradients([randn([2, 5], seed: 9), randn([2, 5], seed: 10)]) { DistillationLoss.dml($0[0], $0[1]) }
    }

    func testKLDivAndSoftTargetCEAgainstTorch() {
        let x = a.detachedCopy()
        x.requiresGrad = true
        let kl = DistillationLoss.klDiv(student: x, teacher: b, temperature: 4)
        XCTAssertEqual(kl.item, 0.403030107, accuracy: 1e-6)
        kl.backward()
        assertClose(x.grad?.scalars ?? [], [0.014253433, -0.095159478, 0.011965145, 0.068940900, -0.086094070, 0.063775819,
                                            -0.055777344, 0.078095595, -0.004163403, 0.071400862, 0.072323764, -0.139561222],
                    tol: 1e-6)
        XCTAssertEqual(DistillationLoss.softTargetCE(a, b, epsilon: 0).item, 1.599053859, accuracy: 1e-6)
    }

    func testDistillationLossesUseTheirPaddleClasKeys() throws {
        let outputs = ModelOutputs(logits: a, byName: ["Student": a, "Teacher": b])
        let targets = Targets(labels: [3, 0, 1])
        let r = Registries.builtins(), ctx = ComponentContext(classCount: 4, modelNames: ["Teacher", "Student"])
        func keys(_ yaml: String) throws -> [String] {
            try r.loss.build(specNode(yaml), context: ctx, path: "Loss.Train.0", decoder: .init()).terms(outputs, targets).map(\.0)
        }
        XCTAssertEqual(try keys("{DistillationGTCELoss: {model_names: [Student, Teacher]}}"), ["CELoss_Student", "CELoss_Teacher"])
        XCTAssertEqual(try keys("{DistillationDMLLoss: {model_name_pairs: [[Student, Teacher]]}}"), ["DMLLoss_Student_Teacher_0"])
        XCTAssertEqual(try keys("{DistillationCELoss: {model_name_pairs: [[Student, Teacher]]}}"), ["CELoss_Student_Teacher"])
        XCTAssertEqual(try keys("{DistillationKLDivLoss: {model_name_pairs: [[Student, Teacher]]}}"), ["loss_kl_Student_Teacher"])
        XCTAssertEqual(try keys("{DMLLoss: {}}"), ["DMLLoss"])
        XCTAssertEqual(try keys("{MixCELoss: {}}"), ["MixCELoss"])
        XCTAssertThrowsError(try keys("{DistillationGTCELoss: {model_names: [Studnet]}}")) {
            XCTAssertTrue("\($0)".contains("'Studnet' is not a model of the DistillationModel (Teacher, Student)"), "\($0)")
        }
        let single = ComponentContext(classCount: 4)
        XCTAssertThrowsError(try r.loss.build(specNode("{DMLLoss: {}}"), context: single, path: "Loss.Train.0", decoder: .init())) {
            XCTAssertTrue("\($0)".contains("DMLLoss needs a DistillationModel"), "\($0)")
        }
        XCTAssertThrowsError(try r.loss.build(specNode("{AMSoftmaxLoss: {}}"), context: single, path: "Loss.Train.0", decoder: .init())) {
            XCTAssertTrue("\($0)".contains("needs a model with an AM-softmax head"), "\($0)")
        }
    }

    func testMixCELossUsesSoftTargets() {
        let soft = Tensor(shape: [3, 4], values: [0.6, 0.4, 0, 0, 0, 0, 1, 0, 0.25, 0.25, 0.25, 0.25])
        let loss = CrossEntropyLoss(key: "MixCELoss").terms(ModelOutputs(logits: a), Targets(labels: [0, 2, 1], soft: soft))
        XCTAssertEqual(loss.first?.1.item ?? 0, Tensor.softCrossEntropy(a, target: soft).item, accuracy: 1e-6)
        XCTAssertNotEqual(loss.first?.1.item ?? 0, Tensor.crossEntropy(a, labels: [0, 2, 1]).item, accuracy: 1e-3)
    }

    func testDistillationTopkAccReadsItsModel() {
        // argmax: Student (a) = [3, 3, 1]; Teacher (b) = [3, 0, 3]; labels [3, 3, 1].
        let outputs = ModelOutputs(logits: a, byName: ["Student": a, "Teacher": b])
        let metric = DistillationTopkAccuracy(modelKey: "Teacher", topk: [1])
        metric.update(outputs, labels: [3, 3, 1])
        XCTAssertEqual(metric.values.first?.1 ?? 0, 1.0 / 3.0, accuracy: 1e-9)
        let plain = TopkAccuracy(topk: [1])
        plain.update(outputs, labels: [3, 3, 1])
        XCTAssertEqual(plain.values.first?.1 ?? 0, 1.0, accuracy: 1e-9, "other metrics read the primary logits")
    }
}

/// A component parsed from YAML text (flow style), e.g. `{CELoss: {epsilon: 0.1}}`.
func specNode(_ yaml: String) throws -> ConfigNode {
    try ConfigLoader.parse(yaml, path: "test.yaml")
}
