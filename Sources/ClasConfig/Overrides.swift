import Foundation

/// Command-line overrides, `-o KEY=VALUE`, applied after loading and inheritance, left to right.
///
/// KEY is split at the first `=` and on `.`; at a map a segment is a key, at a list an index (negative counts from
/// the end). Existing keys are replaced; missing keys are created and carry their `-o` location, so that validation
/// (``ConfigDecoder``) reports a misspelt key as `-o #2 'Global.epoch=5': error: unknown key 'epoch' in Global.
/// Did you mean 'epochs'?`. A null on the way (a bare `- AutoAugment:`) becomes a map; a non-null scalar is an
/// error. VALUE is read as one YAML scalar, flow list or flow map (`10`, `1e-3`, `true`, `None`, `[3,224,224]`,
/// `'abc'`), never evaluated; text that is not valid YAML is kept as a string.
///
/// A null VALUE (`null`, `None`, `~` or nothing) *deletes*: `-o X.key=null` removes an existing map key (its
/// default then applies, as if the file never set it), `-o X.list.2=null` removes that list item, and
/// `-o Global=null` removes a section. Two cases keep a null, where null is meaningful: the name key of a
/// one-key list item (`-o transform_ops.3.AutoAugment=null` leaves `- AutoAugment:`, the op with its default
/// options), and a key that is not there (it is created null as before, so a misspelt key is still reported and
/// TIPC's `-o Global.auto_cast=null` stays harmless). `'null'` (quoted) is the text null.
public enum Overrides {
    /// Applies every override in order; `overrides[i]` is reported as `-o #(i+1)`.
    public static func apply(_ overrides: [String], to root: ConfigNode) throws -> ConfigNode {
        var root = root
        for (offset, text) in overrides.enumerated() {
            root = try apply(text, number: offset + 1, to: root)
        }
        return root
    }

    /// Applies one `KEY=VALUE` override; `number` is its 1-based position on the command line.
    public static func apply(_ text: String, number: Int, to root: ConfigNode) throws -> ConfigNode {
        let origin = SourceLocation.override(index: number, text: text)
        guard let equals = text.firstIndex(of: "=") else {
            throw ConfigError("expected KEY=VALUE, e.g. -o Global.epochs=10", at: origin)
        }
        let key = text[..<equals]
        let segments = key.split(separator: ".", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !segments.contains(where: \.isEmpty) else {
            let problem =
                key.trimmingCharacters(in: .whitespaces).isEmpty
                ? "missing KEY before '='" : "empty segment in key '\(key)'"
            throw ConfigError("\(problem); expected KEY=VALUE, e.g. -o Global.epochs=10", at: origin)
        }
        let value = parseValue(String(text[text.index(after: equals)...]), at: origin)
        return try Setter(value: value, origin: origin).set(root, segments[...], path: [], inListItem: false)
            ?? .mapping([], at: root.location)
    }

    /// Reads an override VALUE as YAML (scalar, flow list or flow map); invalid YAML stays a string.
    public static func parseValue(_ text: String, at origin: SourceLocation) -> ConfigNode {
        do {
            return relocated(try ConfigLoader.parseDocument(text) { _, _ in origin }, to: origin)
        } catch {
            return .scalar(text, quoted: true, at: origin)
        }
    }

    /// A copy of `node` with every location (values and keys) replaced by `origin`.
    static func relocated(_ node: ConfigNode, to origin: SourceLocation) -> ConfigNode {
        switch node.kind {
        case .null, .scalar: return ConfigNode(node.kind, at: origin)
        case .sequence(let items): return .sequence(items.map { relocated($0, to: origin) }, at: origin)
        case .mapping(let entries):
            return .mapping(
                entries.map { .init(key: $0.key, keyLocation: origin, value: relocated($0.value, to: origin)) },
                at: origin)
        }
    }

    /// Walks a key path and rebuilds the tree with the value set (or the key deleted, for a null value).
    private struct Setter {
        let value: ConfigNode
        let origin: SourceLocation
        var deletes: Bool { value.isNull }

        /// The rebuilt `node`, or nil when the override deletes it.
        func set(_ node: ConfigNode, _ segments: ArraySlice<String>, path: [String], inListItem: Bool) throws
            -> ConfigNode?
        {
            guard let segment = segments.first else { return deletes ? nil : value }
            let rest = segments.dropFirst()
            let here = path.joined(separator: ".")
            switch node.kind {
            case .mapping, .null:
                let map = node.isNull ? ConfigNode.mapping([], at: origin) : node
                if let existing = map[segment] {
                    if let child = try set(existing, rest, path: path + [segment], inListItem: false) {
                        return map.setting(segment, to: child)
                    }
                    // `- Name: {...}` keeps its name: a null there means "default options".
                    if inListItem && map.keys == [segment] { return map.setting(segment, to: .null(at: origin)) }
                    return map.removing([segment])
                }
                let child =
                    rest.isEmpty
                    ? value
                    : try set(.mapping([], at: origin), rest, path: path + [segment], inListItem: false) ?? value
                return map.setting(segment, to: child, keyLocation: origin)
            case .sequence(let items):
                let index = try itemIndex(segment, in: items, path: here, rest: rest)
                var items = items
                if let item = try set(items[index], rest, path: path + [String(index)], inListItem: true) {
                    items[index] = item
                } else {
                    items.remove(at: index)
                }
                return .sequence(items, at: node.location)
            case .scalar:
                throw ConfigError(
                    "cannot set '\(segment)' inside \(here): it is a value (\(node.summary)), not a map", at: origin)
            }
        }

        /// The list index named by `segment`, python-style (negative from the end), with helpful errors.
        private func itemIndex(
            _ segment: String, in items: [ConfigNode], path: String, rest: ArraySlice<String>
        ) throws -> Int {
            let count = items.count
            let range = count == 0 ? "it is empty" : "use 0…\(count - 1) or -\(count)…-1"
            guard let index = Int(segment) else {
                var message = "\(path) is a list, so '\(segment)' must be an item index (\(range))"
                if let position = items.firstIndex(where: { ComponentSpec.name(of: $0) == segment }) {
                    let suggestion =
                        ([path, String(position)] + (items[position][segment] != nil ? [segment] : []) + rest)
                    message += ". Did you mean '\(suggestion.joined(separator: "."))'?"
                }
                throw ConfigError(message, at: origin)
            }
            let resolved = index < 0 ? index + count : index
            guard items.indices.contains(resolved) else {
                let size = count == 1 ? "1 item" : "\(count) items"
                throw ConfigError("index \(index) out of range: \(path) has \(size)", at: origin)
            }
            return resolved
        }
    }
}
