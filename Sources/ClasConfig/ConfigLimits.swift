/// Limits that keep a hostile config from crashing or exhausting the process: YAML nested thousands of levels deep
/// overflows the stack of the recursive composer, and nested aliases ("billion laughs") expand a few hundred bytes
/// into billions of values. Real configs stay far below both.
enum ConfigLimits {
    /// The deepest nesting accepted (PaddleClas configs nest fewer than 10 levels).
    static let maxDepth = 100
    /// The most values (scalars, lists and maps, counting every alias expansion) one document may expand to.
    static let maxNodes = 200_000

    /// An upper bound on the nesting depth of YAML `text`, from its flow brackets and, per line, its indentation
    /// and block indicators (`- `, `: `, `? `); comments are skipped. Cheap and conservative: used to refuse
    /// input before it reaches the recursive composer.
    static func nestingBound(_ text: String) -> Int {
        var flow = 0, maxFlow = 0, maxLine = 0
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            var depth = 0, leading = true, previous = UInt8(ascii: " ")
            var i = line.startIndex
            while i < line.endIndex {
                let ch = line[i]
                let next = line.index(after: i) < line.endIndex ? line[line.index(after: i)] : UInt8(ascii: " ")
                switch ch {
                case UInt8(ascii: "#") where previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\t"):
                    i = line.endIndex
                    continue
                case UInt8(ascii: " ") where leading: depth += 1
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    flow += 1
                    maxFlow = max(maxFlow, flow)
                case UInt8(ascii: "]"), UInt8(ascii: "}"): flow = max(0, flow - 1)
                case UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "?")
                    where next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") || next == UInt8(ascii: "\r"):
                    depth += 1
                default: break
                }
                if ch != UInt8(ascii: " ") { leading = false }
                previous = ch
                i = line.index(after: i)
            }
            if line.last == UInt8(ascii: ":") || line.last == UInt8(ascii: "-") { depth += 1 }
            maxLine = max(maxLine, depth)
        }
        return maxFlow + maxLine
    }
}
