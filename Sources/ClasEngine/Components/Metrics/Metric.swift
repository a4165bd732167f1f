import ClasTensor

/// An evaluation metric accumulated over batches (PaddleClas's `Metric.Train` / `Metric.Eval` entries).
public protocol Metric: AnyObject {
    /// Clears the accumulated state.
    func reset()
    /// Adds a batch of logits [N, classes] with their integer labels.
    func update(logits: Tensor, labels: [Int])
    /// The current values, e.g. `[("top1", 0.91), ("top5", 0.99)]`; the first drives "best model".
    var values: [(String, Double)] { get }
}

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

/// A running, sample-weighted average (PaddleClas's `AverageMeter`).
public struct AverageMeter {
    public private(set) var sum = 0.0
    public private(set) var count = 0
    public init() {}
    public mutating func add(_ value: Double, weight: Int = 1) {
        sum += value * Double(weight)
        count += weight
    }
    public var average: Double { count > 0 ? sum / Double(count) : 0 }
    public mutating func reset() { self = AverageMeter() }
}
