import Foundation

/// Layered configs: `_BASE_: path` (or a list of paths) at the top of a file, relative to that file.
///
/// Bases merge in order, then the file's own content on top. Maps merge key by key, recursively; lists, scalars
/// and null replace whatever was below. A `_BASE_` cycle or a missing base file is an error located at the
/// `_BASE_` entry that names it.
public enum Inheritance {
    /// The key that lists base files.
    public static let baseKey = "_BASE_"

    /// Reads `path` and everything it inherits from, merged into one tree without `_BASE_`.
    public static func resolve(_ path: String) throws -> ConfigNode {
        let file = try ConfigLoader.readFile(path, location: .unknown)
        return try resolve(file, chain: [])
    }

    /// Merges `overlay` onto `base`: maps key by key (recursively, base key order first), anything else replaces.
    public static func merge(_ base: ConfigNode, _ overlay: ConfigNode) -> ConfigNode {
        guard let baseEntries = base.entries, let overlayEntries = overlay.entries else { return overlay }
        var entries = baseEntries
        for entry in overlayEntries {
            if let index = entries.firstIndex(where: { $0.key == entry.key }) {
                let value = merge(entries[index].value, entry.value)
                entries[index] = .init(key: entry.key, keyLocation: entry.keyLocation, value: value)
            } else {
                entries.append(entry)
            }
        }
        return .mapping(entries, at: overlay.location)
    }

    /// One file of the chain: its bases (recursively), then its own content.
    private static func resolve(_ file: SourceFile, chain: [(file: SourceFile, key: String)]) throws -> ConfigNode {
        let own = try ConfigLoader.parse(file)
        guard let baseEntry = own.entry(baseKey) else { return own }
        let chain = chain + [(file, canonical(file.path))]
        var result = ConfigNode.mapping([], at: own.location)
        for (spelled, node) in try basePaths(baseEntry) {
            let path = joined(directoryOf: file.path, spelled)
            let key = canonical(path)
            if chain.contains(where: { $0.key == key }) {
                let cycle = chain.drop { $0.key != key }.map(\.file.path) + [path]
                throw ConfigError("_BASE_ cycle: " + cycle.joined(separator: " → "), at: node)
            }
            let base = try ConfigLoader.readFile(path, location: node.location, what: "base config")
            result = merge(result, try resolve(base, chain: chain))
        }
        return merge(result, own.removing([baseKey]))
    }

    /// The paths listed by a `_BASE_` entry, each with its node for error locations.
    private static func basePaths(_ entry: ConfigNode.Entry) throws -> [(String, ConfigNode)] {
        let nodes: [ConfigNode]
        switch entry.value.kind {
        case .null: return []
        case .scalar: nodes = [entry.value]
        case .sequence(let items): nodes = items
        case .mapping: throw ConfigError("_BASE_ expects a file path or a list of paths, got a map", at: entry.value)
        }
        return try nodes.map { node in
            guard let text = node.scalar?.text, !text.isEmpty else {
                throw ConfigError("_BASE_ expects a file path, got \(node.summary)", at: node)
            }
            return (text, node)
        }
    }

    /// `relative` resolved against the directory of `path` (absolute paths stay), normalised (`a/./b/../c` → `a/c`).
    public static func joined(directoryOf path: String, _ relative: String) -> String {
        if relative.hasPrefix("/") { return normalized(relative) }
        let directory = (path as NSString).deletingLastPathComponent
        return normalized(directory.isEmpty ? relative : directory + "/" + relative)
    }

    /// Lexical normalisation of a path: drops `.` segments and folds `x/..`.
    public static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
                continue
            }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// An absolute, symlink-resolved path used to recognise the same file spelled differently.
    private static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
}
