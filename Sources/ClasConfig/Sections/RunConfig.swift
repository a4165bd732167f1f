/// A whole PaddleClas-style config, checked section by section.
///
/// Sections: `Global` and `Arch` (required), `Loss`, `Optimizer`, `DataLoader`, `Metric`, `Infer`, `EMA`, `AMP`
/// (notice when enabled), `Slim` (notice), `LRFinder` (SwiftClas). Which optional sections a mode needs is the engine's decision. Components
/// are kept as ``ComponentSpec``s for the engine's registries, which check their options.
public struct RunConfig: ConfigOptions, Sendable, Equatable {
    /// The resolved tree (after `_BASE_` and `-o`), e.g. to dump into the output folder.
    public var root: ConfigNode
    /// `Global`.
    public var global: GlobalConfig
    /// `Arch`: the model component; `Global.class_num` is moved here when `Arch.class_num` is absent.
    public var arch: ComponentSpec
    /// `Loss`.
    public var loss: PhaseComponents?
    /// `Optimizer`.
    public var optimizer: OptimizerConfig?
    /// `DataLoader`.
    public var dataLoader: DataLoaderConfig?
    /// `Metric`.
    public var metric: PhaseComponents?
    /// `Infer`.
    public var infer: InferConfig?
    /// `EMA` (present = enabled).
    public var ema: EMAConfig?
    /// `AMP`: mixed-precision (bfloat16) matrix products in training.
    public var amp: AMPConfig?
    /// `Slim` (accepted, not used).
    public var slim: SlimConfig?
    /// `LRFinder` (SwiftClas): learning-rate range test or search.
    public var lrFinder: LRFinderConfig?
    /// What loading noticed (ignored and deprecated keys), for the run's log.
    public var notices: [ConfigNotice] = []

    /// `Arch.class_num`, when set.
    public var classNum: Int? { arch.args["class_num"].flatMap { $0.scalar.flatMap { Scalars.int($0.text) } } }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case global = "Global"
        case arch = "Arch"
        case loss = "Loss"
        case optimizer = "Optimizer"
        case dataLoader = "DataLoader"
        case metric = "Metric"
        case infer = "Infer"
        case ema = "EMA"
        case amp = "AMP"
        case slim = "Slim"
        case lrFinder = "LRFinder"
    }

    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    /// PaddleClas sections SwiftClas knows but cannot run, with the reason.
    static let unsupportedSections = [
        "UnLabelLoss": "semi-supervised training is not supported",
        "MLDecoder": "the ML-Decoder head is not supported",
    ]

    /// Sections of the PaddleClas 2.0 schema, recognised to explain the error.
    static let oldSchemaSections: Set<String> = ["ARCHITECTURE", "LEARNING_RATE", "OPTIMIZER", "TRAIN", "VALID"]

    /// Loads `path` (with `_BASE_` and `overrides`) and checks every section; notices go to `decoder` and ``notices``.
    public static func load(_ path: String, overrides: [String] = [], decoder: ConfigDecoder = ConfigDecoder()) throws
        -> RunConfig
    {
        var config = try decoder.decode(RunConfig.self, from: ConfigLoader.load(path, overrides: overrides))
        config.notices = decoder.notices
        return config
    }

    /// This config with `overrides` (`-o` texts, in order) applied to its tree and every section checked again:
    /// how tools that change a setting (the LR finder, the LR search, compress) change it, so the change can be
    /// logged as the `-o` that reproduces it.
    public func overriding(_ overrides: [String]) throws -> RunConfig {
        let decoder = ConfigDecoder()
        var config = try decoder.decode(RunConfig.self, from: Overrides.apply(overrides, to: root))
        config.notices = decoder.notices
        return config
    }

    public init(from decoder: Decoder) throws {
        root = decoder.configNode ?? .mapping([])
        try Self.checkSectionNames(root)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        global = try c.decode(GlobalConfig.self, forKey: .global)
        arch = try c.decode(ComponentSpec.self, forKey: .arch)
        loss = try c.decodeIfPresent(PhaseComponents.self, forKey: .loss)
        optimizer = try c.decodeIfPresent(OptimizerConfig.self, forKey: .optimizer)
        dataLoader = try c.decodeIfPresent(DataLoaderConfig.self, forKey: .dataLoader)
        metric = try c.decodeIfPresent(PhaseComponents.self, forKey: .metric)
        infer = try c.decodeIfPresent(InferConfig.self, forKey: .infer)
        ema = try c.decodeIfPresent(EMAConfig.self, forKey: .ema)
        amp = try c.decodeIfPresent(AMPConfig.self, forKey: .amp)
        slim = c.contains(.slim) ? try c.decode(SlimConfig.self, forKey: .slim) : nil
        lrFinder = try c.decodeIfPresent(LRFinderConfig.self, forKey: .lrFinder)
        moveDeprecatedClassNum(decoder)
    }

    /// Unknown sections, all named at once, with a suggestion or an explanation.
    private static func checkSectionNames(_ root: ConfigNode) throws {
        let unknown = (root.entries ?? []).filter { !knownKeys.contains($0.key) }
        guard let first = unknown.first else { return }
        let names = unknown.map { "'\($0.key)'" }.joined(separator: ", ")
        if unknown.contains(where: { oldSchemaSections.contains($0.key) }) {
            throw ConfigError(
                "unknown top-level sections \(names): this is the obsolete PaddleClas 2.0 config schema, "
                    + "which is not supported; current configs have the sections "
                    + knownKeys.prefix(7).joined(separator: ", "), at: first.keyLocation)
        }
        if let reason = unsupportedSections[first.key] {
            throw ConfigError("section '\(first.key)' is not supported: \(reason)", at: first.keyLocation)
        }
        let noun = unknown.count == 1 ? "section" : "sections"
        var hint = " Known sections: " + knownKeys.joined(separator: ", ") + "."
        if unknown.count == 1 {
            // `-o pretrained_model=…` without `Global.` is a classic PaddleClas mistake (PaddleClas#1231).
            let globalKeys = GlobalConfig.knownKeys + GlobalConfig.ignoredKeys.keys
            hint =
                globalKeys.contains(first.key)
                ? " Did you mean 'Global.\(first.key)'?"
                : Suggest.didYouMean(first.key, in: knownKeys)
        }
        throw ConfigError("unknown \(noun) \(names).\(hint)", at: first.keyLocation)
    }

    /// PaddleClas copies a deprecated `Global.class_num` to `Arch.class_num` when the latter is absent.
    private mutating func moveDeprecatedClassNum(_ decoder: Decoder) {
        guard let entry = root["Global"]?.entry("class_num"), !entry.value.isNull else { return }
        if arch.args["class_num"] == nil {
            arch = arch.settingArg("class_num", to: entry.value, keyLocation: entry.keyLocation)
            decoder.configNotice(
                "Global.class_num is deprecated; it was moved to Arch.class_num", at: entry.keyLocation)
        } else {
            decoder.configNotice(
                "Global.class_num is deprecated and ignored: Arch.class_num is set", at: entry.keyLocation)
        }
    }
}
