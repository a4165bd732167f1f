/// A component as written in a config, to be built later through a ``Registry``.
///
/// Both PaddleClas forms are accepted:
/// * a map with `name:` plus options: `{name: Cosine, learning_rate: 0.1}` (Arch, Optimizer, lr, sampler, …);
/// * a one-key map whose value is the options or null: `- CELoss: {weight: 1.0}`, `- AutoAugment:`.
///
/// Names are trimmed (`name: "ResNet50_vd "` → `ResNet50_vd`). `ComponentSpec` is `Decodable` through
/// ``ConfigDecoder`` (so option structs can hold `[ComponentSpec]` fields, e.g. `transform_ops`).
public struct ComponentSpec: Decodable, Sendable, Equatable {
    /// The component name, e.g. `CELoss`.
    public let name: String
    /// The options: the map minus `name`, or the one-key form's value (an empty map when null).
    public let args: ConfigNode
    /// The component as written.
    public let node: ConfigNode
    /// The dotted path of the component in the config, e.g. `Loss.Train.0` or `Optimizer.lr`.
    public let path: String
    /// Where the name is written (the `name:` value, or the one key).
    public let nameLocation: SourceLocation

    /// Reads a component in either form.
    public init(node: ConfigNode, path: String) throws {
        self.node = node
        self.path = path
        let subject = path.isEmpty ? "component" : path
        let forms = "expects a component: `name: <Name>` with options, or `<Name>: {options}`"
        switch node.kind {
        case .mapping(let entries):
            if let nameEntry = entries.first(where: { $0.key == "name" }) {
                guard let text = nameEntry.value.scalar?.text.trimmingWhitespace, !text.isEmpty else {
                    let key = path.isEmpty ? "name" : "\(path).name"
                    throw ConfigError(
                        "\(key) expects a component name, got \(nameEntry.value.summary)",
                        at: nameEntry.value.isNull ? nameEntry.keyLocation : nameEntry.value.location)
                }
                name = text
                nameLocation = nameEntry.value.location
                args = node.removing(["name"])
            } else if entries.count == 1, let only = entries.first {
                switch only.value.kind {
                case .mapping: args = only.value
                case .null:
                    args = .mapping([], at: only.value.location == .unknown ? only.keyLocation : only.value.location)
                default:
                    throw ConfigError(
                        "\(subject) \(forms); the options of '\(only.key)' must be a map, got \(only.value.summary)",
                        at: only.value.location)
                }
                name = only.key.trimmingWhitespace
                nameLocation = only.keyLocation
            } else {
                let detail = entries.isEmpty ? "got an empty map" : "this map has \(entries.count) keys and no `name`"
                throw ConfigError("\(subject) \(forms); \(detail)", at: node)
            }
        case .scalar(let scalar) where Self.isIdentifier(scalar.text):
            name = scalar.text
            nameLocation = node.location
            args = .mapping([], at: node.location)
        default:
            throw ConfigError("\(subject) \(forms); got \(node.summary)", at: node)
        }
    }

    /// Decodes through ``ConfigDecoder``; other decoders are refused.
    public init(from decoder: Decoder) throws {
        guard let node = decoder.configNode else {
            throw DecodingError.typeMismatch(
                ComponentSpec.self,
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "decode ComponentSpec with ConfigDecoder"))
        }
        try self.init(node: node, path: decoder.configPath)
    }

    /// The name of `node` if it is a component in either form, else nil. Used for hints.
    public static func name(of node: ConfigNode) -> String? {
        (try? ComponentSpec(node: node, path: ""))?.name
    }

    /// The list under `key` in ``args`` read as components (e.g. `transform_ops`); nil when absent or null.
    public func componentList(_ key: String) throws -> [ComponentSpec]? {
        guard let list = args[key], !list.isNull else { return nil }
        let listPath = path.isEmpty ? key : "\(path).\(key)"
        guard let items = list.items else {
            throw ConfigError("\(listPath) expects a list of components, got \(list.summary)", at: list)
        }
        return try items.enumerated().map { try ComponentSpec(node: $1, path: "\(listPath).\($0)") }
    }

    /// A copy with `key` set in ``args`` (used to move deprecated keys, e.g. `Global.class_num`).
    public func settingArg(_ key: String, to value: ConfigNode, keyLocation: SourceLocation) -> ComponentSpec {
        ComponentSpec(
            name: name, args: args.setting(key, to: value, keyLocation: keyLocation), node: node, path: path,
            nameLocation: nameLocation)
    }

    /// A copy without `keys` in ``args``.
    public func removingArgs(_ keys: Set<String>) -> ComponentSpec {
        ComponentSpec(name: name, args: args.removing(keys), node: node, path: path, nameLocation: nameLocation)
    }

    private init(name: String, args: ConfigNode, node: ConfigNode, path: String, nameLocation: SourceLocation) {
        self.name = name
        self.args = args
        self.node = node
        self.path = path
        self.nameLocation = nameLocation
    }

    private static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }
}

extension ConfigNode: Decodable {
    /// Decodes the raw subtree through ``ConfigDecoder`` (its keys are then left for later validation).
    public init(from decoder: Decoder) throws {
        guard let node = decoder.configNode else {
            throw DecodingError.typeMismatch(
                ConfigNode.self,
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "decode ConfigNode with ConfigDecoder"))
        }
        self = node
    }
}
