import Foundation
import Yams

/// Reads PaddleClas-style YAML into ``ConfigNode`` trees.
///
/// `load(_:overrides:)` is the whole pipeline: read the file, resolve `_BASE_` files (``Inheritance``), then apply
/// every `-o KEY=VALUE` in order (``Overrides``). Errors are ``ConfigError``s with file:line:column.
public enum ConfigLoader {
    /// Loads `path` with its `_BASE_` files, then applies `overrides` (the `-o` texts, in command-line order).
    public static func load(_ path: String, overrides: [String] = []) throws -> ConfigNode {
        let tree = try Inheritance.resolve(path)
        return try Overrides.apply(overrides, to: tree)
    }

    /// Reads and parses one file, without resolving `_BASE_`. An empty file gives an empty map.
    public static func loadFile(_ path: String) throws -> ConfigNode {
        try parse(readFile(path, location: .unknown))
    }

    /// Parses YAML text; `path` is only used in locations. An empty document gives an empty map.
    public static func parse(_ text: String, path: String) throws -> ConfigNode {
        try parse(SourceFile(path: path, text: text))
    }

    /// Reads a file, reporting a missing or unreadable file at `location` (the `_BASE_` entry naming it, if any).
    static func readFile(_ path: String, location: SourceLocation, what: String = "config file") throws -> SourceFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let reason = !exists ? "not found" : isDirectory.boolValue ? "is a directory" : "cannot be read"
            throw ConfigError("\(what) '\(path)' \(reason)", at: location)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("\(what) '\(path)' is not valid UTF-8", at: location)
        }
        return SourceFile(path: path, text: text)
    }

    /// Parses a file's text into a tree whose root is a map.
    static func parse(_ file: SourceFile) throws -> ConfigNode {
        let root = try parseDocument(file.text) { line, column in .file(file, line: line, column: column) }
        let whole = SourceLocation.file(file, line: 0, column: 0)
        switch root.kind {
        case .null: return .mapping([], at: whole)
        case .mapping: return root
        default: throw ConfigError("expected a map of sections at the top level, got \(root.summary)", at: root)
        }
    }

    /// Parses one YAML document (null when empty), locating nodes with `locate`.
    static func parseDocument(_ text: String, locate: (Int, Int) -> SourceLocation) throws -> ConfigNode {
        guard ConfigLimits.nestingBound(text) <= ConfigLimits.maxDepth else {
            throw ConfigError("YAML nested more than \(ConfigLimits.maxDepth) levels deep is not a config", at: locate(1, 1))
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw yamlError(error, locate: locate)
        }
        guard let node else { return .null(at: locate(1, 1)) }
        var budget = ConfigLimits.maxNodes
        return try convert(node, locate: locate, budget: &budget)
    }

    /// Turns a Yams node into a ``ConfigNode``, rejecting duplicate and non-scalar keys and applying `<<` merges;
    /// refuses documents that expand (through aliases) to more than `budget` values.
    static func convert(_ node: Node, locate: (Int, Int) -> SourceLocation, budget: inout Int) throws -> ConfigNode {
        let location = node.mark.map { locate($0.line, $0.column) } ?? .unknown
        budget -= 1
        guard budget >= 0 else {
            throw ConfigError("the YAML expands to more than \(ConfigLimits.maxNodes) values (aliases of aliases?); "
                              + "this is not a config", at: location)
        }
        switch node {
        case .scalar(let scalar):
            let quoted = scalar.style != .plain || scalar.tag.description == Tag.Name.str.rawValue
            return .scalar(scalar.string, quoted: quoted, at: location)
        case .sequence(let sequence):
            return .sequence(try sequence.map { try convert($0, locate: locate, budget: &budget) }, at: location)
        case .mapping(let mapping):
            var entries: [ConfigNode.Entry] = []
            var merged: [ConfigNode.Entry] = []
            for (keyNode, valueNode) in mapping {
                let keyLocation = keyNode.mark.map { locate($0.line, $0.column) } ?? location
                guard case .scalar(let keyScalar) = keyNode else {
                    throw ConfigError("map keys must be plain names, not a list or map", at: keyLocation)
                }
                let value = try convert(valueNode, locate: locate, budget: &budget)
                if keyScalar.string == "<<" && keyScalar.style == .plain {
                    merged += try mergeEntries(value)
                    continue
                }
                if let first = entries.first(where: { $0.key == keyScalar.string }) {
                    let previous = first.keyLocation.line.map { " (first set on line \($0))" } ?? ""
                    throw ConfigError("duplicate key '\(keyScalar.string)'\(previous)", at: keyLocation)
                }
                entries.append(.init(key: keyScalar.string, keyLocation: keyLocation, value: value))
            }
            // YAML 1.1 merge keys: explicit keys win over merged ones; earlier merged maps win over later ones.
            for entry in merged where !entries.contains(where: { $0.key == entry.key }) {
                entries.append(entry)
            }
            return .mapping(entries, at: location)
        }
    }

    /// The entries brought in by a `<<:` merge key (a map or a list of maps).
    private static func mergeEntries(_ value: ConfigNode) throws -> [ConfigNode.Entry] {
        let maps = value.items ?? [value]
        var result: [ConfigNode.Entry] = []
        for map in maps {
            guard let entries = map.entries else {
                throw ConfigError("'<<' merges maps, got \(map.summary)", at: map)
            }
            for entry in entries where !result.contains(where: { $0.key == entry.key }) { result.append(entry) }
        }
        return result
    }

    /// A YAML syntax error as a located ``ConfigError`` keeping libyaml's wording.
    static func yamlError(_ error: YamlError, locate: (Int, Int) -> SourceLocation) -> ConfigError {
        func make(_ context: YamlError.Context?, _ problem: String, _ line: Int, _ column: Int) -> ConfigError {
            var message = "invalid YAML: \(problem)"
            if problem == "but found another document" {
                message = "invalid YAML: a config file holds one document, but '---' starts another"
            } else if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            let location = locate(line, column)
            if let text = location.snippet, text.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                message += "; YAML does not allow tabs for indentation, use spaces"
            }
            return ConfigError(message, at: location)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return make(context, problem, mark.line, mark.column)
        case .reader(let problem, let offset, _, let yaml):
            let before = yaml.prefix(offset ?? 0)
            let line = before.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
            let column = before.reversed().prefix { $0 != "\n" }.count + 1
            return make(nil, problem, line, column)
        default:
            return ConfigError("invalid YAML: \(error)", at: locate(1, 1))
        }
    }
}
