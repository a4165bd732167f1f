import Foundation

/// The shipped configs (`configs/` in SwiftClas's layered style, `ppcls-style-configs/` in PaddleClas's flat
/// format), each with the first line of its leading comment as its description (`tools list configs`).
///
/// The folders are looked for in `$CLAS_CONFIGS` (a directory holding them), the current directory, the source
/// checkout the binary was built in (`<repo>/.build/<config>/tools`), and `<prefix>/share/swiftclas` (`make install`).
enum ConfigCatalogue {
    static let folders = ["configs", "ppcls-style-configs"]

    /// One shipped config: its path as a user types it (relative to `root`) and its description.
    struct Entry: Equatable {
        let path: String
        let description: String
    }

    /// The first directory that holds at least one of ``folders``.
    static func root(environment: [String: String] = ProcessInfo.processInfo.environment,
                     currentDirectory: String = FileManager.default.currentDirectoryPath,
                     executable: String = CommandLine.arguments.first ?? "") -> String? {
        let exe = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates = [currentDirectory]
        if let dir = environment["CLAS_CONFIGS"] { candidates.insert(dir, at: 0) }
        candidates.append(exe.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path)
        candidates.append(exe.deletingLastPathComponent().appendingPathComponent("share/swiftclas").path)
        return candidates.first { dir in
            folders.contains { FileManager.default.fileExists(atPath: "\(dir)/\($0)") }
        }
    }

    /// Every config under `root`'s folders, sorted, except the `_base_` fragments they inherit from.
    static func entries(root: String) -> [Entry] {
        var result: [Entry] = []
        for folder in folders {
            guard let walker = FileManager.default.enumerator(atPath: "\(root)/\(folder)") else { continue }
            for case let path as String in walker where path.hasSuffix(".yaml") && !path.contains("_base_/") {
                let full = "\(root)/\(folder)/\(path)"
                result.append(Entry(path: "\(folder)/\(path)", description: description(of: full)))
            }
        }
        return result.sorted { $0.path < $1.path }
    }

    /// The first line of the file's leading comment, without the `#`.
    static func description(of path: String) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(unreadable)" }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("#") else { break }
            let body = trimmed.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
            if !body.isEmpty { return body }
        }
        return ""
    }

    /// The listing `tools list configs` prints.
    static func text(root: String?) -> String {
        guard let root else {
            return "configs: none found (looked in $CLAS_CONFIGS, the current directory, the source checkout and "
                + "<prefix>/share/swiftclas); run from the SwiftClas checkout or set CLAS_CONFIGS."
        }
        var lines = ["configs (in \(root)):"]
        for entry in entries(root: root) {
            lines.append("  \(entry.path)")
            if !entry.description.isEmpty { lines.append("      \(entry.description)") }
        }
        return lines.joined(separator: "\n")
    }
}
