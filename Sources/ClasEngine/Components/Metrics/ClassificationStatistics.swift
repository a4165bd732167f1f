/// Counts of (true class, predicted class) pairs, and the per-class rates derived from them.
///
/// Undefined ratios (a class never predicted, or absent from the split) are 0, as scikit-learn's
/// `zero_division=0`. Macro averages run over the classes that occur as a label or a prediction (scikit-learn's
/// default `labels`); balanced accuracy averages the recall of the classes that occur as a label.
public struct ConfusionMatrix: Equatable, Sendable {
    public let classCount: Int
    /// Row-major counts: `counts[t * classCount + p]`.
    public private(set) var counts: [Int]

    public init(classCount: Int) {
        precondition(classCount > 0, "a confusion matrix needs at least one class")
        self.classCount = classCount
        counts = [Int](repeating: 0, count: classCount * classCount)
    }

    /// A matrix from rows of counts (`rows[t][p]`).
    public init(rows: [[Int]]) {
        self.init(classCount: rows.count)
        precondition(rows.allSatisfy { $0.count == rows.count }, "confusion rows must be square")
        counts = rows.flatMap { $0 }
    }

    /// Counts one sample.
    public mutating func add(trueClass t: Int, predicted p: Int) {
        precondition(t >= 0 && t < classCount && p >= 0 && p < classCount, "class out of range: \(t), \(p)")
        counts[t * classCount + p] += 1
    }

    public subscript(trueClass: Int, predicted: Int) -> Int { counts[trueClass * classCount + predicted] }

    /// `rows[t][p]`.
    public var rows: [[Int]] { (0..<classCount).map { Array(counts[$0 * classCount..<($0 + 1) * classCount]) } }
    /// All samples.
    public var total: Int { counts.reduce(0, +) }
    /// Samples whose label is `c`.
    public func support(_ c: Int) -> Int { (0..<classCount).reduce(0) { $0 + self[c, $1] } }
    /// Samples predicted as `c`.
    public func predictedCount(_ c: Int) -> Int { (0..<classCount).reduce(0) { $0 + self[$1, c] } }

    /// True positives over predicted positives.
    public func precision(_ c: Int) -> Double { ratio(self[c, c], predictedCount(c)) }
    /// True positives over actual positives.
    public func recall(_ c: Int) -> Double { ratio(self[c, c], support(c)) }
    /// Harmonic mean of precision and recall.
    public func f1(_ c: Int) -> Double {
        let p = precision(c), r = recall(c)
        return p + r > 0 ? 2 * p * r / (p + r) : 0
    }

    /// Correct predictions over all samples.
    public var accuracy: Double { ratio((0..<classCount).reduce(0) { $0 + self[$1, $1] }, total) }

    /// Classes that occur as a label or a prediction.
    public var presentClasses: [Int] { (0..<classCount).filter { support($0) > 0 || predictedCount($0) > 0 } }

    /// Mean recall over the classes that occur as a label (scikit-learn's `balanced_accuracy_score`).
    public var balancedAccuracy: Double { mean((0..<classCount).filter { support($0) > 0 }.map(recall)) }
    public var macroPrecision: Double { mean(presentClasses.map(precision)) }
    public var macroRecall: Double { mean(presentClasses.map(recall)) }
    public var macroF1: Double { mean(presentClasses.map(f1)) }

    private func ratio(_ a: Int, _ b: Int) -> Double { b > 0 ? Double(a) / Double(b) : 0 }
    private func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
}

/// Average precision of rankings, as scikit-learn's `average_precision_score`.
public enum AveragePrecision {
    /// The average precision of one binary ranking: Σₖ (Rₖ − Rₖ₋₁)·Pₖ over the distinct scores in decreasing
    /// order (tied scores form one threshold), where Pₖ and Rₖ are the precision and recall of "score ≥ kth
    /// threshold". Nil when there is no positive.
    public static func binary(scores: [Float], positives: [Bool]) -> Double? {
        precondition(scores.count == positives.count, "\(scores.count) scores for \(positives.count) labels")
        let totalPositives = positives.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard totalPositives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        var ap = 0.0, truePositives = 0, seen = 0, previousRecall = 0.0
        var i = 0
        while i < order.count {
            let threshold = scores[order[i]]
            while i < order.count && scores[order[i]] == threshold {
                if positives[order[i]] { truePositives += 1 }
                seen += 1
                i += 1
            }
            let recall = Double(truePositives) / Double(totalPositives)
            ap += (recall - previousRecall) * Double(truePositives) / Double(seen)
            previousRecall = recall
        }
        return ap
    }

    /// Per-class one-vs-rest average precision of row-major `scores` [samples × classCount] (nil for classes with
    /// no sample), and their mean over the classes that have samples.
    public static func perClass(scores: [Float], labels: [Int], classCount: Int) -> (perClass: [Double?], mean: Double) {
        precondition(scores.count == labels.count * classCount, "scores must be samples × classes")
        let perClass: [Double?] = (0..<classCount).map { c in
            binary(scores: labels.indices.map { scores[$0 * classCount + c] }, positives: labels.map { $0 == c })
        }
        return (perClass, mean(perClass))
    }

    /// The mean of the defined values (0 when none is).
    static func mean(_ values: [Double?]) -> Double {
        let defined = values.compactMap { $0 }
        return defined.isEmpty ? 0 : defined.reduce(0, +) / Double(defined.count)
    }
}

/// Per-class rankings kept sorted as samples arrive, so average precision can be read after every batch in time
/// linear in the samples seen (new scores are sorted and merged in) instead of sorting everything again.
struct RankedScores {
    let classCount: Int
    /// Per class: (score, is this class) in decreasing score order.
    private var ranked: [[(score: Float, positive: Bool)]]
    /// Per class: scores added since the last merge.
    private var pending: [[(score: Float, positive: Bool)]]

    init(classCount: Int) {
        self.classCount = classCount
        ranked = Array(repeating: [], count: classCount)
        pending = Array(repeating: [], count: classCount)
    }

    var sampleCount: Int { (ranked.first?.count ?? 0) + (pending.first?.count ?? 0) }

    /// Adds one sample's class scores.
    mutating func add(_ scores: UnsafeBufferPointer<Float>, label: Int) {
        for c in 0..<classCount { pending[c].append((scores[c], label == c)) }
    }

    /// Per-class average precision (nil for classes without a positive sample).
    mutating func averagePrecision() -> [Double?] {
        (0..<classCount).map { c in
            if !pending[c].isEmpty {
                let new = pending[c].sorted { $0.score > $1.score }
                pending[c] = []
                ranked[c] = Self.merge(ranked[c], new)
            }
            return Self.averagePrecision(ranked[c])
        }
    }

    private static func merge(_ a: [(score: Float, positive: Bool)], _ b: [(score: Float, positive: Bool)])
        -> [(score: Float, positive: Bool)]
    {
        if a.isEmpty { return b }
        var out: [(score: Float, positive: Bool)] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i].score >= b[j].score { out.append(a[i]); i += 1 } else { out.append(b[j]); j += 1 }
        }
        out.append(contentsOf: a[i...])
        out.append(contentsOf: b[j...])
        return out
    }

    /// `AveragePrecision.binary` over an already sorted ranking.
    private static func averagePrecision(_ r: [(score: Float, positive: Bool)]) -> Double? {
        let totalPositives = r.reduce(0) { $0 + ($1.positive ? 1 : 0) }
        guard totalPositives > 0 else { return nil }
        var ap = 0.0, truePositives = 0, previousRecall = 0.0, i = 0
        while i < r.count {
            let threshold = r[i].score
            while i < r.count && r[i].score == threshold {
                if r[i].positive { truePositives += 1 }
                i += 1
            }
            let recall = Double(truePositives) / Double(totalPositives)
            ap += (recall - previousRecall) * Double(truePositives) / Double(i)
            previousRecall = recall
        }
        return ap
    }
}
