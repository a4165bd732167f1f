import ClasConfig
import ClasEngine
import ClasTensor
import XCTest

/// The multi-label metrics against scikit-learn (hamming_loss, accuracy_score, multilabel_confusion_matrix,
/// average_precision_score) and numpy ports of PaddleClas's ATTRMetric and TprAtFpr (`scripts/multilabel_fixtures.py`),
/// fed in two batches as the evaluator does.
final class MultiLabelMetricTests: XCTestCase {
    // Output of scripts/multilabel_fixtures.py: 12 images x 4 classes (continuous scores, no ties).
    // torch 2.15.0+cu132 scikit-learn 1.9.1
    static let metricLogits: [Float] = [-1.27611243724823, 0.5648512244224548, 1.7960125207901, -0.23541505634784698, -0.39107733964920044, 0.17390146851539612, -0.3668597340583801, 0.08236522227525711, -1.1399714946746826, 0.4382574260234833, 0.39257940649986267, -2.435417413711548, -0.11022594571113586, 0.16291581094264984, 0.5612247586250305, -0.8160897493362427, -1.3280342817306519, -0.9507340788841248, 0.5480409860610962, -0.8518354892730713, -0.7641438245773315, 1.1437655687332153, -0.7861576080322266, -0.8986326456069946, -0.09123755991458893, 0.19861051440238953, 1.0376296043395996, -0.879327654838562, -1.5681545734405518, -0.12249664962291718, 0.6436368227005005, -1.481526494026184, -0.487263023853302, 0.30619579553604126, 0.23102429509162903, 0.08335898816585541, -0.2568895220756531, -0.7993464469909668, -0.928138017654419, 1.1562622785568237, -1.1172096729278564, 1.2280000448226929, -1.3150584697723389, 2.9035818576812744, -1.738110899925232, 1.6042742729187012, -0.8970721364021301, -0.11561547964811325]
    static let metricTargets: [Float] = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    static let attrTargets: [Float] = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    static let tprLogits: [Float] = [1.655333399772644, 0.5036535263061523, 0.43187758326530457, 1.2979587316513062, 0.1973106861114502, 0.1859823763370514, 0.6887385249137878, 1.9120769500732422, -0.6803575158119202, -1.1658908128738403, -0.11337249726057053, 2.898012161254883, -0.226415753364563, 1.1484295129776, 0.41259869933128357, 1.1911029815673828, -2.633394956588745, 1.7221336364746094, -0.2769451439380646, -1.6005192995071411, 0.5145047903060913, 1.4745774269104004, 0.3750530779361725, 0.8955841064453125, 0.20202256739139557, 1.0267680883407593, 1.0649466514587402, 1.6243256330490112, -1.4025242328643799, 0.21431604027748108, 0.06764111667871475, -0.20344440639019012, -1.3496623039245605, 2.559537887573242, -0.7315969467163086, 1.5826354026794434, -0.6599439978599548, 1.5324769020080566, -0.044812921434640884, 0.1511744260787964, 2.6434149742126465, 1.0017122030258179, 2.0694572925567627, 2.12345814704895, -0.6950075626373291, 2.7555603981018066, 0.8408244252204895, 0.9544368386268616, -1.333984375, 0.5028116106987, -0.40251588821411133, 1.3578343391418457, -0.13145828247070312, 0.04066834598779678, 1.59044349193573, 1.8784401416778564, -1.8447610139846802, 2.7468676567077637, 0.0876431092619896, 1.6315274238586426, -1.8266600370407104, 0.3997533321380615, -0.49896547198295593, 0.9556199312210083, 0.45622822642326355, 0.8277192711830139, -0.37305182218551636, -1.8293486833572388, 0.9687926769256592, 1.9203499555587769, -0.33061978220939636, 0.942935585975647, -0.885611355304718, -1.762536644935608, -1.17720365524292, 1.4298877716064453, 1.6094640493392944, 1.9531651735305786, 1.60477876663208, 0.490176796913147]
    static let tprLabels = [0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1]
    static let hamming = 0.5208333333333334
    static let accuracyLabel = 0.4791666666666667
    static let accuracySample = 0.0
    static let sklearnAP = [0.3081709956709957, 0.5326839826839826, 0.7838945005611673, 0.765993265993266]
    static let sklearnMeanAP = 0.597685686227353
    static let attr = [0.47876984126984123, 0.2902097902097902, 0.2242063492063492, 0.7333333333333333, 0.29569892473118276, 0.22916666666666666, 0.4166666666666667, 0.22916666666666666]
    static let tprStrict = (0.2727272727272727, 0.9101, 0.0)
    static let tprLoose = (0.36363636363636365, 0.8344, 0.16666666666666666)

    private func feed(_ m: MultiLabelMetric, targets: [Float] = MultiLabelMetricTests.metricTargets) {
        m.reset()
        for (start, rows) in [(0, 5), (5, 7)] {
            m.update(logits: Tensor(shape: [rows, 4], values: Array(Self.metricLogits[start * 4..<(start + rows) * 4])),
                     targets: Tensor(shape: [rows, 4], values: Array(targets[start * 4..<(start + rows) * 4])))
        }
    }

    private func value(_ m: Metric, _ key: String) -> Double { m.values.first { $0.0 == key }?.1 ?? .nan }

    func testHammingAndAccuracyMatchScikitLearn() {
        let hamming = HammingDistance(), label = AccuracyScore(), sample = AccuracyScore(perSample: true)
        for m in [hamming, label, sample] as [MultiLabelMetric] { feed(m) }
        XCTAssertEqual(value(hamming, "HammingDistance"), Self.hamming, accuracy: 1e-12)
        XCTAssertEqual(value(label, "AccuracyScore"), Self.accuracyLabel, accuracy: 1e-12)
        XCTAssertEqual(value(sample, "AccuracyScore"), Self.accuracySample, accuracy: 1e-12)
    }

    func testMultiLabelMAPMatchesScikitLearnAveragePrecision() {
        let m = MultiLabelMAP()
        feed(m)
        for (ours, theirs) in zip(m.perClass, Self.sklearnAP) { XCTAssertEqual(ours ?? -1, theirs, accuracy: 1e-9) }
        XCTAssertEqual(value(m, "MultiLabelMAP"), Self.sklearnMeanAP, accuracy: 1e-9)
    }

    func testElevenPointMAPOnAHandRanking() {
        // One class, scores ranked positive, negative, positive: precision 1 up to recall 0.5, then 2/3 up to 1.
        let m = MultiLabelMAP(elevenPoint: true)
        m.update(logits: Tensor(shape: [3, 1], values: [3, 2, 1]), targets: Tensor(shape: [3, 1], values: [1, 0, 1]))
        let expected: Double = (6 + 5 * 2.0 / 3) / 11
        XCTAssertEqual(value(m, "MultiLabelMAP"), expected, accuracy: 1e-12)
        let integral = MultiLabelMAP()
        integral.update(logits: Tensor(shape: [3, 1], values: [3, 2, 1]), targets: Tensor(shape: [3, 1], values: [1, 0, 1]))
        XCTAssertEqual(value(integral, "MultiLabelMAP"), 0.5 + 0.5 * 2.0 / 3, accuracy: 1e-12)
    }

    func testATTRMetricMatchesPaddleClas() {
        let m = ATTRMetric()
        feed(m, targets: Self.attrTargets)
        let keys = ["ma", "label_f1", "label_pos_recall", "label_neg_recall", "instance_f1", "instance_acc",
                    "instance_prec", "instance_recall"]
        XCTAssertEqual(m.values.map(\.0), keys)
        for (k, expected) in zip(keys, Self.attr) { XCTAssertEqual(value(m, k), expected, accuracy: 1e-12, k) }
        // The unknown target counts neither as positive nor as negative.
        XCTAssertEqual(m.counts.positives(2) + m.counts.negatives(2), 11)
    }

    func testTprAtFprMatchesPaddleClas() {
        for (maxFPR, expected) in [(1.0 / 1000, Self.tprStrict), (0.2, Self.tprLoose)] {
            let m = TprAtFpr(maxFPR: maxFPR)
            m.update(logits: Tensor(shape: [40, 2], values: Self.tprLogits), labels: Self.tprLabels)
            XCTAssertEqual(value(m, "tpr"), expected.0, accuracy: 1e-12)
            XCTAssertEqual(value(m, "threshold"), expected.1, accuracy: 1e-12)
            XCTAssertEqual(value(m, "fpr"), expected.2, accuracy: 1e-12)
        }
    }

    func testPostProcesses() throws {
        let logits = Tensor(shape: [2, 2], values: [0, 2, 1, -1])  // p(class 1) = 0.881, 0.119
        let thresh = ThreshOutput(threshold: 0.5, label0: "no", label1: "yes").results(logits: logits, files: ["a", "b"])
        XCTAssertEqual(thresh[0]["class_ids"] as? [Int], [1])
        XCTAssertEqual(thresh[0]["label_names"] as? [String], ["yes"])
        XCTAssertEqual(thresh[1]["label_names"] as? [String], ["no"])
        XCTAssertEqual((thresh[1]["scores"] as? [Double])?.first ?? 0, 0.88080, accuracy: 1e-9)

        let multi = MultiLabelThreshOutput(threshold: 0.5, labelNames: [0: "cat", 2: "dog"])
            .results(logits: Tensor(shape: [1, 3], values: [1, -1, 0]), files: ["x"])
        XCTAssertEqual(multi[0]["class_ids"] as? [Int], [0, 2], "σ(0) = 0.5 counts (≥ threshold)")
        XCTAssertEqual(multi[0]["label_names"] as? [String], ["cat", "dog"])
        XCTAssertEqual(multi[0]["scores"] as? [Double], [0.73106, 0.5])
    }

    /// PaddleClas's PersonAttribute on a hand-made output: logits ±4 give σ 0.982 / 0.018.
    func testPersonVehicleAndTableAttributes() throws {
        let r = Registries.builtins(), d = ConfigDecoder()
        func build(_ yaml: String, classes: Int) throws -> PostProcessor {
            try r.postProcess.build(ConfigLoader.parse(yaml, path: "test.yaml"), context: ComponentContext(classCount: classes), path: "PostProcess", decoder: d)
        }
        var person = [Float](repeating: -4, count: 26)
        for i in [0, 3, 5, 11, 15, 20, 22, 24] { person[i] = 4 }  // hat, long sleeve, logo, trousers, handbag, 18-60, female, side
        let p = try build("{name: PersonAttribute}", classes: 26).results(logits: Tensor(shape: [1, 26], values: person), files: ["p"])
        XCTAssertEqual(p[0]["attributes"] as? [String], ["Female", "Age18-60", "Side", "Glasses: False", "Hat: True",
                                                         "HoldObjectsInFront: False", "HandBag", "Upper: LongSleeve UpperLogo",
                                                         "Lower:  Trousers", "No boots"])
        XCTAssertEqual((p[0]["output"] as? [Int])?.reduce(0, +), 8)
        XCTAssertThrowsError(try build("{name: PersonAttribute}", classes: 10))

        var vehicle = [Float](repeating: -4, count: 19)
        vehicle[4] = 4  // red
        let v = try build("{name: VehicleAttribute}", classes: 19).results(logits: Tensor(shape: [1, 19], values: vehicle), files: ["v"])
        XCTAssertTrue((v[0]["attr"] as? String)?.hasPrefix("Color: (red, prob: 0.98") ?? false, "\(v[0])")
        XCTAssertTrue((v[0]["attr"] as? String)?.hasSuffix("Type unknown") ?? false, "\(v[0])")

        let t = try build("{name: TableAttribute, angle_threshold: 0.99}", classes: 6)
            .results(logits: Tensor(shape: [1, 6], values: [4, -4, 4, 4, -4, 4]), files: ["t"])
        XCTAssertEqual(t[0]["attributes"] as? [String], ["Scanned", "Numerous", "Black-and-White", "Clear", "With-Obstacles", "Tilted"])
        XCTAssertEqual(t[0]["output"] as? [Int], [1, 0, 1, 1, 0, 0])
    }

    func testDistillationPostProcessReadsTheNamedModel() throws {
        let r = Registries.builtins()
        let post = try r.postProcess.build(
            ConfigLoader.parse("{name: DistillationPostProcess, model_name: Teacher, func: MultiLabelThreshOutput, threshold: 0.9}", path: "test.yaml"),
            context: ComponentContext(classCount: 2, modelNames: ["Student", "Teacher"]), path: "PostProcess", decoder: ConfigDecoder())
        let student = Tensor(shape: [1, 2], values: [4, 4]), teacher = Tensor(shape: [1, 2], values: [-4, 4])
        let out = post.results(ModelOutputs(logits: student, byName: ["Student": student, "Teacher": teacher]), files: ["f"])
        XCTAssertEqual(out[0]["class_ids"] as? [Int], [1])
        XCTAssertThrowsError(try r.postProcess.build(ConfigLoader.parse("{name: DistillationPostProcess, func: Topk, topkk: 1}", path: "test.yaml"),
                                                     context: ComponentContext(classCount: 2), path: "PostProcess",
                                                     decoder: ConfigDecoder())) { error in
            XCTAssertTrue("\(error)".contains("topkk"), "\(error)")
        }
    }
}
