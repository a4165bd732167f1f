import ClasConfig
import ClasTensor

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

    /// `CELoss`, and `MixCELoss` (the same loss under Mixup/Cutmix's log key).
    static func register(into r: inout Registries) {
        r.loss.register("CELoss", summary: "cross-entropy with label smoothing `epsilon`", options: Options.self) { o, _ in
            CrossEntropyLoss(epsilon: Float(o.epsilon ?? 0))
        }
        r.loss.register("MixCELoss", summary: "cross-entropy against Mixup/Cutmix soft targets (labels when unmixed)",
                        options: Options.self) { o, _ in
            CrossEntropyLoss(epsilon: Float(o.epsilon ?? 0), key: "MixCELoss")
        }
    }
}
