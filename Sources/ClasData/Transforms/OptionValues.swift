import Foundation

/// A PaddleClas `size`: one integer (square) or `[w, h]` (cv2's order, as PaddleClas passes it to cv2.resize).
public struct SizeOption: Decodable, Equatable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(_ side: Int) { (width, height) = (side, side) }
    public init(width: Int, height: Int) { (self.width, self.height) = (width, height) }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let side = try? container.decode(Int.self) {
            self.init(side)
            return
        }
        let list: [Int]
        do { list = try container.decode([Int].self) } catch {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "size must be an integer or a list [w, h] of integers")
        }
        switch list.count {
        case 1: self.init(list[0])
        case 2: self.init(width: list[0], height: list[1])
        default:
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "size must be an integer or [w, h], got \(list.count) values")
        }
    }

    /// The largest side an op may produce (an 8192² float image is already 800 MB).
    public static let maxSide = 8192

    /// Throws unless both sides are positive and at most `maxSide`.
    func validate(_ op: String, key: String = "size") throws {
        try OptionsError.require(width > 0 && height > 0, op, "\(key) must be positive, got \(self)")
        try OptionsError.require(width <= Self.maxSide && height <= Self.maxSide, op,
                                 "\(key) must be at most \(Self.maxSide), got \(self)")
    }

    public var description: String { width == height ? "\(width)" : "[\(width), \(height)]" }
}

/// A number given as a YAML number or as a string holding a number or a simple product/quotient such as
/// `"1.0/255.0"` (PaddleClas evaluates such strings with Python `eval`; only `a`, `a/b`, `a*b` are accepted here).
public struct NumberOption: Decodable, Equatable, Sendable {
    public var value: Double

    public init(_ value: Double) { self.value = value }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let v = try? container.decode(Double.self) {
            value = v
            return
        }
        guard let text = try? container.decode(String.self), let v = NumberOption.evaluate(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a number or an expression like \"1.0/255.0\"")
        }
        value = v
    }

    /// Evaluates `a`, `a/b` or `a*b` (decimal numbers, optional spaces); nil otherwise.
    public static func evaluate(_ text: String) -> Double? {
        let t = text.replacingOccurrences(of: " ", with: "")
        for op in ["/", "*"] {
            let parts = t.split(separator: Character(op), omittingEmptySubsequences: false)
            if parts.count == 2, let a = Double(String(parts[0])), let b = Double(String(parts[1])) {
                return op == "/" ? a / b : a * b
            }
        }
        return Double(t)
    }
}

/// A list of numbers where each entry may be a number or a `NumberOption` string.
struct NumberList: Decodable, Equatable, Sendable {
    var values: [Double]

    init(_ values: [Double]) { self.values = values }

    init(from decoder: Decoder) throws {
        values = try [NumberOption](from: decoder).map(\.value)
    }
}
