import ClasConfig
import ClasNN

/// What a model factory receives besides its options.
public struct ArchContext {
    /// Number of classes: `Arch.class_num`, else the training data's class count.
    public var classCount: Int
    /// The Arch registry and the run's decoder, for models built from other models (`DistillationModel`).
    public var registry: ModelRegistry?
    public var decoder: ConfigDecoder?
    public init(classCount: Int, registry: ModelRegistry? = nil, decoder: ConfigDecoder? = nil) {
        self.classCount = classCount
        self.registry = registry
        self.decoder = decoder
    }
}

/// The `Arch` registry: model factories, each with the ``ModelCard`` the engine reads for fine-tuning, export,
/// `tools summary` and `tools benchmark`.
///
/// A family registers its variants from a table next to its code (`MobileNetV3.register(into:)`); ``builtins()``
/// calls each family once. A user's model registers the same way:
/// ```swift
/// registries.arch.register(ModelCard(name: "MyNet", family: "MyNet", summary: "my model", inputSize: 96,
///                                    classifier: ["fc."], featureChannels: 256, stages: ["stage1", "stage2"]),
///                          options: MyNet.Options.self) { MyNet(options: $0) }
/// ```
/// Factory contract: the model maps NHWC images to [N, `class_num`] logits; `class_num` is set to the run's class
/// count before the factory is called.
public struct ModelRegistry {
    /// The factories by name, as for every other config section (messages, suggestions, listings).
    public private(set) var factories = Registry<Module, ArchContext>(kind: "Arch", listCommand: "tools list models")
    private var cardsByName: [String: ModelCard] = [:]

    /// An empty registry.
    public init() {}

    /// Every built-in family.
    public static func builtins() -> ModelRegistry {
        var r = ModelRegistry()
        MobileNetV3.register(into: &r)
        EfficientNet.register(into: &r)
        MobileOne.register(into: &r)
        ResNet.register(into: &r)
        PPLCNet.register(into: &r)
        PPLCNetV2.register(into: &r)
        MobileNet.register(into: &r)
        ShuffleNetV2.register(into: &r)
        ConvNeXt.register(into: &r)
        SwinTransformer.register(into: &r)
        VisionTransformer.register(into: &r)
        return r
    }

    /// Registers a model under its card's names. Its options also accept `head` (``HeadOptions``: an AM-softmax
    /// classifier in place of the card's linear one), and `class_num` is the run's class count.
    /// - Precondition: no name of the card is registered yet.
    public mutating func register<O: ArchOptions>(_ card: ModelCard, options: O.Type,
                                                  make: @escaping (O) throws -> Module) {
        factories.register(card.name, aliases: card.aliases, summary: "\(card.summary), \(card.inputSize) px",
                           options: WithHead<O>.self) { o, context in
            var base = o.base
            base.classNum = context.classCount
            return try o.head.apply(to: make(base), card: card)
        }
        cardsByName[card.name] = card
    }

    /// Registers a model without a card: it trains, evaluates and exports like any other, but fine-tuning takes its
    /// last linear layer as the classifier and export its input size from the config (else 224).
    public mutating func register<O: ConfigOptions>(_ name: String, aliases: [String] = [], summary: String,
                                                    options: O.Type, make: @escaping (O, ArchContext) throws -> Module) {
        factories.register(name, aliases: aliases, summary: summary, options: options, make: make)
    }

    /// The card of a registered name or alias, if it was registered with one.
    public func card(named name: String) -> ModelCard? {
        factories.entry(named: name).flatMap { cardsByName[$0.name] }
    }

    /// Every card, in registration order.
    public var cards: [ModelCard] { factories.names.compactMap { cardsByName[$0] } }

    /// Builds a registered model by name or alias for `classCount` classes, with `options` as they would be written
    /// in `Arch` (`["drop_rate": "0.1"]`) and defaults for the rest.
    public func make(_ name: String, classCount: Int = 1000, options: KeyValuePairs<String, String> = [:]) throws -> Module {
        let node = ConfigNode.mapping([ConfigNode.Entry(key: "name", value: .scalar(name))]
                                      + options.map { ConfigNode.Entry(key: $0.key, value: .scalar($0.value)) })
        return try build(ComponentSpec(node: node, path: "Arch"), context: ArchContext(classCount: classCount, registry: self),
                         decoder: ConfigDecoder())
    }

    /// The canonical names, in registration order.
    public var names: [String] { factories.names }
    /// Every registration (for `tools list models`).
    public var entries: [Registry<Module, ArchContext>.Entry] { factories.entries }
    /// True when `name` is a registered name or alias.
    public func contains(_ name: String) -> Bool { factories.contains(name) }
    /// The registration for a name or alias.
    public func entry(named name: String) -> Registry<Module, ArchContext>.Entry? { factories.entry(named: name) }

    /// Builds the model `spec` describes (see ``Registry/build(_:context:decoder:)``).
    public func build(_ spec: ComponentSpec, context: ArchContext, decoder: ConfigDecoder) throws -> Module {
        try factories.build(spec, context: context, decoder: decoder)
    }

    /// Reads `node` as a component at `path`, then builds it.
    public func build(_ node: ConfigNode, context: ArchContext, path: String, decoder: ConfigDecoder) throws -> Module {
        try factories.build(node, context: context, path: path, decoder: decoder)
    }

    /// Checks `spec`'s name and options without building it.
    public func check(_ spec: ComponentSpec, decoder: ConfigDecoder) throws { try factories.check(spec, decoder: decoder) }
}
