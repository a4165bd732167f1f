/// Named factories for one kind of component (models, losses, optimizers, transforms, …).
///
/// The factory contract: `make(options, context)` receives the component's options decoded from its config map
/// (unknown keys already rejected) and a caller-defined `Context` (class count, other built parts). A registry is a
/// value: the engine assembles its registries and hands them around; nothing is global.
///
/// Registering a name or alias twice is a programmer error and stops the program (`precondition`), like a
/// duplicate `case` would. Errors from ``build(_:context:decoder:)`` are ``ConfigError``s:
/// `-o #2 'Arch.name=MobileNetV3_smal': error: no Arch named 'MobileNetV3_smal'. Did you mean
/// 'MobileNetV3_small_x1_0'? ('tools list models' shows all)`.
public struct Registry<Product, Context> {
    /// What `tools list` shows for one registration.
    public struct Entry: Sendable, Equatable {
        /// The canonical name (PaddleClas spelling).
        public let name: String
        /// Other accepted names (e.g. timm spellings).
        public let aliases: [String]
        /// One line describing the component.
        public let summary: String
        /// The option keys, from ``ConfigOptions/knownKeys``.
        public let optionKeys: [String]
    }

    private struct Factory {
        let entry: Entry
        let check: (ComponentSpec, ConfigDecoder) throws -> Void
        let make: (ComponentSpec, Context, ConfigDecoder) throws -> Product
    }

    /// The kind shown in messages, e.g. `Arch`, `loss`, `transform`.
    public let kind: String
    /// The command that lists this registry, shown after unknown names, e.g. `tools list models`.
    public let listCommand: String?
    private var factories: [Factory] = []
    private var index: [String: Int] = [:]

    /// Creates an empty registry.
    /// - Parameters:
    ///   - kind: The word used in messages (`no Arch named 'X'`).
    ///   - listCommand: The command that lists the registry, mentioned in unknown-name errors.
    public init(kind: String, listCommand: String? = nil) {
        self.kind = kind
        self.listCommand = listCommand
    }

    /// Registers a factory under `name` and `aliases`.
    /// - Parameters:
    ///   - name: The canonical name as written in configs.
    ///   - aliases: Other names accepted for the same factory.
    ///   - summary: One line for `tools list`.
    ///   - options: The options struct decoded from the component's map.
    ///   - make: Builds the product from decoded options and the context.
    /// - Precondition: neither `name` nor any alias is registered yet.
    public mutating func register<O: ConfigOptions>(
        _ name: String, aliases: [String] = [], summary: String,
        options: O.Type,
        make: @escaping (O, Context) throws -> Product
    ) {
        let entry = Entry(name: name, aliases: aliases, summary: summary, optionKeys: O.knownKeys)
        func options(_ spec: ComponentSpec, _ decoder: ConfigDecoder) throws -> O {
            try decoder.decode(O.self, from: spec.args, path: spec.path, label: spec.name)
        }
        let factory = Factory(
            entry: entry,
            check: { spec, decoder in _ = try options(spec, decoder) },
            make: { spec, context, decoder in try make(options(spec, decoder), context) })
        for key in [name] + aliases {
            precondition(index[key] == nil, "\(kind) '\(key)' is registered twice")
            index[key] = factories.count
        }
        factories.append(factory)
    }

    /// The canonical names, in registration order.
    public var names: [String] { factories.map(\.entry.name) }

    /// Every registration, in registration order.
    public var entries: [Entry] { factories.map(\.entry) }

    /// True when `name` is a registered name or alias.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The registration for a name or alias.
    public func entry(named name: String) -> Entry? { index[name].map { factories[$0].entry } }

    /// Builds the component described by `spec`: finds the factory, decodes its options, calls it.
    ///
    /// A factory's own errors that are not ``ConfigError``s are wrapped with the component's location.
    public func build(_ spec: ComponentSpec, context: Context, decoder: ConfigDecoder) throws -> Product {
        guard let position = index[spec.name] else { throw unknownName(spec) }
        do {
            return try factories[position].make(spec, context, decoder)
        } catch let error as ConfigError {
            throw error
        } catch {
            let subject = spec.path.isEmpty ? "" : " at \(spec.path)"
            throw ConfigError("cannot build \(kind) '\(spec.name)'\(subject): \(error)", at: spec.nameLocation)
        }
    }

    /// Checks `spec`'s name and options without building it, e.g. to catch a misspelt `-o` key in a component the
    /// current mode does not use (Infer.PostProcess during training) before hours of work.
    public func check(_ spec: ComponentSpec, decoder: ConfigDecoder) throws {
        guard let position = index[spec.name] else { throw unknownName(spec) }
        try factories[position].check(spec, decoder)
    }

    /// Reads `node` as a component (either form) at `path`, then builds it.
    public func build(_ node: ConfigNode, context: Context, path: String, decoder: ConfigDecoder) throws -> Product {
        try build(ComponentSpec(node: node, path: path), context: context, decoder: decoder)
    }

    /// `no Arch named 'X'. Did you mean 'Y'? ('tools list models' shows all)`; aliases suggest their canonical name.
    private func unknownName(_ spec: ComponentSpec) -> ConfigError {
        let candidates = index.keys.sorted { (index[$0] ?? 0, $0) < (index[$1] ?? 0, $1) }
        var seen = Set<String>()
        let suggestions = Suggest.closest(to: spec.name, in: candidates, limit: 10)
            .compactMap { entry(named: $0)?.name }
            .filter { seen.insert($0).inserted }
            .prefix(5)
        var message = "no \(kind) named '\(spec.name)'."
        switch suggestions.count {
        case 0: break
        case 1: message += " Did you mean '\(suggestions[suggestions.startIndex])'?"
        default: message += " Did you mean one of " + suggestions.map { "'\($0)'" }.joined(separator: ", ") + "?"
        }
        if let listCommand { message += " ('\(listCommand)' shows all)" }
        return ConfigError(message, at: spec.nameLocation)
    }
}
