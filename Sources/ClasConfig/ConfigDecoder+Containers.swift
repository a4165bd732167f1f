/// The keyed, unkeyed and single-value containers of ``NodeDecoder``.

struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let entries: [ConfigNode.Entry]

    var codingPath: [CodingKey] { decoder.codingPath }
    var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { entry(key) != nil }

    private func entry(_ key: Key) -> ConfigNode.Entry? { entries.first { $0.key == key.stringValue } }

    /// The entry for `key`, marked as consumed, or a "missing required key" error.
    private func require(_ key: Key) throws -> ConfigNode.Entry {
        guard let entry = entry(key) else {
            throw decoder.missingKey(key.stringValue)
        }
        decoder.consume(key.stringValue)
        return entry
    }

    private func childDecoder(_ key: Key) throws -> NodeDecoder {
        let entry = try require(key)
        return decoder.child(entry.value, key: key, keyLocation: entry.keyLocation)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let entry = entry(key) else { return true }
        decoder.consume(key.stringValue)
        return entry.value.isNullValue
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try childDecoder(key).decodeValue(type)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try childDecoder(key).decodeValue(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try childDecoder(key).decodeValue(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try childDecoder(key).decodeValue(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try childDecoder(key).decodeValue(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try childDecoder(key).decodeValue(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try childDecoder(key).decodeValue(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try childDecoder(key).decodeValue(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try childDecoder(key).decodeValue(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try childDecoder(key).decodeValue(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try childDecoder(key).decodeValue(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try childDecoder(key).decodeValue(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try childDecoder(key).decodeValue(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try childDecoder(key).decodeValue(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try childDecoder(key).decodeValue(type) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try decoder.adopt(childDecoder(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try decoder.adopt(childDecoder(key)).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { decoder.adopt(decoder.sameNode()) }

    func superDecoder(forKey key: Key) throws -> Decoder { try decoder.adopt(childDecoder(key)) }
}

struct UnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let items: [ConfigNode]
    private(set) var currentIndex = 0

    init(decoder: NodeDecoder, items: [ConfigNode]) {
        self.decoder = decoder
        self.items = items
    }

    var codingPath: [CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    /// The decoder for the next item, advancing past it.
    private mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else {
            throw ConfigError("\(decoder.path()) has too few items (\(items.count))", at: decoder.enclosingLocation)
        }
        let item = items[currentIndex]
        let child = decoder.child(item, key: AnyKey(intValue: currentIndex), keyLocation: item.location)
        currentIndex += 1
        return child
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].isNullValue else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decodeValue(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next().decodeValue(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decodeValue(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next().decodeValue(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decodeValue(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().decodeValue(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().decodeValue(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().decodeValue(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().decodeValue(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().decodeValue(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().decodeValue(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().decodeValue(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().decodeValue(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().decodeValue(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try decoder.adopt(next()).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        try decoder.adopt(next()).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder { try decoder.adopt(next()) }
}

/// Reads the node itself as a scalar, with the habits of ``Scalars``.
struct SingleValueContainer: SingleValueDecodingContainer {
    let decoder: NodeDecoder

    var codingPath: [CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.node.isNullValue }

    /// The scalar text, or a mismatch error naming `expected`.
    private func text(_ expected: String) throws -> String {
        guard let scalar = decoder.node.scalar, !Scalars.isNull(scalar) else { throw decoder.mismatch(expected) }
        return scalar.text
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        let expected = "a boolean (true or false)"
        guard let value = Scalars.bool(try text(expected)) else { throw decoder.mismatch(expected) }
        return value
    }

    func decode(_ type: String.Type) throws -> String { try text("a string") }

    func decode(_ type: Double.Type) throws -> Double {
        guard let value = Scalars.double(try text("a number")) else { throw decoder.mismatch("a number") }
        return value
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        guard let value = Scalars.int(try text("an integer")) else { throw decoder.mismatch("an integer") }
        guard let exact = I(exactly: value) else { throw decoder.mismatch("an integer in \(I.min)...\(I.max)") }
        return exact
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.sameNode().decodeValue(type) }
}

extension ConfigNode {
    /// Null for typed fields: a null node, or a quoted `"None"` (PaddleClas turns it into None).
    public var isNullValue: Bool {
        switch kind {
        case .null: return true
        case .scalar(let scalar): return Scalars.isNull(scalar)
        default: return false
        }
    }
}
