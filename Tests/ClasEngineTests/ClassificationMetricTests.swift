import ClasConfig
import ClasData
import ClasEngine
import ClasTensor
import Foundation
import XCTest

/// mAP, precision/recall/F1, balanced accuracy and the confusion matrix against hand-computed values and against
/// scikit-learn 1.9.1 on fixed vectors (`scripts/sklearn_metric_fixtures.py` prints them).
final class ClassificationMetricTests: XCTestCase {
    // Output of scripts/sklearn_metric_fixtures.py (scikit-learn 1.9.1). Scores are multiples of 1/32: exact in
    // Float, with ties.
    static let scores: [[Float]] = [
        [0.15625, 0.8125, 0.15625, 0.59375], [0.3125, 0.40625, 0.0625, 0.96875], [0.0, 0.125, 0.9375, 0.46875],
        [0.15625, 0.59375, 0.46875, 0.53125], [0.5625, 0.8125, 0.75, 0.75], [0.65625, 0.34375, 0.6875, 0.125],
        [0.34375, 0.75, 0.4375, 1.0], [0.65625, 0.96875, 0.03125, 0.8125], [0.5, 0.03125, 0.78125, 0.1875],
        [0.71875, 0.59375, 0.65625, 0.0], [0.125, 0.71875, 0.4375, 0.34375], [0.78125, 0.03125, 0.71875, 0.15625],
        [0.03125, 0.21875, 0.0, 0.0], [0.71875, 0.5, 0.65625, 0.625], [0.71875, 0.09375, 0.25, 0.15625],
        [0.875, 0.9375, 0.625, 0.6875], [0.75, 0.15625, 0.5, 0.25], [0.59375, 0.0, 0.3125, 0.84375],
        [0.96875, 0.40625, 0.75, 0.21875], [0.0, 0.6875, 0.1875, 0.90625], [0.125, 0.96875, 0.25, 0.28125],
        [0.78125, 0.25, 0.21875, 0.53125], [0.71875, 0.4375, 0.40625, 0.34375], [0.71875, 0.90625, 0.53125, 0.0625],
    ]
    static let labels = [0, 1, 2, 3, 2, 1, 3, 2, 2, 2, 2, 0, 3, 1, 3, 0, 0, 2, 0, 1, 0, 3, 1, 2]
    static let sklearnAP = [0.6831453634085212, 0.21754273504273502, 0.6204871894409938, 0.39075757575757575]
    static let sklearnMeanAP = 0.4779832159124564
    static let sklearnConfusion = [[3, 3, 0, 0], [2, 0, 1, 2], [1, 4, 2, 1], [2, 2, 0, 1]]
    static let sklearnPrecision = [0.375, 0.0, 0.6666666666666666, 0.25]
    static let sklearnRecall = [0.5, 0.0, 0.25, 0.2]
    static let sklearnF1 = [0.42857142857142855, 0.0, 0.36363636363636365, 0.2222222222222222]
    static let sklearnMacro = (0.32291666666666663, 0.2375, 0.2536075036075036)
    static let sklearnBalanced = 0.2375

    func testAveragePrecisionByHand() {
        // Ranking + − + −: precision 1 at recall 1/2, 2/3 at recall 1 → (1 + 2/3) / 2.
        XCTAssertEqual(AveragePrecision.binary(scores: [0.9, 0.8, 0.7, 0.6], positives: [true, false, true, false])!,
                       5.0 / 6, accuracy: 1e-12)
        // A tie forms one threshold: {+, −} at 0.5 gives P 1/2, R 1/2; then + at 0.2 gives P 2/3, R 1.
        XCTAssertEqual(AveragePrecision.binary(scores: [0.5, 0.5, 0.2], positives: [true, false, true])!,
                       0.5 * 0.5 + 0.5 * 2 / 3, accuracy: 1e-12)
        XCTAssertEqual(AveragePrecision.binary(scores: [0.1, 0.9], positives: [true, false])!, 0.5, accuracy: 1e-12)
        XCTAssertNil(AveragePrecision.binary(scores: [0.3, 0.2], positives: [false, false]), "no positive: undefined")
    }

    func testAveragePrecisionMatchesScikitLearn() {
        let (perClass, mean) = AveragePrecision.perClass(scores: Self.scores.flatMap { $0 }, labels: Self.labels, classCount: 4)
        for (ours, theirs) in zip(perClass, Self.sklearnAP) { XCTAssertEqual(ours ?? -1, theirs, accuracy: 1e-12) }
        XCTAssertEqual(mean, Self.sklearnMeanAP, accuracy: 1e-12)
    }

    func testConfusionRatesMatchScikitLearn() {
        let tally = ClassificationTally(classCount: 4, keepScores: false)
        tally.update(logits: Self.logits(Self.scores), labels: Self.labels)
        let m = tally.confusion
        XCTAssertEqual(m.rows, Self.sklearnConfusion, "arg-max takes the first of tied scores, like numpy")
        for c in 0..<4 {
            XCTAssertEqual(m.precision(c), Self.sklearnPrecision[c], accuracy: 1e-12, "precision \(c)")
            XCTAssertEqual(m.recall(c), Self.sklearnRecall[c], accuracy: 1e-12, "recall \(c)")
            XCTAssertEqual(m.f1(c), Self.sklearnF1[c], accuracy: 1e-12, "f1 \(c)")
        }
        XCTAssertEqual(m.macroPrecision, Self.sklearnMacro.0, accuracy: 1e-12)
        XCTAssertEqual(m.macroRecall, Self.sklearnMacro.1, accuracy: 1e-12)
        XCTAssertEqual(m.macroF1, Self.sklearnMacro.2, accuracy: 1e-12)
        XCTAssertEqual(m.balancedAccuracy, Self.sklearnBalanced, accuracy: 1e-12)
        XCTAssertEqual(m.accuracy, 6.0 / 24, accuracy: 1e-12)
    }

    func testAbsentClassesAreLeftOutOfTheAverages() {
        // Class 2 never occurs: labels [0, 0, 1, 1], predictions [0, 1, 1, 1].
        let m = ConfusionMatrix(rows: [[1, 1, 0], [0, 2, 0], [0, 0, 0]])
        XCTAssertEqual(m.presentClasses, [0, 1])
        XCTAssertEqual(m.precision(0), 1)
        XCTAssertEqual(m.precision(1), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.macroPrecision, (1 + 2.0 / 3) / 2, accuracy: 1e-12)
        XCTAssertEqual(m.balancedAccuracy, (0.5 + 1) / 2, accuracy: 1e-12)
        XCTAssertEqual(m.f1(2), 0)
        XCTAssertEqual(AveragePrecision.perClass(scores: [0.9, 0.1, 0, 0.8, 0.2, 0, 0.3, 0.7, 0, 0.4, 0.6, 0],
                                                 labels: [0, 0, 1, 1], classCount: 3).perClass[2], nil)
    }

    func testMeanAveragePrecisionMetricReadBetweenBatchesEqualsOnePass() {
        // Through the metric, the scores are softmax probabilities of the logits.
        let logits = Self.logits(Self.scores)
        let probs = logits.softmax().scalars
        let expected = AveragePrecision.perClass(scores: probs, labels: Self.labels, classCount: 4)
        let metric = MeanAveragePrecision(classCount: 4)
        for start in stride(from: 0, to: 24, by: 5) {
            let rows = Array(Self.scores[start..<min(start + 5, 24)])
            metric.update(logits: Self.logits(rows), labels: Array(Self.labels[start..<min(start + 5, 24)]))
            _ = metric.values  // reading merges what has arrived so far
        }
        XCTAssertEqual(metric.values.first?.0, "mAP")
        XCTAssertEqual(metric.values.first?.1 ?? -1, expected.mean, accuracy: 1e-12)
        for (a, b) in zip(metric.perClass, expected.perClass) { XCTAssertEqual(a ?? -1, b ?? -2, accuracy: 1e-12) }
        metric.reset()
        XCTAssertEqual(metric.values.first?.1, 0)
    }

    func testRegisteredMetricsInEvalReport() throws {
        let run = try TinyRun(epochs: 1, extraYAML: "", name: "metrics_report")
        var yaml = try String(contentsOfFile: run.config, encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "  Eval:\n    - TopkAcc: {topk: [1, 2]}",
                                         with: "  Eval:\n    - TopkAcc: {topk: [1, 2]}\n    - mAP:\n    - PrecisionRecallF1:\n"
                                             + "    - BalancedAccuracy:\n    - ConfusionMatrix:")
        try yaml.write(toFile: run.config, atomically: true, encoding: .utf8)
        let engine = try Engine(configPath: run.config, mode: .eval, quiet: true)
        let values = try EvaluationReport(engine: engine).run()
        XCTAssertEqual(values.map(\.0), ["CELoss", "loss", "top1", "top2", "mAP", "macro_precision", "macro_recall",
                                         "macro_f1", "balanced_acc"], "configured order, each name once")
        let metrics = try String(contentsOfFile: "\(run.modelDir)/eval/metrics.yaml", encoding: .utf8)
        for key in ["mAP: ", "balanced_acc: ", "macro_f1: ", "per_class:", "- {class: 3, name: \"class_3\"",
                    "confusion_matrix:"] {
            XCTAssertTrue(metrics.contains(key), "\(key) in\n\(metrics)")
        }
        let table = try String(contentsOfFile: "\(run.modelDir)/eval/per_class.txt", encoding: .utf8)
        XCTAssertEqual(table.split(separator: "\n").count, 1 + 4 + 1, table)
        let png = try ImageCodec.decodeFile("\(run.modelDir)/eval/confusion_matrix.png")
        XCTAssertGreaterThan(png.width, 200)

        // Metric options are checked like any component's.
        yaml = yaml.replacingOccurrences(of: "    - mAP:\n", with: "    - mAP: {topk: 5}\n")
        try yaml.write(toFile: run.config, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Engine(configPath: run.config, mode: .eval, quiet: true)) {
            XCTAssertTrue("\($0)".contains("unknown key 'topk'"), "\($0)")
        }
    }

    static func logits(_ rows: [[Float]]) -> Tensor {
        Tensor(shape: [rows.count, rows.first?.count ?? 0], values: rows.flatMap { $0 })
    }
}
