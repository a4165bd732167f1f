import ClasConfig
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

/// A metric of multi-label or attribute tasks: it reads the per-class targets of ``MultiLabelDataset`` data.
public protocol MultiLabelMetric: Metric {
    /// Adds a batch of logits [N, classes] with their targets [N, classes] (1, 0, or -1 for unknown).
    func update(logits: Tensor, targets: Tensor)
}

extension MultiLabelMetric {
    /// Multi-label metrics need target vectors; the engine refuses them on single-label data before this is reached.
    public func update(logits: Tensor, labels: [Int]) {
        preconditionFailure("\(type(of: self)) needs multi-label targets (MultiLabelDataset)")
    }
}

extension Metric {
    /// Adds a batch: multi-label metrics take the target vectors, the others the labels (see
    /// ``update(_:labels:)``).
    public func update(_ outputs: ModelOutputs, targets: Targets) {
        if let multi = self as? MultiLabelMetric, let multiHot = targets.multiHot {
            multi.update(logits: outputs.logits, targets: multiHot)
        } else {
            update(outputs, labels: targets.labels)
        }
    }
}

/// Builds the `Metric.Train` / `Metric.Eval` lists.
enum Metrics {
    /// The configured metrics; on multi-label data every one must be a ``MultiLabelMetric``.
    static func build(_ specs: [ComponentSpec], _ r: Registries, _ ctx: ComponentContext, _ d: ConfigDecoder) throws -> [Metric] {
        try specs.map { spec in
            let metric = try r.metric.build(spec, context: ctx, decoder: d)
            if ctx.multiLabel?.isMultiLabel == true, !(metric is MultiLabelMetric) {
                throw ConfigError("\(spec.path) \(spec.name) needs one integer label per image, but the data is multi-label "
                                  + "(MultiLabelDataset): use MultiLabelMAP, ATTRMetric, AccuracyScore or HammingDistance",
                                  at: spec.nameLocation)
            }
            return metric
        }
    }

    /// Without `Metric.Eval`: TopkAcc (top-1 and top-5), or MultiLabelMAP on multi-label data.
    static func defaultEval(_ ctx: ComponentContext) -> [Metric] {
        ctx.multiLabel?.isMultiLabel == true ? [MultiLabelMAP()] : [TopkAccuracy(topk: [1, min(5, ctx.classCount)])]
    }
}
