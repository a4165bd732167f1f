/// An immutable config tree: maps with ordered keys, lists, scalars and null, each node knowing where it came from.
///
/// Scalars keep their raw text; whether `1e-8` is a number is decided when a typed field reads it (see ``Scalars``).
/// Equality compares structure, keys, scalar text and quoting, and ignores locations.
public struct ConfigNode: Sendable, Equatable, CustomStringConvertible {
    /// The shape and content of a node.
    public enum Kind: Sendable, Equatable {
        /// YAML null: a plain `null`, `Null`, `NULL`, `~`, empty value, or Python's `None`.
        case null
        /// A scalar with its raw text.
        case scalar(Scalar)
        /// A list.
        case sequence([ConfigNode])
        /// A map, keys in file order.
        case mapping([Entry])
    }

    /// A scalar's raw text.
    public struct Scalar: Sendable, Hashable {
        /// The text as parsed by YAML (plain scalars trimmed, quotes and escapes removed).
        public let text: String
        /// True when written quoted (`'…'`, `"…"`) or as a block scalar (`|`, `>`): a string in YAML.
        public let isQuoted: Bool

        /// Creates a scalar.
        public init(_ text: String, isQuoted: Bool = false) {
            self.text = text
            self.isQuoted = isQuoted
        }
    }

    /// One key of a map with its value.
    public struct Entry: Sendable, Equatable {
        /// The key text.
        public let key: String
        /// Where the key is written.
        public let keyLocation: SourceLocation
        /// The value.
        public let value: ConfigNode

        /// Creates a map entry.
        public init(key: String, keyLocation: SourceLocation = .unknown, value: ConfigNode) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }

        public static func == (lhs: Entry, rhs: Entry) -> Bool { lhs.key == rhs.key && lhs.value == rhs.value }
    }

    /// What this node holds.
    public let kind: Kind
    /// Where this node was written (for a map or list: where it starts).
    public let location: SourceLocation

    /// Creates a node.
    public init(_ kind: Kind, at location: SourceLocation = .unknown) {
        self.kind = kind
        self.location = location
    }

    /// Structural equality: kinds, keys, scalar text and quoting; locations are ignored.
    public static func == (lhs: ConfigNode, rhs: ConfigNode) -> Bool { lhs.kind == rhs.kind }

    /// Plain-scalar spellings that mean null (YAML 1.1 plus Python's `None`).
    static let nullSpellings: Set<String> = ["", "~", "null", "Null", "NULL", "None"]

    /// A scalar node; a plain scalar spelled like null becomes ``Kind/null``.
    public static func scalar(
        _ text: String, quoted: Bool = false, at location: SourceLocation = .unknown
    ) -> ConfigNode {
        if !quoted && nullSpellings.contains(text) { return ConfigNode(.null, at: location) }
        return ConfigNode(.scalar(Scalar(text, isQuoted: quoted)), at: location)
    }

    /// A null node.
    public static func null(at location: SourceLocation = .unknown) -> ConfigNode { ConfigNode(.null, at: location) }

    /// A map node from entries (keys must be distinct).
    public static func mapping(_ entries: [Entry], at location: SourceLocation = .unknown) -> ConfigNode {
        ConfigNode(.mapping(entries), at: location)
    }

    /// A list node.
    public static func sequence(_ items: [ConfigNode], at location: SourceLocation = .unknown) -> ConfigNode {
        ConfigNode(.sequence(items), at: location)
    }

    // MARK: Accessors

    /// True for null.
    public var isNull: Bool { kind == .null }

    /// The map entries, or nil when this is not a map.
    public var entries: [Entry]? {
        if case .mapping(let entries) = kind { return entries }
        return nil
    }

    /// The list items, or nil when this is not a list.
    public var items: [ConfigNode]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }

    /// The scalar, or nil when this is not a scalar.
    public var scalar: Scalar? {
        if case .scalar(let scalar) = kind { return scalar }
        return nil
    }

    /// The map's keys in order (empty for non-maps).
    public var keys: [String] { entries?.map(\.key) ?? [] }

    /// The entry for `key` in a map.
    public func entry(_ key: String) -> Entry? { entries?.first { $0.key == key } }

    /// The value for `key` in a map.
    public subscript(key: String) -> ConfigNode? { entry(key)?.value }

    /// The item at `index` of a list (no negative indexes).
    public subscript(index: Int) -> ConfigNode? {
        guard let items, items.indices.contains(index) else { return nil }
        return items[index]
    }

    /// The node at a dotted path such as `DataLoader.Train.dataset.transform_ops.1`.
    public func node(at path: String) -> ConfigNode? {
        var node: ConfigNode? = self
        for segment in path.split(separator: ".") {
            guard let current = node else { return nil }
            if current.items != nil, let index = Int(segment) {
                node = current[index]
            } else {
                node = current[String(segment)]
            }
        }
        return node
    }

    /// A short human description of the value for messages: `'thirty'`, `null`, `a list`, `a map`.
    public var summary: String {
        switch kind {
        case .null: return "null"
        case .scalar(let scalar): return "'\(scalar.text)'"
        case .sequence: return "a list"
        case .mapping: return "a map"
        }
    }

    /// A compact one-line YAML-like rendering, for debugging and messages.
    public var description: String {
        switch kind {
        case .null: return "null"
        case .scalar(let scalar): return scalar.isQuoted ? "'\(scalar.text)'" : scalar.text
        case .sequence(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .mapping(let entries): return "{" + entries.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    // MARK: Building modified copies

    /// A copy of this map with `key` set to `value` (replacing in place, or appended).
    public func setting(_ key: String, to value: ConfigNode, keyLocation: SourceLocation = .unknown) -> ConfigNode {
        var entries = self.entries ?? []
        if let index = entries.firstIndex(where: { $0.key == key }) {
            let location = keyLocation == .unknown ? entries[index].keyLocation : keyLocation
            entries[index] = Entry(key: key, keyLocation: location, value: value)
        } else {
            entries.append(Entry(key: key, keyLocation: keyLocation, value: value))
        }
        return ConfigNode(.mapping(entries), at: location)
    }

    /// A copy of this map without `keys`.
    public func removing(_ keys: Set<String>) -> ConfigNode {
        guard let entries else { return self }
        return ConfigNode(.mapping(entries.filter { !keys.contains($0.key) }), at: location)
    }
}
