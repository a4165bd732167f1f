import ClasConfig
import ClasTensor
import Foundation

/// σ(x) in float32, as the frameworks compute it before thresholding.
@inline(__always) func sigmoid32(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

/// PaddleClas's `HammingDistance`: the fraction of (image, class) entries whose prediction σ(x) > 0.5 differs from
/// the target (scikit-learn's `hamming_loss`); lower is better.
public final class HammingDistance: MultiLabelMetric {
    private var wrong = 0, total = 0
    public init() {}
    public func reset() { (wrong, total) = (0, 0) }
    public func update(logits: Tensor, targets: Tensor) {
        for i in 0..<logits.count where (sigmoid32(logits.data[i]) > 0.5 ? 1 : 0) != targets.data[i] { wrong += 1 }
        total += logits.count
    }
    public var values: [(String, Double)] { [("HammingDistance", total > 0 ? Double(wrong) / Double(total) : 0)] }
}

/// PaddleClas's `AccuracyScore` with predictions σ(x) > 0.5: `base: label` (default) is the fraction of correct
/// (image, class) entries, (TP + TN) / all; `base: sample` the fraction of images with every class right
/// (scikit-learn's `accuracy_score` on multi-label indicators).
public final class AccuracyScore: MultiLabelMetric {
    public let perSample: Bool
    private var correct = 0, total = 0
    public init(perSample: Bool = false) { self.perSample = perSample }
    public func reset() { (correct, total) = (0, 0) }
    public func update(logits: Tensor, targets: Tensor) {
        let classes = logits.shape[logits.rank - 1], rows = logits.count / max(classes, 1)
        for r in 0..<rows {
            var right = 0
            for k in r * classes..<(r + 1) * classes where (sigmoid32(logits.data[k]) > 0.5 ? 1 : 0) == targets.data[k] {
                right += 1
            }
            if perSample { correct += right == classes ? 1 : 0 } else { correct += right }
        }
        total += perSample ? rows : rows * classes
    }
    public var values: [(String, Double)] { [("AccuracyScore", total > 0 ? Double(correct) / Double(total) : 0)] }
}

/// PaddleClas's `MultiLabelMAP`: the mean over classes with a positive of each class's average precision of the
/// images ranked by σ(x). `integral` (default) sums precision × recall increase over the ranking, which equals
/// scikit-learn's `average_precision_score` when no scores tie; `11point` is the VOC 11-point interpolation.
public final class MultiLabelMAP: MultiLabelMetric {
    public let elevenPoint: Bool
    /// Per class: (score, positive) in arrival order.
    private var scored: [[(score: Float, positive: Bool)]] = []
    public init(elevenPoint: Bool = false) { self.elevenPoint = elevenPoint }
    public func reset() { scored = [] }

    public func update(logits: Tensor, targets: Tensor) {
        let classes = logits.shape[logits.rank - 1], rows = logits.count / max(classes, 1)
        if scored.isEmpty { scored = Array(repeating: [], count: classes) }
        for r in 0..<rows {
            for c in 0..<classes {
                scored[c].append((sigmoid32(logits.data[r * classes + c]), targets.data[r * classes + c] == 1))
            }
        }
    }

    /// Each class's average precision, nil for a class without positives.
    public var perClass: [Double?] { scored.map { averagePrecision($0) } }

    public var values: [(String, Double)] {
        let defined = perClass.compactMap { $0 }
        return [("MultiLabelMAP", defined.isEmpty ? 0 : defined.reduce(0, +) / Double(defined.count))]
    }

    private func averagePrecision(_ entries: [(score: Float, positive: Bool)]) -> Double? {
        let positives = entries.reduce(0) { $0 + ($1.positive ? 1 : 0) }
        guard positives > 0 else { return nil }
        // Decreasing score; ties keep arrival order (Python's stable sort).
        let ranked = entries.enumerated().sorted { $0.element.score != $1.element.score
            ? $0.element.score > $1.element.score : $0.offset < $1.offset }.map(\.element)
        var precision: [Double] = [], recall: [Double] = [], tp = 0
        for (i, e) in ranked.enumerated() {
            if e.positive { tp += 1 }
            precision.append(Double(tp) / Double(i + 1))
            recall.append(Double(tp) / Double(positives))
        }
        if !elevenPoint {
            var ap = 0.0, previous = 0.0
            for i in precision.indices where Swift.abs(recall[i] - previous) > 1e-6 {
                ap += precision[i] * Swift.abs(recall[i] - previous)
                previous = recall[i]
            }
            return ap
        }
        // PaddleDetection's 11-point loop: the best precision at recall ≥ j/10, j = 10 … 0.
        var best = [Double](repeating: 0, count: 11), start = precision.count - 1
        for j in stride(from: 10, through: 0, by: -1) {
            var i = start
            while i >= 0 {
                if recall[i] < Double(j) / 10 {
                    start = i
                    if j > 0 { best[j - 1] = best[j] }
                    break
                }
                if best[j] < precision[i] { best[j] = precision[i] }
                i -= 1
            }
        }
        return best.reduce(0, +) / 11
    }
}

struct BaseOptions: ConfigOptions {
    var perSample: Bool
    enum CodingKeys: String, CodingKey, CaseIterable { case base }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let base = try c.decode(.base, default: "label")
        try decoder.configCheck(base == "label" || base == "sample", CodingKeys.base, "must be 'label' or 'sample', got '\(base)'")
        perSample = base == "sample"
    }
}

struct MapTypeOptions: ConfigOptions {
    var elevenPoint: Bool
    enum CodingKeys: String, CodingKey, CaseIterable { case mapType = "map_type" }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(.mapType, default: "integral")
        try decoder.configCheck(type == "integral" || type == "11point", CodingKeys.mapType,
                                "must be 'integral' or '11point', got '\(type)'")
        elevenPoint = type == "11point"
    }
}

extension Registries {
    /// `HammingDistance`, `AccuracyScore`, `MultiLabelMAP`, `ATTRMetric` (multi-label data) and `TprAtFpr`
    /// (binary single-label data).
    static func registerMultiLabelMetrics(into r: inout Registries) {
        r.metric.register("HammingDistance", summary: "fraction of wrong (image, class) entries at σ > 0.5 (lower is better)",
                          options: NoOptions.self) { _, ctx in
            try ctx.requireMultiLabel("HammingDistance")
            return HammingDistance()
        }
        r.metric.register("AccuracyScore", summary: "multi-label accuracy at σ > 0.5 (base: label or sample)",
                          options: BaseOptions.self) { o, ctx in
            try ctx.requireMultiLabel("AccuracyScore")
            return AccuracyScore(perSample: o.perSample)
        }
        r.metric.register("MultiLabelMAP", summary: "mean over classes of the average precision of σ scores (map_type)",
                          options: MapTypeOptions.self) { o, ctx in
            try ctx.requireMultiLabel("MultiLabelMAP")
            return MultiLabelMAP(elevenPoint: o.elevenPoint)
        }
        r.metric.register("ATTRMetric", summary: "attribute metrics: ma, label_f1, instance_acc/prec/recall/f1 (threshold)",
                          options: ATTRMetric.Options.self) { o, ctx in
            try ctx.requireMultiLabel("ATTRMetric")
            return ATTRMetric(threshold: o.threshold)
        }
        r.metric.register("TprAtFpr", summary: "binary tasks: the best TPR with FPR ≤ max_fpr over thresholds of p(class 1)",
                          options: TprAtFpr.Options.self) { o, ctx in
            if ctx.multiLabel?.isMultiLabel == true {
                throw EngineError("TprAtFpr scores single-label binary data (label 0 negative, else positive), "
                                  + "not MultiLabelDataset data")
            }
            guard ctx.classCount == 2 else {
                throw EngineError("TprAtFpr needs a 2-class model (softmax score of class 1), got \(ctx.classCount) classes")
            }
            return TprAtFpr(maxFPR: o.maxFPR)
        }
    }
}
