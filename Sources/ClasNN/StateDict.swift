import ClasTensor

/// What happened when weights were loaded into a module.
public struct LoadReport: CustomStringConvertible {
    /// Names in the module with no tensor in the source.
    public var missing: [String] = []
    /// Names in the source that the module does not have.
    public var unexpected: [String] = []
    /// Names present on both sides with different element counts or shapes: (name, module shape, source shape).
    public var mismatched: [(String, [Int], [Int])] = []
    /// Number of tensors copied.
    public var loaded = 0

    public var description: String {
        var parts = ["loaded \(loaded) tensors"]
        if !missing.isEmpty { parts.append("missing \(missing.count): \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", …" : "")") }
        if !unexpected.isEmpty { parts.append("unexpected \(unexpected.count): \(unexpected.prefix(5).joined(separator: ", "))\(unexpected.count > 5 ? ", …" : "")") }
        for (n, a, b) in mismatched.prefix(5) { parts.append("shape mismatch \(n): model \(a), file \(b)") }
        return parts.joined(separator: "; ")
    }
}

extension Module {
    /// Copies tensors by name into this module's parameters and buffers (shapes must match exactly;
    /// mismatches are reported and skipped). Does not record a graph.
    @discardableResult
    public func load(_ tensors: [String: Tensor]) -> LoadReport {
        var report = LoadReport()
        let own = stateDict()
        let ownNames = Set(own.map(\.0))
        for (name, t) in own {
            guard let src = tensors[name] else {
                report.missing.append(name)
                continue
            }
            guard src.shape == t.shape else {
                report.mismatched.append((name, t.shape, src.shape))
                continue
            }
            t.copy(from: src)
            report.loaded += 1
        }
        report.unexpected = tensors.keys.filter { !ownNames.contains($0) }.sorted()
        return report
    }
}
