import ClasTensor

/// The outputs of a forward pass: the logits used for metrics and inference, and every named output of
/// multi-model architectures (distillation: `Teacher`, `Student`, …).
public struct ModelOutputs {
    /// The primary logits [N, classes].
    public var logits: Tensor
    /// All outputs by model name (contains only `logits` under "" for single models).
    public var byName: [String: Tensor]
    /// Named intermediate outputs by model name, then output name (`return_patterns`; see ``NamedOutputsModel``).
    public var features: [String: [String: Tensor]]

    public init(logits: Tensor, byName: [String: Tensor] = [:], features: [String: [String: Tensor]] = [:]) {
        self.logits = logits
        self.byName = byName.isEmpty ? ["": logits] : byName
        self.features = features
    }

    /// The output of a named sub-model (or the primary logits for "").
    public func output(_ name: String) -> Tensor? { name.isEmpty ? logits : byName[name] }

    /// Output `key` of model `name` (PaddleClas's `predicts[name][key]`): the logits for nil or `logits`, else the
    /// named intermediate output.
    public func output(_ name: String, key: String?) -> Tensor? {
        guard let key, key != "logits" else { return output(name) }
        return features[name]?[key]
    }
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
