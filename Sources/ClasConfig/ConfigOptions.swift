/// An options struct decoded from a config map with unknown-key rejection (see ``ConfigDecoder``).
///
/// Declare the keys exactly as written in YAML through `CodingKeys`, and list them:
/// ```swift
/// struct CosineOptions: ConfigOptions {
///     var learningRate: Double
///     var etaMin = 0.0
///     enum CodingKeys: String, CodingKey, CaseIterable { case learningRate = "learning_rate", etaMin = "eta_min" }
///     static let knownKeys = CodingKeys.allCases.map(\.stringValue)
///     init(from decoder: Decoder) throws {
///         let c = try decoder.container(keyedBy: CodingKeys.self)
///         learningRate = try c.decode(Double.self, forKey: .learningRate)
///         etaMin = try c.decode(.etaMin, default: 0.0)
///     }
/// }
/// ```
public protocol ConfigOptions: Decodable {
    /// Every key this type reads; used for "Did you mean …?" and for listings.
    static var knownKeys: [String] { get }
    /// Keys accepted without effect, each with the reason shown in a notice (`device`, `use_dali`, …).
    /// No notice is given when the value is null or false.
    static var ignoredKeys: [String: String] { get }
}

extension ConfigOptions {
    /// No ignored keys.
    public static var ignoredKeys: [String: String] { [:] }
}

/// Options for a component that takes none; accepts an empty map or null (`- ToCHWImage:`).
public struct NoOptions: ConfigOptions, Sendable, Equatable {
    /// No keys.
    public static let knownKeys: [String] = []

    /// Creates empty options.
    public init() {}

    /// Decodes an empty map or null.
    public init(from decoder: Decoder) throws {
        _ = try decoder.container(keyedBy: AnyKey.self)
    }
}

/// A coding key for any string or index.
public struct AnyKey: CodingKey, Hashable, Sendable {
    public let stringValue: String
    public let intValue: Int?

    public init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    public init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension KeyedDecodingContainer {
    /// The value for `key`, or `defaultValue` when the key is absent or null.
    public func decode<T: Decodable>(_ key: Key, default defaultValue: @autoclosure () -> T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? defaultValue()
    }
}
