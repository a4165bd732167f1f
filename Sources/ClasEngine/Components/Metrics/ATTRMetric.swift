import ClasConfig
import ClasTensor

/// Per-class counts of thresholded multi-label predictions against targets; targets of -1 (unknown) count nowhere.
public struct AttributeCounts: Equatable, Sendable {
    public private(set) var truePositive: [Int], trueNegative: [Int], falsePositive: [Int], falseNegative: [Int]

    public init(classCount: Int) {
        truePositive = Array(repeating: 0, count: classCount)
        (trueNegative, falsePositive, falseNegative) = (truePositive, truePositive, truePositive)
    }

    public var classCount: Int { truePositive.count }

    public mutating func add(predicted: Bool, target: Float, class c: Int) {
        if target == 1 {
            if predicted { truePositive[c] += 1 } else { falseNegative[c] += 1 }
        } else if target == 0 {
            if predicted { falsePositive[c] += 1 } else { trueNegative[c] += 1 }
        }
    }

    /// Positives (TP + FN) and negatives (TN + FP) of class `c`.
    public func positives(_ c: Int) -> Int { truePositive[c] + falseNegative[c] }
    public func negatives(_ c: Int) -> Int { trueNegative[c] + falsePositive[c] }
    /// TP / (TP + FP), 0 when nothing is predicted positive.
    public func precision(_ c: Int) -> Double { ratio(truePositive[c], truePositive[c] + falsePositive[c]) }
    /// TP / (TP + FN): the positive recall.
    public func recall(_ c: Int) -> Double { ratio(truePositive[c], positives(c)) }
    /// TN / (TN + FP): the negative recall.
    public func negativeRecall(_ c: Int) -> Double { ratio(trueNegative[c], negatives(c)) }
    /// (TP + TN) / (every known target of the class).
    public func accuracy(_ c: Int) -> Double { ratio(truePositive[c] + trueNegative[c], positives(c) + negatives(c)) }
    public func f1(_ c: Int) -> Double {
        let p = precision(c), r = recall(c)
        return p + r > 0 ? 2 * p * r / (p + r) : 0
    }
    /// (positive recall + negative recall) / 2: the class's mean accuracy in pedestrian-attribute papers.
    public func meanAccuracy(_ c: Int) -> Double { (recall(c) + negativeRecall(c)) / 2 }

    private func ratio(_ a: Int, _ b: Int) -> Double { b > 0 ? Double(a) / Double(b) : 0 }
}

/// PaddleClas's `ATTRMetric` (pedestrian-attribute metrics of Jia et al., "Rethinking of pedestrian attribute
/// recognition"): an attribute is predicted when its output exceeds `threshold`. As in PaddleClas the threshold
/// applies to the raw output (logit > 0.5, i.e. σ > 0.62), not to a probability.
///
/// Values: `ma` (mean over attributes of (positive recall + negative recall)/2; drives the best model),
/// `label_f1`, `label_pos_recall`, `label_neg_recall`, and the per-image `instance_acc` (|pred ∩ true| / |pred ∪ true|),
/// `instance_prec`, `instance_recall`, `instance_f1`, with PaddleClas's ε = 1e-20 in every ratio.
public final class ATTRMetric: MultiLabelMetric {
    public let threshold: Float
    public private(set) var counts = AttributeCounts(classCount: 0)
    /// Per image: true positives, predicted positives, intersection, union.
    private var instances: [(truth: Int, predicted: Int, intersection: Int, union: Int)] = []

    public init(threshold: Float = 0.5) { self.threshold = threshold }

    public func reset() {
        counts = AttributeCounts(classCount: 0)
        instances = []
    }

    public func update(logits: Tensor, targets: Tensor) {
        let classes = logits.shape[logits.rank - 1], rows = logits.count / max(classes, 1)
        if counts.classCount != classes { counts = AttributeCounts(classCount: classes) }
        for r in 0..<rows {
            var truth = 0, predicted = 0, intersection = 0, union = 0
            for c in 0..<classes {
                let t = targets.data[r * classes + c]
                // An unknown target (-1) makes the prediction unknown too.
                let p = t != -1 && logits.data[r * classes + c] > threshold
                counts.add(predicted: p, target: t, class: c)
                if t == 1 { truth += 1 }
                if p { predicted += 1 }
                if t == 1 && p { intersection += 1 }
                if t == 1 || p { union += 1 }
            }
            instances.append((truth, predicted, intersection, union))
        }
    }

    public var values: [(String, Double)] {
        let eps = 1e-20, k = counts.classCount
        guard k > 0 else { return [("ma", 0)] }
        func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
        let pos = (0..<k).map { Double(counts.truePositive[$0]) / (Double(counts.positives($0)) + eps) }
        let neg = (0..<k).map { Double(counts.trueNegative[$0]) / (Double(counts.negatives($0)) + eps) }
        let prec = (0..<k).map { Double(counts.truePositive[$0]) / (Double(counts.truePositive[$0] + counts.falsePositive[$0]) + eps) }
        let labelF1 = mean((0..<k).map { 2 * prec[$0] * pos[$0] / (prec[$0] + pos[$0] + eps) })
        let acc = mean(instances.map { Double($0.intersection) / (Double($0.union) + eps) })
        let ip = mean(instances.map { Double($0.intersection) / (Double($0.predicted) + eps) })
        let ir = mean(instances.map { Double($0.intersection) / (Double($0.truth) + eps) })
        // PaddleClas's instance F1 is taken from the mean precision and recall.
        let iF1 = 2 * ip * ir / (ip + ir + eps)
        return [("ma", mean((0..<k).map { (pos[$0] + neg[$0]) / 2 })), ("label_f1", labelF1),
                ("label_pos_recall", mean(pos)), ("label_neg_recall", mean(neg)), ("instance_f1", iF1),
                ("instance_acc", acc), ("instance_prec", ip), ("instance_recall", ir)]
    }

    struct Options: ConfigOptions {
        var threshold: Float
        enum CodingKeys: String, CodingKey, CaseIterable { case threshold }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            threshold = Float(try c.decode(.threshold, default: 0.5))
        }
    }
}
