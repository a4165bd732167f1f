import ClasConfig
import ClasNN

/// `Arch.head`: the classifier of a model registered with a ``ModelCard``.
///
/// ```yaml
/// Arch:
///   name: MobileNetV3_small_x1_0
///   head: {name: AMSoftmax, scale: 30}   # cosine classifier: logits = s·cos θ
/// Loss:
///   Train:
///     - AMSoftmaxLoss: {weight: 1.0, margin: 0.35}   # the margin lives in the loss
/// ```
/// `FC` (the default) keeps the linear classifier. The margin of AM-softmax is a training-loss setting
/// (`AMSoftmaxLoss.margin`), so evaluation, inference and export see margin-free scaled cosines.
public struct HeadOptions: ConfigOptions, Sendable, Equatable {
    /// The classifier kinds.
    public enum Kind: String, Decodable, Sendable, CaseIterable {
        /// The model's own linear classifier.
        case fc = "FC"
        /// A cosine classifier (AM-softmax / CosFace).
        case amSoftmax = "AMSoftmax"
    }

    public var kind: Kind
    /// AM-softmax scale s (30 in the paper).
    public var scale: Double

    enum CodingKeys: String, CodingKey, CaseIterable { case name, scale, margin }
    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    public init(kind: Kind = .fc, scale: Double = 30) {
        self.kind = kind
        self.scale = scale
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .name)
        scale = try c.decode(.scale, default: 30.0)
        try decoder.configCheck(scale > 0, CodingKeys.scale, "must be positive, got \(scale)")
        try decoder.configCheck(kind == .amSoftmax || !c.contains(.scale), CodingKeys.scale,
                                "applies to the AMSoftmax head only")
        try decoder.configCheck(!c.contains(.margin), CodingKeys.margin,
                                "belongs to the loss: set it on AMSoftmaxLoss (the head stays margin-free for inference)")
    }

    /// `model` with this head (a cosine classifier in place of the linear one for AMSoftmax).
    func apply(to model: Module, card: ModelCard) throws -> Module {
        guard kind == .amSoftmax else { return model }
        guard let layered = model as? Module & LayeredModel, let prefix = card.classifier.first else {
            throw ModelError.invalidOption("head AMSoftmax is not available for \(card.name)")
        }
        return try CosineHeadModel(base: layered, classifierPrefix: prefix, scale: Float(scale))
    }
}

/// A model's `Arch` options plus `head` (see ``HeadOptions``).
struct WithHead<Base: ConfigOptions>: ConfigOptions {
    var base: Base
    var head: HeadOptions

    enum CodingKeys: String, CodingKey, CaseIterable { case head }
    static var knownKeys: [String] { Base.knownKeys + ["head"] }
    static var ignoredKeys: [String: String] { Base.ignoredKeys }

    init(from decoder: Decoder) throws {
        base = try Base(from: decoder)
        head = try decoder.container(keyedBy: CodingKeys.self).decode(.head, default: HeadOptions())
    }
}
