import ClasConfig
import ClasTensor

/// The outputs of a forward pass: the logits used for metrics and inference, and every named output of
/// multi-model architectures (distillation: `Teacher`, `Student`, …).
public struct ModelOutputs {
    /// The primary logits [N, classes].
    public var logits: Tensor
    /// All outputs by model name (contains only `logits` under "" for single models).
    public var byName: [String: Tensor]

    public init(logits: Tensor, byName: [String: Tensor] = [:]) {
        self.logits = logits
        self.byName = byName.isEmpty ? ["": logits] : byName
    }

    /// The output of a named sub-model (or the primary logits for "").
    public func output(_ name: String) -> Tensor? { name.isEmpty ? logits : byName[name] }
}

/// What the losses compare against.
public struct Targets {
    /// Integer labels (for mixed batches: the label of the dominant image).
    public var labels: [Int]
    /// Soft targets [N, classes] from batch ops such as Mixup/Cutmix, or nil.
    public var soft: Tensor?

    public init(labels: [Int], soft: Tensor? = nil) {
        self.labels = labels
        self.soft = soft
    }
}

/// A training or evaluation loss (PaddleClas's `Loss.Train` / `Loss.Eval` entries).
public protocol LossFunction {
    /// Named loss terms for a batch (e.g. `[("CELoss", …)]`); the engine multiplies them by the entry's `weight`
    /// and sums them into `loss`.
    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)]
}

/// Cross-entropy with optional label smoothing (PaddleClas's `CELoss`): with `epsilon` in (0, 1) the target is
/// (1 − ε)·target + ε/classes; soft targets (mixup) are used as given.
public struct CrossEntropyLoss: LossFunction {
    public var epsilon: Float
    /// The log key (`CELoss`; `MixCELoss` for the mixup form).
    public var key: String

    public init(epsilon: Float = 0, key: String = "CELoss") {
        self.epsilon = epsilon
        self.key = key
    }

    public func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        [(key, Self.loss(outputs.logits, targets, epsilon: epsilon))]
    }

    /// Mean cross-entropy of `logits` against targets, with smoothing.
    public static func loss(_ logits: Tensor, _ targets: Targets, epsilon: Float) -> Tensor {
        guard let soft = targets.soft else {
            return Tensor.crossEntropy(logits, labels: targets.labels, labelSmoothing: epsilon)
        }
        let classes = Float(logits.shape[1])
        let target = epsilon > 0 ? soft.affine(1 - epsilon, epsilon / classes) : soft
        return Tensor.softCrossEntropy(logits, target: target.detached())
    }

    struct Options: ConfigOptions {
        var epsilon: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case epsilon, reduction }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon)
            let reduction = try c.decode(.reduction, default: "mean")
            try decoder.configCheck(reduction == "mean", CodingKeys.reduction, "only 'mean' is supported, got '\(reduction)'")
            if let e = epsilon {
                try decoder.configCheck(e >= 0 && e < 1, CodingKeys.epsilon, "must be in [0, 1), got \(e)")
            }
        }
    }
}

extension Registries {
    static func registerLosses(into r: inout Registries) {
        r.loss.register("CELoss", summary: "cross-entropy with label smoothing `epsilon`",
                        options: CrossEntropyLoss.Options.self) { o, _ in
            CrossEntropyLoss(epsilon: Float(o.epsilon ?? 0))
        }
        r.loss.register("MixCELoss", summary: "cross-entropy against Mixup/Cutmix soft targets (labels when unmixed)",
                        options: CrossEntropyLoss.Options.self) { o, _ in
            CrossEntropyLoss(epsilon: Float(o.epsilon ?? 0), key: "MixCELoss")
        }
        r.loss.register("AMSoftmaxLoss", aliases: ["CosFaceLoss"], summary: "additive-margin softmax (margin m) on an AMSoftmax head",
                        options: AMSoftmaxLoss.Options.self) { try AMSoftmaxLoss.make($0, $1) }
        registerDistillationLosses(into: &r)
    }
}
