import ClasNN
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
    /// Multi-label and attribute data (``MultiLabelDataset``): the per-class targets [N, classes], 1 positive,
    /// 0 negative (-1 marks an unknown attribute); nil for single-label data.
    public var multiHot: Tensor?
    /// Each class's fraction of positives over the training list (PaddleClas's `label_ratio`), when the dataset
    /// computes it; `MultiLabelLoss`'s `weight_ratio` needs it.
    public var labelRatio: [Float]?

    public init(labels: [Int], soft: Tensor? = nil, multiHot: Tensor? = nil, labelRatio: [Float]? = nil) {
        self.labels = labels
        self.soft = soft
        self.multiHot = multiHot
        self.labelRatio = labelRatio
    }
}

/// A loss of multi-label data (``Targets/multiHot``); the engine refuses other losses on such data.
public protocol MultiLabelLossFunction: LossFunction {}

/// A training or evaluation loss (PaddleClas's `Loss.Train` / `Loss.Eval` entries).
public protocol LossFunction {
    /// Named loss terms for a batch (e.g. `[("CELoss", …)]`); the engine multiplies them by the entry's `weight`
    /// and sums them into `loss`.
    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)]
    /// Whether the loss reads ``Targets/labels`` (default true). Losses between models only say false, so they can
    /// train on unlabelled data (`CustomLabelDataset` without `label_key`), where every label is -1.
    var readsLabels: Bool { get }
    /// The loss's own trainable layers, if any (PaddleClas's MGDLoss, PEFDLoss): the trainer optimises their
    /// parameters with the model's and saves them in checkpoints under `loss.<entry index>.`.
    var trainableModule: Module? { get }
}

extension LossFunction {
    public var readsLabels: Bool { true }
    public var trainableModule: Module? { nil }
}
