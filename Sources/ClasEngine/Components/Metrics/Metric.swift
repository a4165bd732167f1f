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
