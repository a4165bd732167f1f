import ClasConfig
import ClasTensor

/// What the classification metrics accumulate: the confusion matrix of arg-max predictions and, when
/// `keepScores`, every sample's softmax probabilities ranked per class (for average precision).
public final class ClassificationTally {
    public let classCount: Int
    public let keepScores: Bool
    public private(set) var confusion: ConfusionMatrix
    private var ranked: RankedScores
    private var cachedAP: (samples: Int, values: [Double?])?

    public init(classCount: Int, keepScores: Bool) {
        self.classCount = max(classCount, 1)
        self.keepScores = keepScores
        confusion = ConfusionMatrix(classCount: max(classCount, 1))
        ranked = RankedScores(classCount: max(classCount, 1))
    }

    public func reset() {
        confusion = ConfusionMatrix(classCount: classCount)
        ranked = RankedScores(classCount: classCount)
        cachedAP = nil
    }

    /// Each class's one-vs-rest average precision (nil for classes without samples, or without `keepScores`).
    public var averagePrecision: [Double?] {
        guard keepScores else { return Array(repeating: nil, count: classCount) }
        if let cachedAP, cachedAP.samples == ranked.sampleCount { return cachedAP.values }
        let values = ranked.averagePrecision()
        cachedAP = (ranked.sampleCount, values)
        return values
    }

    /// The mean of `averagePrecision` over the classes with samples.
    public var meanAveragePrecision: Double { AveragePrecision.mean(averagePrecision) }

    /// Adds logits [N, classCount] with their labels; the prediction is the first highest logit.
    public func update(logits: Tensor, labels batchLabels: [Int]) {
        let classes = logits.shape[logits.rank - 1], rows = logits.count / max(classes, 1)
        precondition(classes == classCount, "expected \(classCount) classes, got logits with \(classes)")
        precondition(rows == batchLabels.count, "\(rows) rows for \(batchLabels.count) labels")
        let probs = keepScores ? GradMode.withoutGrad { logits.softmax() } : nil
        for r in 0..<rows {
            let row = logits.data + r * classes
            var best = 0
            for c in 1..<max(classes, 1) where row[c] > row[best] { best = c }
            confusion.add(trueClass: batchLabels[r], predicted: best)
            if let probs { ranked.add(UnsafeBufferPointer(start: probs.data + r * classes, count: classes), label: batchLabels[r]) }
        }
    }
}

/// Mean average precision (`mAP`): the mean over classes of the average precision of each class's one-vs-rest
/// ranking of the samples by softmax probability (scikit-learn's `average_precision_score` per class, then the
/// mean over the classes present in the split). Keeps every sample's probabilities until `reset`; reading the
/// value after each batch costs time linear in the samples seen.
public final class MeanAveragePrecision: Metric {
    public let tally: ClassificationTally
    public init(classCount: Int) { tally = ClassificationTally(classCount: classCount, keepScores: true) }
    public func reset() { tally.reset() }
    public func update(logits: Tensor, labels: [Int]) { tally.update(logits: logits, labels: labels) }
    /// Each class's average precision (nil when the class has no sample).
    public var perClass: [Double?] { tally.averagePrecision }
    public var values: [(String, Double)] { [("mAP", tally.meanAveragePrecision)] }
}

/// Macro-averaged precision, recall and F1 of the arg-max predictions (`macro_precision`, `macro_recall`,
/// `macro_f1`); the per-class values are on `matrix`.
public final class PrecisionRecallF1: Metric {
    public let tally: ClassificationTally
    public init(classCount: Int) { tally = ClassificationTally(classCount: classCount, keepScores: false) }
    public func reset() { tally.reset() }
    public func update(logits: Tensor, labels: [Int]) { tally.update(logits: logits, labels: labels) }
    public var matrix: ConfusionMatrix { tally.confusion }
    public var values: [(String, Double)] {
        let m = tally.confusion
        return [("macro_precision", m.macroPrecision), ("macro_recall", m.macroRecall), ("macro_f1", m.macroF1)]
    }
}

/// Balanced accuracy (`balanced_acc`): the mean recall over the classes present in the split.
public final class BalancedAccuracy: Metric {
    public let tally: ClassificationTally
    public init(classCount: Int) { tally = ClassificationTally(classCount: classCount, keepScores: false) }
    public func reset() { tally.reset() }
    public func update(logits: Tensor, labels: [Int]) { tally.update(logits: logits, labels: labels) }
    public var values: [(String, Double)] { [("balanced_acc", tally.confusion.balancedAccuracy)] }
}

/// The confusion matrix of the arg-max predictions. It logs no value; `tools eval` writes it to `metrics.yaml` and
/// `confusion_matrix.png`, and code can read `matrix`.
public final class ConfusionMatrixMetric: Metric {
    public let tally: ClassificationTally
    public init(classCount: Int) { tally = ClassificationTally(classCount: classCount, keepScores: false) }
    public func reset() { tally.reset() }
    public func update(logits: Tensor, labels: [Int]) { tally.update(logits: logits, labels: labels) }
    public var matrix: ConfusionMatrix { tally.confusion }
    public var values: [(String, Double)] { [] }
}

/// Everything `tools eval` reports beyond the configured metrics: mAP, balanced accuracy and macro
/// precision/recall/F1 as values, plus the confusion matrix and per-class rates for the report files.
public final class ClassificationSummaryMetric: Metric {
    public let tally: ClassificationTally
    public init(classCount: Int) { tally = ClassificationTally(classCount: classCount, keepScores: true) }
    public func reset() { tally.reset() }
    public func update(logits: Tensor, labels: [Int]) { tally.update(logits: logits, labels: labels) }

    public var values: [(String, Double)] {
        let m = tally.confusion
        return [("mAP", tally.meanAveragePrecision), ("balanced_acc", m.balancedAccuracy),
                ("macro_precision", m.macroPrecision), ("macro_recall", m.macroRecall), ("macro_f1", m.macroF1)]
    }
}

extension Registries {
    /// `mAP`, `PrecisionRecallF1`, `BalancedAccuracy` and `ConfusionMatrix` (no options), usable in `Metric.Train`
    /// and `Metric.Eval`.
    static func registerClassificationMetrics(into r: inout Registries) {
        r.metric.register("mAP", aliases: ["MeanAveragePrecision"],
                          summary: "mean over classes of the one-vs-rest average precision (softmax scores)",
                          options: NoOptions.self) { _, ctx in MeanAveragePrecision(classCount: ctx.classCount) }
        r.metric.register("PrecisionRecallF1", summary: "macro-averaged precision, recall and F1 (macro_precision, …)",
                          options: NoOptions.self) { _, ctx in PrecisionRecallF1(classCount: ctx.classCount) }
        r.metric.register("BalancedAccuracy", summary: "mean per-class recall (balanced_acc)",
                          options: NoOptions.self) { _, ctx in BalancedAccuracy(classCount: ctx.classCount) }
        r.metric.register("ConfusionMatrix", summary: "confusion matrix (logs nothing; written by tools eval)",
                          options: NoOptions.self) { _, ctx in ConfusionMatrixMetric(classCount: ctx.classCount) }
    }
}
