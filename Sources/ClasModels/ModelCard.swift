/// What the engine knows about a registered architecture besides how to build it (timm's `pretrained_cfg`,
/// PaddleClas's model tables): its input, its classifier, its stages and where its weights come from.
///
/// Fine-tuning (which parameters are the classifier), export (the input size), `tools summary --model` and
/// `tools benchmark --model` read the card, so a user's model registered with a card gets all of them.
public struct ModelCard: Sendable, Equatable {
    /// The canonical name, as written in `Arch.name` (PaddleClas spelling).
    public var name: String
    /// Other accepted names (timm's, e.g. `mobilenetv3_small_100`).
    public var aliases: [String]
    /// The family, for grouping in listings.
    public var family: String
    /// One line for `tools list models`.
    public var summary: String
    /// Default square input resolution (export, summary and benchmark use it when the config names none).
    public var inputSize: Int
    /// How evaluation images are resized (`bicubic`, `bilinear`), as the weights were trained.
    public var interpolation: String
    /// Evaluation centre crop: the crop is this fraction of the resized short side.
    public var cropFraction: Double
    /// Per-channel normalisation (RGB, 0…1 scale).
    public var mean: [Double]
    public var std: [Double]
    /// Name prefixes of the classifier's parameters (`classifier.`, `fc.`, `head.fc.`); everything else is backbone.
    public var classifier: [String]
    /// Channels entering the classifier (the width of a fresh classifier's input).
    public var featureChannels: Int
    /// Module-name prefixes of the stages, input to output (for per-stage settings such as freezing).
    public var stages: [String]
    /// The stages of PaddleClas's `lr_mult_list` (and `Arch.freeze_stages`) when they differ from the stem followed by
    /// `stages`: name prefixes per stage, stem first. Parameters before the first stage belong to the stem (stage 0)
    /// as well; those after the last stage and the classifier are the head. nil: `[[]] + stages.map { [$0] }`.
    public var lrMultStages: [[String]]?
    /// Whether the model fuses its training-time branches for inference (``Reparameterizable``).
    public var reparameterizes: Bool
    /// Whether the network is built for one input size, given by its `img_size` option (vision transformers: the
    /// position embedding), so tools that run it at another size build it with `img_size` set.
    public var fixedInputSize = false
    /// Where pretrained weights come from: a Hugging Face hub repo and tag in timm's form
    /// (`timm/mobilenetv3_small_100.lamb_in1k`), nil when there are none.
    public var weights: String?

    /// ImageNet's mean and standard deviation.
    public static let imageNetMean = [0.485, 0.456, 0.406]
    public static let imageNetStd = [0.229, 0.224, 0.225]

    /// - Parameters: see the properties; the defaults are timm's (`bicubic`, crop 0.875, ImageNet statistics).
    public init(name: String, aliases: [String] = [], family: String, summary: String, inputSize: Int = 224,
                interpolation: String = "bicubic", cropFraction: Double = 0.875, mean: [Double] = imageNetMean,
                std: [Double] = imageNetStd, classifier: [String], featureChannels: Int, stages: [String],
                reparameterizes: Bool = false, weights: String? = nil) {
        (self.name, self.aliases, self.family, self.summary) = (name, aliases, family, summary)
        (self.inputSize, self.interpolation, self.cropFraction, self.mean, self.std) =
            (inputSize, interpolation, cropFraction, mean, std)
        (self.classifier, self.featureChannels, self.stages) = (classifier, featureChannels, stages)
        (self.reparameterizes, self.weights) = (reparameterizes, weights)
    }

    /// The name prefixes of each `lr_mult_list` stage, stem (stage 0) first.
    public var lrMultGroups: [[String]] { lrMultStages ?? ([[]] + stages.map { [$0] }) }
}
