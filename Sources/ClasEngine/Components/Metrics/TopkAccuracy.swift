import ClasConfig
import ClasTensor

/// Top-k accuracy (PaddleClas's `TopkAcc`): the fraction of samples whose label is among the k highest logits.
public final class TopkAccuracy: Metric {
    public let topk: [Int]
    private var hits: [Int]
    private var total = 0

    public init(topk: [Int] = [1, 5]) {
        precondition(!topk.isEmpty && topk.allSatisfy { $0 >= 1 }, "topk must be positive integers")
        self.topk = topk
        hits = [Int](repeating: 0, count: topk.count)
    }

    public func reset() {
        hits = [Int](repeating: 0, count: topk.count)
        total = 0
    }

    public func update(logits: Tensor, labels: [Int]) {
        let classes = logits.shape[logits.rank - 1], rows = logits.count / classes
        precondition(rows == labels.count, "TopkAcc: \(rows) rows for \(labels.count) labels")
        for r in 0..<rows {
            let row = logits.data + r * classes
            let target = row[labels[r]]
            // Rank = number of classes scoring strictly higher (ties resolved in the sample's favour, as topk).
            var higher = 0
            for c in 0..<classes where row[c] > target { higher += 1 }
            for (i, k) in topk.enumerated() where higher < k { hits[i] += 1 }
        }
        total += rows
    }

    public var values: [(String, Double)] {
        topk.enumerated().map { ("top\($0.element)", total > 0 ? Double(hits[$0.offset]) / Double(total) : 0) }
    }
}

extension TopkAccuracy: ReducibleMetric {
    /// Hits per k, then the sample count.
    public var partialSums: [Double] { hits.map(Double.init) + [Double(total)] }

    public func setPartialSums(_ sums: [Double]) {
        precondition(sums.count == topk.count + 1, "TopkAcc: \(topk.count + 1) sums expected, got \(sums.count)")
        hits = sums.dropLast().map { Int($0) }
        total = Int(sums[topk.count])
    }
}

struct TopkAccOptions: ConfigOptions {
    var topk: [Int]
    enum CodingKeys: String, CodingKey, CaseIterable { case topk }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        topk = try c.decode(.topk, default: [1, 5])
        try decoder.configCheck(!topk.isEmpty && topk.allSatisfy { $0 >= 1 }, CodingKeys.topk,
                                "expects positive integers, got \(topk)")
    }
}

extension TopkAccuracy {
    /// `TopkAcc` (k larger than the class count are dropped).
    static func register(into r: inout Registries) {
        r.metric.register("TopkAcc", summary: "top-k accuracy (topk: [1, 5])", options: TopkAccOptions.self) { o, ctx in
            TopkAccuracy(topk: o.topk.filter { $0 <= max(ctx.classCount, 1) })
        }
    }
}
