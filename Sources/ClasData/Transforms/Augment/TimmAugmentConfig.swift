import Foundation

/// A parsed timm augmentation string (`config_str` of `TimmAutoAugment`), following timm's grammar: sections
/// separated by `-`, the first naming the scheme, each other a key followed by its number.
///
/// - `rand-…` (RandAugment): `m` magnitude (int, default 10), `n` layers (2), `p` per-op probability (0.5), `mstd`
///   magnitude noise std (0; above 100 means uniform in [0, m]), `mmax` magnitude clip (10), `inc` increasing-severity
///   op set (0/1), `w` op-choice weight set (only 0).
/// - `augmix-…` (AugMix): `m` severity (3), `w` chain count (3), `d` chain depth (-1 = random 1…3), `a` Dirichlet/Beta
///   alpha (1.0), `b` blended mode (0/1), `mstd`.
/// - `original`, `originalr`, `v0`, `v0r` (AutoAugment policies): `mstd`.
///
/// Examples: `rand-m9-mstd0.5-inc1`, `rand-m7-n3-p0.8`, `augmix-m5-w3`, `augmix-m3-w4-d2-a0.5`, `original-mstd0.5`,
/// `v0`. Unlike timm, which skips sections without a number, every section must be known and valid; errors name
/// the section.
public struct TimmAugmentConfig: Equatable, Sendable {
    /// The augmentation scheme and its settings.
    public enum Scheme: Equatable, Sendable {
        case rand(magnitude: Int, numLayers: Int, prob: Double, increasing: Bool, weightIndex: Int?)
        case augmix(magnitude: Int, width: Int, depth: Int, alpha: Double, blended: Bool)
        case auto(policy: String)
    }

    public var scheme: Scheme
    /// `mstd`: standard deviation of the magnitude noise (infinity = uniform sampling).
    public var magnitudeStd: Double
    /// `mmax`: upper clip of the magnitude (RandAugment only).
    public var magnitudeMax: Double

    /// The AutoAugment policy names.
    public static let policies = ["original", "originalr", "v0", "v0r"]

    /// Parses `text`; errors are ``OptionsError``s naming the offending section.
    public static func parse(_ text: String) throws -> TimmAugmentConfig {
        let sections = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard let head = sections.first, !head.isEmpty else {
            throw OptionsError("config_str is empty; expected e.g. 'rand-m9-mstd0.5-inc1', 'augmix-m5-w3' or 'original'")
        }
        let allowed: [String]
        switch head {
        case "rand": allowed = ["m", "n", "p", "mstd", "mmax", "inc", "w"]
        case "augmix": allowed = ["m", "w", "d", "a", "b", "mstd"]
        case _ where policies.contains(head): allowed = ["mstd"]
        default:
            throw OptionsError("config_str '\(text)': unknown scheme '\(head)'; expected 'rand', 'augmix' or an "
                               + "AutoAugment policy (\(policies.joined(separator: ", ")))")
        }
        var values: [String: String] = [:]
        for section in sections.dropFirst() {
            guard let digit = section.firstIndex(where: \.isNumber) else {
                throw OptionsError("config_str '\(text)': section '\(section)' has no number; \(head) takes "
                                   + allowed.map { "\($0)<number>" }.joined(separator: ", "))
            }
            let key = String(section[..<digit]), value = String(section[digit...])
            guard allowed.contains(key) else {
                throw OptionsError("config_str '\(text)': unknown section '\(section)' (key '\(key)'); \(head) takes "
                                   + allowed.map { "\($0)<number>" }.joined(separator: ", "))
            }
            values[key] = value
        }
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let v = values[key] else { return fallback }
            guard let i = Int(v) else { throw OptionsError("config_str '\(text)': section '\(key)\(v)' needs an integer") }
            return i
        }
        func double(_ key: String, _ fallback: Double) throws -> Double {
            guard let v = values[key] else { return fallback }
            guard let d = Double(v), d.isFinite else {
                throw OptionsError("config_str '\(text)': section '\(key)\(v)' needs a number")
            }
            return d
        }
        var mstd = try double("mstd", 0)
        if mstd > 100 { mstd = .infinity }
        let scheme: Scheme
        switch head {
        case "rand":
            let weightIndex = values["w"] == nil ? nil : try int("w", 0)
            if let w = weightIndex, w != 0 {
                throw OptionsError("config_str '\(text)': section 'w\(w)': only weight set 0 exists")
            }
            let prob = try double("p", 0.5)
            guard (0...1).contains(prob) else { throw OptionsError("config_str '\(text)': p must be in [0, 1], got \(prob)") }
            scheme = .rand(magnitude: try int("m", 10), numLayers: try int("n", 2), prob: prob,
                           increasing: try int("inc", 0) != 0, weightIndex: weightIndex)
        case "augmix":
            let alpha = try double("a", 1)
            guard alpha > 0 else { throw OptionsError("config_str '\(text)': a (alpha) must be > 0, got \(alpha)") }
            let width = try int("w", 3)
            guard width >= 1 else { throw OptionsError("config_str '\(text)': w (width) must be >= 1, got \(width)") }
            scheme = .augmix(magnitude: try int("m", 3), width: width, depth: try int("d", -1), alpha: alpha,
                             blended: try int("b", 0) != 0)
        default:
            scheme = .auto(policy: head)
        }
        return TimmAugmentConfig(scheme: scheme, magnitudeStd: mstd, magnitudeMax: try double("mmax", 10))
    }
}
