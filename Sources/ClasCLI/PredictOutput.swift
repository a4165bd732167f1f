import ClasEngine
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tools predict`'s output formats and glob expansion.
enum PredictOutput {
    /// The results (``Predictor``'s dictionaries) as a table, JSON lines (as `tools infer` prints) or CSV.
    static func render(_ results: [[String: Any]], format: PredictCommand.Format) -> String {
        var out = ""
        switch format {
        case .json:
            for r in results { if let line = Predictor.jsonLine(r) { out += line + "\n" } }
        case .csv:
            out = "file_name,rank,class_id,label_name,score\n"
            for r in results {
                for (rank, (id, label, score)) in entries(r).enumerated() {
                    out += [csv(file(r)), "\(rank + 1)", "\(id)", csv(label), "\(score)"].joined(separator: ",") + "\n"
                }
            }
        case .table:
            let width = min(60, results.map { file($0).count }.max() ?? 0)
            for r in results {
                let name = file(r).padding(toLength: max(width, file(r).count), withPad: " ", startingAt: 0)
                let preds = entries(r).map { "\($0.1.isEmpty ? "class \($0.0)" : $0.1) \(String(format: "%.5f", $0.2))" }
                out += name + "  " + preds.joined(separator: ", ") + "\n"
            }
        }
        return out
    }

    private static func file(_ r: [String: Any]) -> String { r["file_name"] as? String ?? "" }

    /// (class id, label name, score) in rank order.
    private static func entries(_ r: [String: Any]) -> [(Int, String, Double)] {
        let ids = r["class_ids"] as? [Int] ?? [], scores = r["scores"] as? [Double] ?? []
        let names = r["label_names"] as? [String] ?? []
        return ids.indices.map { (ids[$0], $0 < names.count ? names[$0] : "", $0 < scores.count ? scores[$0] : .nan) }
    }

    private static func csv(_ field: String) -> String {
        field.contains(where: { ",\"\n".contains($0) }) ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }

    /// The paths matching a shell pattern, sorted.
    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        #if canImport(Glibc)
        let status = Glibc.glob(pattern, 0, nil, &g)
        #else
        let status = Darwin.glob(pattern, 0, nil, &g)
        #endif
        guard status == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].flatMap { String(cString: $0) } }.sorted()
    }
}
