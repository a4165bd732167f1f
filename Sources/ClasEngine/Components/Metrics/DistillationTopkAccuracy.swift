import ClasConfig
import ClasTensor

/// A metric that reads a chosen output of a multi-output model instead of its primary logits.
public protocol OutputSelectingMetric: Metric {
    /// Adds a batch from a forward pass's outputs.
    func update(outputs: ModelOutputs, labels: [Int])
}

extension Metric {
    /// Adds a batch: metrics that choose an output pick it, the others take the primary logits.
    public func update(_ outputs: ModelOutputs, labels: [Int]) {
        if let selecting = self as? OutputSelectingMetric {
            selecting.update(outputs: outputs, labels: labels)
        } else {
            update(logits: outputs.logits, labels: labels)
        }
    }
}

/// PaddleClas's `DistillationTopkAcc`: top-k accuracy of one model of a `DistillationModel` (`model_key`); on a
/// single model, of its logits (as PaddleClas does for a plain tensor output).
///
/// ```yaml
/// Metric:
///   Eval:
///     - DistillationTopkAcc: {model_key: Student, topk: [1, 5]}
/// ```
public final class DistillationTopkAccuracy: OutputSelectingMetric {
    public let modelKey: String?
    private let accuracy: TopkAccuracy

    public init(modelKey: String?, topk: [Int]) {
        self.modelKey = modelKey
        accuracy = TopkAccuracy(topk: topk)
    }

    public func reset() { accuracy.reset() }
    public func update(logits: Tensor, labels: [Int]) { accuracy.update(logits: logits, labels: labels) }
    public func update(outputs: ModelOutputs, labels: [Int]) {
        accuracy.update(logits: modelKey.flatMap { outputs.output($0) } ?? outputs.logits, labels: labels)
    }
    public var values: [(String, Double)] { accuracy.values }

    struct Options: ConfigOptions {
        var modelKey: String?, topk: [Int]
        enum CodingKeys: String, CodingKey, CaseIterable { case modelKey = "model_key", featureKey = "feature_key", topk }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            modelKey = try c.decodeIfPresent(String.self, forKey: .modelKey)
            topk = try c.decode(.topk, default: [1, 5])
            try decoder.configCheck(!topk.isEmpty && topk.allSatisfy { $0 >= 1 }, CodingKeys.topk,
                                    "expects positive integers, got \(topk)")
            if let key = try c.decodeIfPresent(String.self, forKey: .featureKey) {
                try decoder.configCheck(key == "logits", CodingKeys.featureKey,
                                        "selects a dict output; SwiftClas models output logits only")
            }
        }
    }

    static func make(_ o: Options, _ ctx: ComponentContext) throws -> DistillationTopkAccuracy {
        if let key = o.modelKey, !ctx.modelNames.isEmpty { try ctx.requireModels([key], key: "model_key") }
        return DistillationTopkAccuracy(modelKey: ctx.modelNames.isEmpty ? nil : o.modelKey,
                                        topk: o.topk.filter { $0 <= max(ctx.classCount, 1) })
    }
}

extension DistillationTopkAccuracy {
    /// `DistillationTopkAcc`.
    static func register(into r: inout Registries) {
        r.metric.register("DistillationTopkAcc", summary: "top-k accuracy of one model of a DistillationModel (model_key)",
                          options: Options.self) { try make($0, $1) }
    }
}
