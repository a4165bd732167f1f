/// The `Optimizer` section: `{name, lr, regularizer?, clip_norm?, <optimizer options>}`.
///
/// The optimizer's own options (`momentum`, `beta1`, …) stay in ``spec``'s args for the engine's registry; `lr`,
/// `regularizer` and `clip_norm` are taken out and given separately.
public struct OptimizerConfig: ConfigOptions, Sendable, Equatable {
    /// The learning rate: a constant, or a scheduler component.
    public enum LearningRate: Sendable, Equatable {
        /// `lr: 0.1` or `lr: {learning_rate: 0.1}` (PaddleClas: an `lr` map without `name`).
        case constant(Double, ConfigNode)
        /// `lr: {name: Cosine, learning_rate: 0.1, …}` (or `lr: {Cosine: {…}}`).
        case schedule(ComponentSpec)
    }

    /// The optimizer component (`Momentum`, `AdamW`, …) with its options, minus `lr`, `regularizer`, `clip_norm`.
    public var spec: ComponentSpec
    /// The learning rate.
    public var lr: LearningRate
    /// `{name: L2|L1, coeff}`, or nil.
    public var regularizer: ComponentSpec?
    /// Global gradient-norm clip (> 0), or nil: `clip_norm`, or its spelling `clip_grad` (timm's `--clip-grad`,
    /// written in PaddleClas's AdamW configs for MobileNetV4 and others, where PaddleClas's AdamW receives it in
    /// `**args` and does not use it; SwiftClas clips, as the author meant).
    public var clipNorm: Double?
    /// `weight_decay_schedule: {name: Cosine|Linear, end}` (SwiftClas): anneal the weight decay to `end`, or nil.
    public var weightDecaySchedule: WeightDecayScheduleConfig?

    /// The optimizer name, e.g. `Momentum`.
    public var name: String { spec.name }
    /// The optimizer's own options.
    public var args: ConfigNode { spec.args }

    static let sectionKeys = ["lr", "regularizer", "clip_norm", "clip_grad", "weight_decay_schedule"]
    public static let knownKeys = ["name"] + sectionKeys

    public init(from decoder: Decoder) throws {
        guard let node = decoder.configNode else { throw ConfigError("Optimizer needs ConfigDecoder", at: .unknown) }
        let path = decoder.configPath
        if node.items != nil {
            throw ConfigError(
                "\(path) is a list (one optimizer per scope); SwiftClas supports one optimizer: "
                    + "a map with `name`, `lr`, …", at: node)
        }
        let whole = try ComponentSpec(node: node, path: path)
        spec = whole.removingArgs(Set(Self.sectionKeys))
        let args = whole.args
        guard let lrNode = args["lr"] else {
            throw ConfigError("missing required key 'lr' in \(path) (\(whole.name))", at: whole.node)
        }
        lr = try Self.learningRate(lrNode, path: "\(path).lr")
        regularizer = try args["regularizer"].flatMap {
            $0.isNull ? nil : try ComponentSpec(node: $0, path: "\(path).regularizer")
        }
        clipNorm = nil
        let clips = ["clip_norm", "clip_grad"].compactMap { key in args[key].flatMap { $0.isNullValue ? nil : (key, $0) } }
        if clips.count > 1 {
            throw ConfigError("\(path): clip_norm and clip_grad are the same setting (the global gradient-norm "
                              + "clip); give only one", at: clips[1].1)
        }
        if let (key, clip) = clips.first {
            guard let value = clip.scalar.flatMap({ Scalars.double($0.text) }), value > 0 else {
                throw ConfigError("\(path).\(key) expects a positive number, got \(clip.summary)", at: clip)
            }
            clipNorm = value
        }
        weightDecaySchedule = try args["weight_decay_schedule"].flatMap {
            $0.isNull
                ? nil
                : try ConfigDecoder().decode(
                    WeightDecayScheduleConfig.self, from: $0, path: "\(path).weight_decay_schedule")
        }
        // No keyed container is opened: the optimizer's own options are checked when the engine builds it.
    }

    /// `lr: 0.1`, `lr: {learning_rate: 0.1}`, or a scheduler component.
    static func learningRate(_ node: ConfigNode, path: String) throws -> LearningRate {
        if let scalar = node.scalar {
            guard let value = Scalars.double(scalar.text) else {
                throw ConfigError(
                    "\(path) expects a number or a scheduler (`name: Cosine`, …), got \(node.summary)", at: node)
            }
            return .constant(value, node)
        }
        if let entries = node.entries, entries.map(\.key) == ["learning_rate"], let value = entries.first?.value {
            guard let number = value.scalar.flatMap({ Scalars.double($0.text) }) else {
                throw ConfigError(
                    "\(path).learning_rate expects a number, got \(value.summary)",
                    at: value.isNull ? node.location : value.location)
            }
            return .constant(number, value)
        }
        if let entries = node.entries, entries.contains(where: { $0.key == "learning_rate" }), node["name"] == nil {
            throw ConfigError(
                "\(path) has no `name`, so it is a constant `learning_rate` and cannot have other keys; "
                    + "add `name: <Scheduler>` (e.g. Cosine) to use them", at: node)
        }
        return .schedule(try ComponentSpec(node: node, path: path))
    }
}

/// `Optimizer.weight_decay_schedule` (SwiftClas; MobileOne's regularisation annealing): the decay coefficient (the
/// regularizer's `coeff` or the optimizer's `weight_decay`) goes to `end` over training, along a `Cosine` or `Linear`
/// curve, step by step.
public struct WeightDecayScheduleConfig: ConfigOptions, Sendable, Equatable {
    /// The curve.
    public enum Name: String, CaseIterable, Decodable, Sendable { case cosine = "Cosine", linear = "Linear" }

    public var name: Name
    /// The coefficient at the end of training (≥ 0).
    public var end: Double

    enum CodingKeys: String, CodingKey, CaseIterable { case name, end }
    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(Name.self, forKey: .name)
        end = try c.decode(Double.self, forKey: .end)
        try decoder.configCheck(end >= 0 && end.isFinite, CodingKeys.end, "must be a non-negative number, got \(end)")
    }
}
