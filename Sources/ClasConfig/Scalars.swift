/// How typed fields read scalar text, following PyYAML's YAML 1.1 and PaddleClas habits, without evaluating code.
///
/// * Bool: `true/True/TRUE`, `false/…`, `yes/no`, `on/off` (any of those three casings).
/// * Int: decimal with optional sign and `_` separators, `0x…`, `0o…`, `0b…`; quoted `"10"` too; not `10.5`.
/// * Double: any Int, decimals and exponents (`1e-8`, `2e-3`, `1.`, `.5`), `.inf`/`.nan`, and arithmetic over
///   numbers with `+ - * /` and parentheses (`1.0/255.0`, `1./255.`, `(1+2)*3`).
/// * Null: plain `null`, `~`, empty and `None` (already ``ConfigNode/Kind/null`` in the tree), and quoted `"None"`
///   (PaddleClas turns it into Python's None).
public enum Scalars {
    private static let trueWords: Set<String> = ["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"]
    private static let falseWords: Set<String> = ["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"]

    /// The boolean spelled by `text`, if any.
    public static func bool(_ text: String) -> Bool? {
        let text = text.trimmingWhitespace
        if trueWords.contains(text) { return true }
        if falseWords.contains(text) { return false }
        return nil
    }

    /// The integer spelled by `text`, if any (no fractions, no arithmetic).
    public static func int(_ text: String) -> Int? {
        var body = Substring(text.trimmingWhitespace)
        var negative = false
        if let sign = body.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            body = body.dropFirst()
        }
        var radix = 10
        for (prefix, base) in [("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)]
        where body.hasPrefix(prefix) {
            radix = base
            body = body.dropFirst(2)
        }
        guard let first = body.first, first != "_", body.last != "_", !body.contains("__"),
            body.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        else { return nil }
        guard let magnitude = Int(body.replacingUnderscores, radix: radix) else { return nil }
        return negative ? -magnitude : magnitude
    }

    /// The number spelled by `text`: an integer, a float, a YAML special, or safe arithmetic over numbers.
    public static func double(_ text: String) -> Double? {
        let text = text.trimmingWhitespace
        if let special = specials[text.lowercased()] { return special }
        if let int = int(text) { return Double(int) }
        var parser = Arithmetic(text)
        return parser.parse()
    }

    /// True when a scalar means null for a typed field.
    public static func isNull(_ scalar: ConfigNode.Scalar) -> Bool {
        scalar.isQuoted ? scalar.text == "None" : ConfigNode.nullSpellings.contains(scalar.text)
    }

    private static let specials: [String: Double] = [
        ".inf": .infinity, "+.inf": .infinity, "-.inf": -.infinity, ".nan": .nan,
    ]
}

/// A recursive-descent parser for `expr := term (('+'|'-') term)*`, `term := factor (('*'|'/') factor)*`,
/// `factor := ('+'|'-') factor | number | '(' expr ')'`. Only numbers and these operators exist: nothing is evaluated
/// as code. Returns nil for anything else, or a non-finite result.
struct Arithmetic {
    private let chars: [Character]
    private var position = 0

    init(_ text: String) { chars = Array(text) }

    mutating func parse() -> Double? {
        guard let value = expression(), skipSpaces(), position == chars.count, value.isFinite else { return nil }
        return value
    }

    private mutating func expression() -> Double? {
        guard var value = term() else { return nil }
        while skipSpaces(), let op = peek, op == "+" || op == "-" {
            position += 1
            guard let rhs = term() else { return nil }
            value = op == "+" ? value + rhs : value - rhs
        }
        return value
    }

    private mutating func term() -> Double? {
        guard var value = factor() else { return nil }
        while skipSpaces(), let op = peek, op == "*" || op == "/" {
            position += 1
            guard let rhs = factor() else { return nil }
            value = op == "*" ? value * rhs : value / rhs
        }
        return value
    }

    private mutating func factor() -> Double? {
        _ = skipSpaces()
        guard let char = peek else { return nil }
        switch char {
        case "+", "-":
            position += 1
            return factor().map { char == "-" ? -$0 : $0 }
        case "(":
            position += 1
            guard let value = expression(), skipSpaces(), peek == ")" else { return nil }
            position += 1
            return value
        default:
            return number()
        }
    }

    /// digits [. digits] [e [sign] digits], with at least one digit in the mantissa; `_` between digits allowed.
    private mutating func number() -> Double? {
        var text = ""
        var digits = 0
        func take(_ accept: (Character) -> Bool) {
            while let char = peek, accept(char) {
                if char != "_" { text.append(char) }
                if char.isASCIIDigit { digits += 1 }
                position += 1
            }
        }
        take { $0.isASCIIDigit || $0 == "_" }
        if peek == "." {
            text = (text.isEmpty ? "0" : text) + "."
            position += 1
            let before = digits
            take { $0.isASCIIDigit || $0 == "_" }
            if digits == before { text.append("0") }
        }
        guard digits > 0 else { return nil }
        if let e = peek, e == "e" || e == "E" {
            text.append("e")
            position += 1
            if let sign = peek, sign == "+" || sign == "-" {
                text.append(sign)
                position += 1
            }
            let before = digits
            take(\.isASCIIDigit)
            guard digits > before else { return nil }
        }
        return Double(text)
    }

    private var peek: Character? { position < chars.count ? chars[position] : nil }

    /// Skips spaces; always true, so it can sit in a condition list.
    private mutating func skipSpaces() -> Bool {
        while let char = peek, char == " " || char == "\t" { position += 1 }
        return true
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    fileprivate var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
