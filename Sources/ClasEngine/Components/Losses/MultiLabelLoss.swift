import ClasConfig
import Foundation
import ClasTensor

/// PaddleClas's `MultiLabelLoss`: binary cross-entropy of each class's logit against its target (multi-label and
/// attribute tasks, with ``MultiLabelDataset``).
///
/// * `epsilon` in (0, 1) smooths the targets to (1 − ε)·y + ε/classes (other values: no smoothing).
/// * `weight_ratio` weights each term by exp((1 − r)) for a positive and exp(r) for a negative, r the class's share
///   of positives (the dataset's `label_ratio: True`), so rare positives count more; terms with target −1 (unknown)
///   get weight 0.
/// * `size_sum` sums over the classes and averages over the images; otherwise the mean over all terms.
///
/// ```yaml
/// Loss:
///   Train:
///     - MultiLabelLoss: {weight: 1.0, weight_ratio: True, size_sum: True}
/// ```
public struct MultiLabelLoss: MultiLabelLossFunction {
    public var epsilon: Float?
    public var weightRatio: Bool
    public var sizeSum: Bool
    public var key = "MultiLabelLoss"

    public init(epsilon: Float? = nil, weightRatio: Bool = false, sizeSum: Bool = false) {
        self.epsilon = epsilon.flatMap { $0 > 0 && $0 < 1 ? $0 : nil }
        self.weightRatio = weightRatio
        self.sizeSum = sizeSum
    }

    public func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        [(key, loss(outputs.logits, targets))]
    }

    /// The loss of `logits` [N, classes] against `targets.multiHot`.
    public func loss(_ logits: Tensor, _ targets: Targets) -> Tensor {
        guard let raw = targets.multiHot else {
            preconditionFailure("MultiLabelLoss needs multi-label targets (MultiLabelDataset)")
        }
        precondition(raw.shape == logits.shape, "MultiLabelLoss: logits \(logits.shape), targets \(raw.shape)")
        let classes = logits.shape[1]
        let target = epsilon.map { e in raw.detached().affine(1 - e, e / Float(classes)) } ?? raw.detached()
        var cost = Tensor.binaryCrossEntropyWithLogits(logits, target: target)
        if weightRatio {
            guard let ratio = targets.labelRatio, ratio.count == classes else {
                preconditionFailure("MultiLabelLoss weight_ratio needs the dataset's label_ratio")
            }
            cost = cost * Self.ratioWeights(target, ratio: ratio)
        }
        return sizeSum ? cost.sum() * (1 / Float(logits.shape[0])) : cost.mean()
    }

    /// PaddleClas's `ratio2weight` with its mask of unknowns: exp(1 − r) for a positive (target > 0.5), exp(r) for a
    /// negative, 0 for an unknown (target ≤ −1), r the class's share of positives.
    static func ratioWeights(_ target: Tensor, ratio: [Float]) -> Tensor {
        let classes = target.shape[1]
        let w = Tensor(uninitializedShape: target.shape)
        for i in 0..<target.count {
            let r = ratio[i % classes], t = target.data[i]
            let positive: Float = t > 0.5 ? 1 : 0
            // PaddleClas masks with the (smoothed) target: an unknown -1 gets weight 0 unless smoothing lifted it.
            w.data[i] = t > -1 ? Float(Foundation.exp(Double(positive * (1 - r) + (1 - positive) * r))) : 0
        }
        return w
    }

    struct Options: ConfigOptions {
        var epsilon: Double?, sizeSum: Bool, weightRatio: Bool
        enum CodingKeys: String, CodingKey, CaseIterable { case epsilon, sizeSum = "size_sum", weightRatio = "weight_ratio" }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon)
            sizeSum = try c.decode(.sizeSum, default: false)
            weightRatio = try c.decode(.weightRatio, default: false)
        }
    }

    /// `MultiLabelLoss`.
    static func register(into r: inout Registries) {
        r.loss.register("MultiLabelLoss", summary: "per-class binary cross-entropy (epsilon, weight_ratio, size_sum)",
                        options: Options.self) { o, ctx in
            try ctx.requireMultiLabel("MultiLabelLoss", weightRatio: o.weightRatio)
            return MultiLabelLoss(epsilon: o.epsilon.map(Float.init), weightRatio: o.weightRatio, sizeSum: o.sizeSum)
        }
        r.loss.register("DistillationMultiLabelLoss", summary: "MultiLabelLoss of each named model (MultiLabelLoss_<model>)",
                        options: DistillationMultiLabelLoss.Options.self) { o, ctx in
            try ctx.requireMultiLabel("DistillationMultiLabelLoss", weightRatio: o.weightRatio)
            try ctx.requireModels(o.modelNames, key: "model_names")
            return DistillationMultiLabelLoss(modelNames: o.modelNames,
                                              loss: MultiLabelLoss(epsilon: o.epsilon.map(Float.init),
                                                                   weightRatio: o.weightRatio, sizeSum: o.sizeSum))
        }
    }
}

/// PaddleClas's `DistillationMultiLabelLoss`: ``MultiLabelLoss`` of each named model of a `DistillationModel`
/// against the targets (`MultiLabelLoss_<model>`).
public struct DistillationMultiLabelLoss: MultiLabelLossFunction {
    public var modelNames: [String]
    public var loss: MultiLabelLoss

    public init(modelNames: [String], loss: MultiLabelLoss) {
        self.modelNames = modelNames
        self.loss = loss
    }

    public func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        modelNames.map { ("\(loss.key)_\($0)", loss.loss(outputs.required($0), targets)) }
    }

    struct Options: ConfigOptions {
        var modelNames: [String], epsilon: Double?, sizeSum: Bool, weightRatio: Bool
        enum CodingKeys: String, CodingKey, CaseIterable {
            case modelNames = "model_names", epsilon, sizeSum = "size_sum", weightRatio = "weight_ratio", key, name
        }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            modelNames = try c.decode([String].self, forKey: .modelNames)
            try decoder.configCheck(!modelNames.isEmpty, CodingKeys.modelNames, "needs at least one model name")
            epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon)
            sizeSum = try c.decode(.sizeSum, default: false)
            weightRatio = try c.decode(.weightRatio, default: false)
            if let k = try c.decodeIfPresent(String.self, forKey: .key) {
                try decoder.configCheck(k == "logits", CodingKeys.key, "selects a dict output; SwiftClas models output logits only")
            }
            _ = try c.decodeIfPresent(String.self, forKey: .name)
        }
    }
}

extension ComponentContext {
    /// Refuses a multi-label component on single-label data, and `weight_ratio` without the dataset's `label_ratio`.
    func requireMultiLabel(_ component: String, weightRatio: Bool = false) throws {
        guard let multi = multiLabel else { return }
        guard multi.isMultiLabel else {
            throw EngineError("\(component) needs multi-label data: DataLoader datasets of type MultiLabelDataset "
                              + "(lines '<path>\\t0,1,0,…')")
        }
        if weightRatio && !multi.hasLabelRatio {
            throw EngineError("\(component) weight_ratio: True needs the dataset's label_ratio: True (MultiLabelDataset)")
        }
    }
}
