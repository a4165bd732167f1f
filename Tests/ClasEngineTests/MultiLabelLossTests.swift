import ClasConfig
import ClasEngine
import ClasTensor
import XCTest
import _ClasTestSupport

/// MultiLabelLoss, MultiLabelAsymmetricLoss and DistillationMultiLabelLoss: values and gradients against PyTorch
/// (PaddleClas's formulas, `scripts/multilabel_fixtures.py`) and finite differences.
final class MultiLabelLossTests: XCTestCase {
    // Output of scripts/multilabel_fixtures.py: 4 images x 5 classes; target (2, 3) is -1 (unknown).
    // torch 2.15.0+cu132 scikit-learn 1.9.1
    static let logits: [Float] = [2.2025249004364014, 0.6768625378608704, -1.079943060874939, -2.5204837322235107, -3.7892425060272217, 0.037276580929756165, -1.6211341619491577, -1.7443119287490845, -0.4439390003681183, -0.10369205474853516, -4.553565502166748, 1.8502931594848633, -4.053691387176514, 3.7192482948303223, 1.1811362504959106, -0.9436890482902527, 2.685992956161499, 0.041572924703359604, 1.3818418979644775, 0.21445415914058685]
    static let targets: [Float] = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    static let ratio: [Float] = [0.10000000149011612, 0.5, 0.30000001192092896, 0.800000011920929, 0.25]
    static let plain: (Double, [Double]) = (1.411707878112793, [-0.004976199136983948, 0.033151904944883195, 0.012675839789603415, -0.04627827008918586, 0.001105634819797382, 0.025465903692933337, -0.04174757488289046, -0.0425616972721742, 0.01954013957119885, -0.026294990967946633, 0.0005209938581674174, 0.04320807662374143, -0.04914689998581702, 0.09881610400588518, 0.03825760272604155, 0.014007788942494019, -0.0031902478814828735, -0.024480413637666804, 0.03996433330700889, 0.02767045060708195])
    static let smoothed: (Double, [Double]) = (1.3744080066680908, [-0.0009761969316120591, 0.032151904952333776, 0.011675839797053996, -0.042278267883813975, 0.00010563482724796285, 0.024465903700383918, -0.03774757267751857, -0.038561695066802314, 0.01854013957864943, -0.022294988762574745, -0.00047900613438200165, 0.04220807663119201, -0.04514689778044513, 0.09281610367805963, 0.03725760273349213, 0.0130077889499446, 0.0008097543238890152, -0.020480411432294916, 0.03896433331445947, 0.02667045061453253])
    static let ratioSizeSum: (Double, [Double]) = (8.930275917053223, [-0.06119737248954832, 0.2732912414444728, 0.08555297323515605, -0.2826220308630859, 0.007098316022548784, 0.14072088472246774, -0.3441505574418636, -0.4285436573718712, 0.21743689349014014, -0.27833248878974093, 0.002878936382557487, 0.3561903583085882, -0.49484850507080563, 0.0, 0.245618670425316, 0.07740500697567447, -0.026299146474254766, -0.24648749149204344, 0.4447112802351089, 0.1776478086420878])
    static let asl: (Double, [Double]) = (13.905870047021324, [-0.00990502284517523, 0.08154567013595998, 0.00040761592476766615, -0.8566712874482599, -0.0, 0.020573178887690863, -0.6971439826645086, -0.7245992082805409, 0.0048720612505777075, -0.27657061175931147, -0.0, 0.27753923124950663, -0.9661670824923372, 0.23101898145734612, 0.1650117821010469, 0.0007350599337475987, -0.004071072496794969, -0.239716253604404, 0.20169417168562298, 0.03196253810023538])
    static let aslMeanNoClip: (Double, [Double]) = (0.9482013525596098, [-0.001569862500340372, 0.014574223906990518, 0.0008146858933660656, -0.04452261483079171, 5.406237173192168e-07, 0.006605979914709549, -0.038147129765395596, -0.039268417135746074, 0.002984303280531313, -0.019068851079500102, 5.6566301320659706e-08, 0.032266716641344693, -0.04872582285876302, 0.0465317406463833, 0.02239820581802718, 0.0010994329295312283, -0.0008058452151229504, -0.01712943804749936, 0.025531579851381138, 0.00847439429047243])
    static let aslFocalGrad: (Double, [Double]) = (13.905870047021324, [-0.019299934709220968, 0.2770264919840007, 0.0018596034465306166, -1.0356467400959366, 0.0, 0.08014093428891673, -0.9454063785301916, -0.9658865081414605, 0.020580837618348665, -0.4626541218649897, 0.0, 0.7039831401832276, -1.0344397604499331, 0.42270894859902863, 0.49516083432465974, 0.003307509225370497, -0.008009413772250057, -0.4077878085788107, 0.5751546991817504, 0.12024410649069672])

    private func tensor(_ v: [Float], _ shape: [Int] = [4, 5], grad: Bool = false) -> Tensor {
        Tensor(shape: shape, values: v, requiresGrad: grad)
    }

    /// The loss's value and gradient w.r.t. the logits.
    private func valueAndGradient(_ loss: LossFunction, targets: [Float], ratio: [Float]? = nil) -> (Double, [Float]) {
        let x = tensor(Self.logits, grad: true)
        let t = Targets(labels: Array(repeating: -1, count: 4), multiHot: tensor(targets), labelRatio: ratio)
        let value = loss.terms(ModelOutputs(logits: x), t)[0].1
        value.backward()
        return (Double(value.item), x.grad?.scalars ?? [])
    }

    private func assertMatches(_ loss: LossFunction, _ reference: (Double, [Double]), targets: [Float]? = nil,
                               ratio: [Float]? = nil, line: UInt = #line) {
        let (value, grad) = valueAndGradient(loss, targets: targets ?? Self.targets, ratio: ratio)
        XCTAssertEqual(value, reference.0, accuracy: 2e-5 * max(1, abs(reference.0)), "value", line: line)
        XCTAssertEqual(grad.count, reference.1.count, line: line)
        for (i, (g, r)) in zip(grad, reference.1).enumerated() {
            XCTAssertEqual(Double(g), r, accuracy: 1e-5 + 1e-4 * abs(r), "gradient \(i)", line: line)
        }
    }

    private var binaryTargets: [Float] { Self.targets.map { max($0, 0) } }

    func testMultiLabelLossMatchesPyTorch() {
        assertMatches(MultiLabelLoss(), Self.plain)
        assertMatches(MultiLabelLoss(epsilon: 0.1), Self.smoothed)
        assertMatches(MultiLabelLoss(weightRatio: true, sizeSum: true), Self.ratioSizeSum, ratio: Self.ratio)
        // PaddleClas turns epsilon outside (0, 1) into no smoothing.
        assertMatches(MultiLabelLoss(epsilon: 1.5), Self.plain)
    }

    func testAsymmetricLossMatchesPyTorch() {
        assertMatches(MultiLabelAsymmetricLoss(), Self.asl, targets: binaryTargets)
        assertMatches(MultiLabelAsymmetricLoss(gammaPositive: 0.5, gammaNegative: 2, clip: 0, mean: true),
                      Self.aslMeanNoClip, targets: binaryTargets)
        assertMatches(MultiLabelAsymmetricLoss(disableFocalLossGrad: false), Self.aslFocalGrad, targets: binaryTargets)
    }

    func testGradientsMatchFiniteDifferences() {
        let t = tensor(Self.targets), ratio = Self.ratio
        let binary = tensor(binaryTargets)
        let x = tensor(Self.logits)
        checkGradients([x]) { Tensor.binaryCrossEntropyWithLogits($0[0], target: t).sum() }
        checkGradients([x]) { MultiLabelLoss(epsilon: 0.1).loss($0[0], Targets(labels: [], multiHot: t)) }
        checkGradients([x]) {
            MultiLabelLoss(weightRatio: true, sizeSum: true).loss($0[0], Targets(labels: [], multiHot: t, labelRatio: ratio))
        }
        // With the focusing weight differentiated (disable_focal_loss_grad: False) the gradient is the loss's own;
        // the logits avoid the clip kink at σ(x) = 0.05.
        checkGradients([x], rtol: 2e-2) { MultiLabelAsymmetricLoss(disableFocalLossGrad: false).loss($0[0], binary) }
        checkGradients([x]) { MultiLabelAsymmetricLoss(clip: 0, disableFocalLossGrad: false, mean: true).loss($0[0], binary) }
    }

    func testDistillationMultiLabelLossHasOneTermPerModel() {
        let student = tensor(Self.logits, grad: true)
        let teacher = tensor(Self.logits.map { $0 * 0.5 })
        let outputs = ModelOutputs(logits: student, byName: ["Student": student, "Teacher": teacher])
        let loss = DistillationMultiLabelLoss(modelNames: ["Student", "Teacher"], loss: MultiLabelLoss())
        let terms = loss.terms(outputs, Targets(labels: [], multiHot: tensor(Self.targets)))
        XCTAssertEqual(terms.map(\.0), ["MultiLabelLoss_Student", "MultiLabelLoss_Teacher"])
        XCTAssertEqual(Double(terms[0].1.item), Self.plain.0, accuracy: 2e-5)
        let direct = MultiLabelLoss().loss(teacher, Targets(labels: [], multiHot: tensor(Self.targets)))
        XCTAssertEqual(terms[1].1.item, direct.item)
        checkGradients([student]) { s in
            let t = loss.terms(ModelOutputs(logits: s[0], byName: ["Student": s[0], "Teacher": teacher]),
                               Targets(labels: [], multiHot: self.tensor(Self.targets)))
            return t[0].1 + t[1].1
        }
    }

    /// PaddleClas's multi-label DML (`DistillationDMLLoss` with `weight_ratio`, PULC vehicle/table attribute
    /// distillation): each (image, class) term weighted like MultiLabelLoss's `weight_ratio`, unknown targets 0; the
    /// reference is PaddleClas's formula in numpy float64 (softmax and sigmoid, with and without
    /// `sum_across_class_dim`).
    func testWeightedDMLMatchesPaddleClasFormula() throws {
        let a = tensor([1.0, -0.5, 0.3, 2.0, 0.2, 0.1, -1.0, 0.5, -0.3, 0.8, 0.0, -1.2], [3, 4], grad: true)
        let b = tensor([0.5, 0.5, -0.2, 1.0, 1.5, -0.3, 0.2, 0.0, 0.1, 0.4, -0.6, 0.9], [3, 4])
        let targets = Targets(labels: [], multiHot: tensor([1, 0, -1, 1, 0, 0, 1, 0, 1, 1, 0, -1], [3, 4]),
                              labelRatio: [0.25, 0.5, 0.1, 0.8])
        let r = Registries.builtins()
        let ctx = ComponentContext(classCount: 4, modelNames: ["Student", "Teacher"],
                                   multiLabel: MultiLabelTraits(isMultiLabel: true, hasLabelRatio: true))
        let outputs = ModelOutputs(logits: a, byName: ["Student": a, "Teacher": b])
        for (options, expected) in [("", 0.3799978004359337), ("act: sigmoid, sum_across_class_dim: True", 0.7456730453209598)] {
            let loss = try r.loss.build(specNode("{DistillationDMLLoss: {weight_ratio: True, model_name_pairs: [[Student, Teacher]]\(options.isEmpty ? "" : ", " + options)}}"),
                                        context: ctx, path: "Loss.Train.0", decoder: .init())
            XCTAssertFalse(loss.readsLabels, "allowed on multi-label data")
            XCTAssertEqual(Double(loss.terms(outputs, targets)[0].1.item), expected, accuracy: 1e-6, options)
        }
        let plain = try r.loss.build(specNode("{DistillationDMLLoss: {model_name_pairs: [[Student, Teacher]]}}"),
                                     context: ctx, path: "Loss.Train.0", decoder: .init())
        XCTAssertEqual(Double(plain.terms(outputs, targets)[0].1.item), 0.3429085858306579, accuracy: 1e-6)
        XCTAssertThrowsError(try r.loss.build(specNode("{DistillationDMLLoss: {weight_ratio: True, model_name_pairs: [[Student, Teacher]]}}"),
                                              context: ComponentContext(classCount: 4, modelNames: ["Student", "Teacher"],
                                                                        multiLabel: MultiLabelTraits(isMultiLabel: false, hasLabelRatio: false)),
                                              path: "Loss.Train.0", decoder: .init())) {
            XCTAssertTrue("\($0)".contains("needs a MultiLabelDataset with label_ratio: True"), "\($0)")
        }
    }
}
