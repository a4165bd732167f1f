/// "Did you mean …?" suggestions by edit distance.
public enum Suggest {
    /// The candidates closest to `input`: all candidates tied at the best score, in candidate order, at most `limit`.
    ///
    /// Scoring, case-insensitive: an optimal-string-alignment (Damerau–Levenshtein) distance within
    /// `max(1, input.count / 3)`; failing that, candidates that start with `input` (at least 3 characters), or that
    /// `input` starts with; otherwise nothing.
    public static func closest(to input: String, in candidates: [String], limit: Int = 5) -> [String] {
        let needle = input.lowercased()
        var seen = Set<String>()
        let unique = candidates.filter { $0 != input && seen.insert($0).inserted }
        let scored = unique.map { ($0, distance(needle, $0.lowercased())) }
        let threshold = max(1, needle.count / 3)
        if let best = scored.map(\.1).filter({ $0 <= threshold }).min() {
            return Array(scored.filter { $0.1 == best }.map(\.0).prefix(limit))
        }
        guard needle.count >= 3 else { return [] }
        let prefixed = unique.filter { $0.lowercased().hasPrefix(needle) || needle.hasPrefix($0.lowercased()) }
        return Array(prefixed.prefix(limit))
    }

    /// ` Did you mean 'x'?`, ` Did you mean one of 'x', 'y'?`, or empty (note the leading space).
    public static func didYouMean(_ input: String, in candidates: [String]) -> String {
        let found = closest(to: input, in: candidates)
        switch found.count {
        case 0: return ""
        case 1: return " Did you mean '\(found[0])'?"
        default: return " Did you mean one of " + found.map { "'\($0)'" }.joined(separator: ", ") + "?"
        }
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions cost 1.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
