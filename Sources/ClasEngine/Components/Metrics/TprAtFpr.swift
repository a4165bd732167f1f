import ClasConfig
import ClasTensor

/// PaddleClas's `TprAtFpr` for binary tasks (PULC `person_exists`, `car_exists`, …): the score is the softmax
/// probability of class 1, label 0 is negative and any other label positive. Over the thresholds t = i/10000,
/// i = 0 … 9999, it finds the highest true-positive rate (score > t) whose false-positive rate is at most `max_fpr`
/// (default 1/1000); the first threshold reaching it wins.
///
/// Values: `tpr` (drives the best model), `threshold`, `fpr`. Without negatives every threshold qualifies
/// (PaddleClas warns); without positives `tpr` is 0.
public final class TprAtFpr: Metric {
    public let maxFPR: Double
    private var positives: [Float] = [], negatives: [Float] = []

    public init(maxFPR: Double = 1.0 / 1000) { self.maxFPR = maxFPR }

    public func reset() { (positives, negatives) = ([], []) }

    public func update(logits: Tensor, labels: [Int]) {
        let probs = GradMode.withoutGrad { logits.softmax() }
        let classes = probs.shape[probs.rank - 1]
        precondition(classes >= 2, "TprAtFpr needs two classes")
        for (r, label) in labels.enumerated() {
            let score = probs.data[r * classes + 1]
            if label == 0 { negatives.append(score) } else { positives.append(score) }
        }
    }

    /// The best (tpr, threshold, fpr).
    public var best: (tpr: Double, threshold: Double, fpr: Double) {
        var result = (tpr: 0.0, threshold: 0.0, fpr: 0.0)
        guard !positives.isEmpty else { return result }
        let pos = positives.map(Double.init).sorted(), neg = negatives.map(Double.init).sorted()
        for i in 0..<10000 {
            let t = Double(i) / 10000
            let tpr = Double(Self.countAbove(t, pos)) / Double(pos.count)
            let fpr = neg.isEmpty ? 0 : Double(Self.countAbove(t, neg)) / Double(neg.count)
            if fpr <= maxFPR && tpr > result.tpr { result = (tpr, t, fpr) }
        }
        return result
    }

    public var values: [(String, Double)] {
        let b = best
        return [("tpr", b.tpr), ("threshold", b.threshold), ("fpr", b.fpr)]
    }

    /// How many of the ascending `sorted` values exceed `t`.
    private static func countAbove(_ t: Double, _ sorted: [Double]) -> Int {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] > t { hi = mid } else { lo = mid + 1 }
        }
        return sorted.count - lo
    }

    struct Options: ConfigOptions {
        var maxFPR: Double
        enum CodingKeys: String, CodingKey, CaseIterable { case maxFPR = "max_fpr" }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            maxFPR = try c.decode(.maxFPR, default: 1.0 / 1000)
            try decoder.configCheck(maxFPR >= 0 && maxFPR <= 1, CodingKeys.maxFPR, "must be in [0, 1], got \(maxFPR)")
        }
    }
}
