/// Decodes `Decodable` types from a ``ConfigNode`` and rejects keys nobody read.
///
/// Like swift-argument-parser's `ArgumentDecoder`, it records which keys each map's decoding consumed. When a value
/// has been decoded, every key of its map that was not consumed is an error, located at the key:
/// `configs/mnv3.yaml:47:5: error: unknown key 'lerning_rate' in Optimizer.lr (Cosine). Did you mean 'learning_rate'?`
/// Suggestions come from ``ConfigOptions/knownKeys`` and from `CaseIterable` coding keys. Keys listed in
/// ``ConfigOptions/ignoredKeys`` are accepted with a notice. Scalars are read with PaddleClas habits (``Scalars``).
/// Other messages: `Global.epochs expects an integer, got 'thirty'`, `missing required key 'momentum' in
/// Optimizer (Momentum)`. Errors are ``ConfigError``; `DecodingError`s thrown by decoded types are converted to it.
///
/// One decoder can serve a whole run: it collects ``notices`` for the caller to print.
public final class ConfigDecoder {
    /// Notices collected so far (ignored keys, deprecations), in order.
    public private(set) var notices: [ConfigNotice] = []
    /// Passed to decoded types as `Decoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: Any]

    /// Creates a decoder.
    public init(userInfo: [CodingUserInfoKey: Any] = [:]) {
        self.userInfo = userInfo
    }

    /// Decodes `type` from `node`.
    /// - Parameters:
    ///   - path: The dotted path of `node` in the config, used in messages (`Optimizer.lr`); empty for the root.
    ///   - label: A name shown after the path, usually the component name (`Cosine`).
    public func decode<T: Decodable>(
        _ type: T.Type, from node: ConfigNode, path: String = "", label: String? = nil
    ) throws -> T {
        let root = NodeDecoder(session: self, node: node, codingPath: [], basePath: path, label: label)
        do {
            return try root.decodeValue(type)
        } catch let error as DecodingError {
            throw root.convert(error)
        }
    }

    /// Records a notice.
    public func notice(_ message: String, at location: SourceLocation) {
        let notice = ConfigNotice(message, at: location)
        if !notices.contains(notice) { notices.append(notice) }
    }
}

extension Decoder {
    /// The node being decoded, when decoding through ``ConfigDecoder``.
    public var configNode: ConfigNode? { (self as? NodeDecoder)?.node }

    /// The dotted path of the node being decoded (`DataLoader.Train.sampler`), when decoding through ``ConfigDecoder``.
    public var configPath: String {
        (self as? NodeDecoder)?.path() ?? codingPath.map(\.stringValue).joined(separator: ".")
    }

    /// Records a notice about `key` of the map being decoded (or the map itself); no-op for other decoders.
    public func configNotice(_ message: String, about key: CodingKey? = nil) {
        guard let decoder = self as? NodeDecoder else { return }
        decoder.session.notice(message, at: decoder.location(of: key))
    }

    /// Records a notice at an explicit location; no-op for other decoders.
    public func configNotice(_ message: String, at location: SourceLocation) {
        (self as? NodeDecoder)?.session.notice(message, at: location)
    }

    /// Throws a located error unless `condition` holds; the message follows the key's path:
    /// `try decoder.configCheck(epochs >= 1, CodingKeys.epochs, "must be at least 1, got \(epochs)")` →
    /// `…: error: Global.epochs must be at least 1, got 0`.
    public func configCheck(_ condition: Bool, _ key: CodingKey, _ message: @autoclosure () -> String) throws {
        guard !condition else { return }
        guard let decoder = self as? NodeDecoder else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [key], debugDescription: message()))
        }
        throw ConfigError("\(decoder.path(key)) \(message())", at: decoder.location(of: key))
    }
}

/// The `Decoder` for one node. Consumption of map keys is recorded here and checked by ``finish()``.
final class NodeDecoder: Decoder {
    let session: ConfigDecoder
    let node: ConfigNode
    let codingPath: [CodingKey]
    let basePath: String
    let label: String?
    /// Where to report problems with this node as a whole when it has no useful location of its own.
    let keyLocation: SourceLocation
    private var opened = false
    private var decodedType: Any.Type?
    private var optionsType: ConfigOptions.Type?
    private var consumed: [String] = []
    private var caseKeys: [String] = []
    private var children: [NodeDecoder] = []

    init(
        session: ConfigDecoder, node: ConfigNode, codingPath: [CodingKey], basePath: String, label: String?,
        keyLocation: SourceLocation = .unknown
    ) {
        self.session = session
        self.node = node
        self.codingPath = codingPath
        self.basePath = basePath
        self.label = label
        self.keyLocation = keyLocation == .unknown ? node.location : keyLocation
    }

    var userInfo: [CodingUserInfoKey: Any] { session.userInfo }

    // MARK: Paths and locations

    /// The dotted path of this node, or of its child `key`.
    func path(_ key: CodingKey? = nil) -> String {
        var parts = basePath.isEmpty ? [] : [basePath]
        parts += (codingPath + (key.map { [$0] } ?? [])).map { $0.intValue.map(String.init) ?? $0.stringValue }
        return parts.joined(separator: ".")
    }

    /// `in Optimizer (Momentum)` or `at the top level`.
    var place: String {
        let path = path()
        let phrase = path.isEmpty ? "at the top level" : "in \(path)"
        return label.map { "\(phrase) (\($0))" } ?? phrase
    }

    /// Where this node's map is (its key when the node is null or synthetic).
    var enclosingLocation: SourceLocation {
        node.isNull || node.location == .unknown ? keyLocation : node.location
    }

    /// The location of `key`'s value in this map, else of the map.
    func location(of key: CodingKey?) -> SourceLocation {
        guard let key, let value = node[key.stringValue] else { return enclosingLocation }
        return value.location == .unknown ? enclosingLocation : value.location
    }

    /// `Global.epochs expects an integer, got 'thirty'`.
    func mismatch(_ expected: String) -> ConfigError {
        let subject = path().isEmpty ? "the config" : path()
        return ConfigError(
            "\(subject) expects \(expected), got \(node.summary)", at: node.isNull ? enclosingLocation : node.location)
    }

    /// Keys this node's type is known to read, for suggestions.
    private var knownKeys: [String] {
        var keys = (optionsType?.knownKeys ?? []) + caseKeys + consumed
        keys += (optionsType?.ignoredKeys.keys.sorted() ?? [])
        return keys
    }

    /// `missing required key 'x' in P`, unless a present unknown key looks like a misspelling of it: then that
    /// key is reported (`unknown key 'lerning_rate' … Did you mean 'learning_rate'?`), which is the real mistake.
    func missingKey(_ key: String) -> ConfigError {
        let known = knownKeys + [key]
        if let typo = node.entries?.first(where: {
            !known.contains($0.key) && !Suggest.closest(to: $0.key, in: [key]).isEmpty
        }) {
            return ConfigError(
                "unknown key '\(typo.key)' \(place)." + Suggest.didYouMean(typo.key, in: known), at: typo.keyLocation)
        }
        return ConfigError("missing required key '\(key)' \(place)", at: enclosingLocation)
    }

    func consume(_ key: String) {
        if !consumed.contains(key) { consumed.append(key) }
    }

    // MARK: Children

    /// Decodes `type` with this decoder, then checks the keys it left unread.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if let cases = allowedRawValues(T.self), let text = node.scalar?.text, !cases.contains(text) {
            let list = cases.map { "'\($0)'" }.joined(separator: ", ")
            let hint = Suggest.didYouMean(text, in: cases)
            throw mismatch("one of \(list)").appending(hint.isEmpty ? "" : "." + hint)
        }
        decodedType = T.self
        optionsType = T.self as? ConfigOptions.Type
        let value = try T(from: self)
        try finish()
        return value
    }

    /// A decoder for the child `node` at `key` of this map or list.
    func child(_ node: ConfigNode, key: CodingKey, keyLocation: SourceLocation) -> NodeDecoder {
        NodeDecoder(
            session: session, node: node, codingPath: codingPath + [key], basePath: basePath, label: nil,
            keyLocation: keyLocation)
    }

    /// A fresh decoder for this same node (a single-value container decoding a nested type).
    func sameNode() -> NodeDecoder {
        NodeDecoder(
            session: session, node: node, codingPath: codingPath, basePath: basePath, label: label,
            keyLocation: keyLocation)
    }

    /// Registers a decoder made for a nested container, checked when this one finishes.
    func adopt(_ child: NodeDecoder) -> NodeDecoder {
        children.append(child)
        return child
    }

    // MARK: Unknown keys

    /// Reports the keys of this map that nobody consumed, and notices for ignored ones.
    func finish() throws {
        for child in children { try child.finish() }
        guard opened, let entries = node.entries else { return }
        let ignored = optionsType?.ignoredKeys ?? [:]
        var unknown: [ConfigNode.Entry] = []
        for entry in entries where !consumed.contains(entry.key) {
            if let reason = ignored[entry.key] {
                if !entry.value.isNull && entry.value.scalar.flatMap({ Scalars.bool($0.text) }) != false {
                    session.notice(
                        "\(path(AnyKey(stringValue: entry.key))) is ignored: \(reason)", at: entry.keyLocation)
                }
            } else {
                unknown.append(entry)
            }
        }
        guard let first = unknown.first else { return }
        let known = knownKeys
        var message =
            known.contains(first.key)
            ? "key '\(first.key)' \(place) was not read by \(decodedType.map { "\($0)" } ?? "its decoder")"
            : optionsType != nil && known.isEmpty
                ? "unknown key '\(first.key)' \(place), which takes no options."
                : "unknown key '\(first.key)' \(place)." + Suggest.didYouMean(first.key, in: known)
        if unknown.count > 1 {
            message += " Also unknown: " + unknown.dropFirst().map { "'\($0.key)'" }.joined(separator: ", ") + "."
        }
        throw ConfigError(message, at: first.keyLocation)
    }

    // MARK: Decoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let entries: [ConfigNode.Entry]
        switch node.kind {
        case .mapping(let list): entries = list
        case .null: entries = []
        default: throw mismatch("a map")
        }
        opened = true
        if let keys = Key.self as? any (CaseIterable & CodingKey).Type {
            caseKeys += caseNames(keys).filter { !caseKeys.contains($0) }
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, entries: entries))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        switch node.kind {
        case .sequence(let items): return UnkeyedContainer(decoder: self, items: items)
        case .scalar(let scalar):
            guard let items = Self.tupleItems(scalar.text, at: node.location) else { throw mismatch("a list") }
            return UnkeyedContainer(decoder: self, items: items)
        default: throw mismatch("a list")
        }
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleValueContainer(decoder: self) }

    /// PaddleClas tuple strings: `"1,5"`, `"(1, 5)"`, `"[1, 5]"` as list items (at least one comma).
    static func tupleItems(_ text: String, at location: SourceLocation) -> [ConfigNode]? {
        var body = Substring(text.trimmingWhitespace)
        if let open = body.first, let close = body.last, body.count >= 2,
            open == "(" && close == ")" || open == "[" && close == "]"
        {
            body = body.dropFirst().dropLast()
        }
        guard body.contains(",") else { return nil }
        var pieces = body.split(separator: ",", omittingEmptySubsequences: false).map(\.trimmingWhitespace)
        if pieces.last == "" { pieces.removeLast() }
        guard !pieces.contains("") else { return nil }
        return pieces.map { ConfigNode.scalar($0, at: location) }
    }

    /// Converts a `DecodingError` thrown by a decoded type into a located ``ConfigError``.
    func convert(_ error: DecodingError) -> ConfigError {
        func locate(_ path: [CodingKey]) -> (NodeDecoder, CodingKey?) {
            var decoder = self
            for key in path.dropLast() {
                guard let child = decoder.node[key.stringValue] ?? key.intValue.flatMap({ decoder.node[$0] }) else {
                    break
                }
                decoder = decoder.child(child, key: key, keyLocation: decoder.location(of: key))
            }
            return (decoder, path.last)
        }
        switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            let (decoder, key) = locate(context.codingPath)
            return ConfigError("\(decoder.path(key)): \(context.debugDescription)", at: decoder.location(of: key))
        case .keyNotFound(let key, let context):
            let (decoder, last) = locate(context.codingPath + [key])
            return ConfigError(
                "missing required key '\(last?.stringValue ?? key.stringValue)' \(decoder.place)",
                at: decoder.enclosingLocation)
        @unknown default:
            return ConfigError("\(error)", at: node.location)
        }
    }
}

extension ConfigError {
    /// The same error with `suffix` appended to the message.
    func appending(_ suffix: String) -> ConfigError { ConfigError(message + suffix, at: location) }
}

private func caseNames<K: CaseIterable & CodingKey>(_: K.Type) -> [String] { K.allCases.map(\.stringValue) }

private func rawCaseNames<E: CaseIterable & RawRepresentable>(_: E.Type) -> [String] where E.RawValue == String {
    E.allCases.map(\.rawValue)
}

/// The raw values of a `String`-backed `CaseIterable` enum, so that a bad value lists the choices.
private func allowedRawValues(_ type: Any.Type) -> [String]? {
    guard let enumType = type as? any (CaseIterable & RawRepresentable<String>).Type else { return nil }
    return rawCaseNames(enumType)
}
