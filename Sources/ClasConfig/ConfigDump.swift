import Yams

/// Writes a resolved config tree back to YAML, for the run's output folder.
///
/// Keys keep their order, quoted scalars stay quoted, plain ones stay plain, nulls are written `null`, and short
/// lists of simple scalars are written in flow style (`[3, 224, 224]`). Loading the text again gives an equal tree.
public enum ConfigDump {
    /// The YAML text of `node`, optionally preceded by `header` lines written as `#` comments.
    public static func yaml(_ node: ConfigNode, header: String? = nil) throws -> String {
        let comment =
            header.map { text in
                text.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" }.joined(separator: "\n")
                    + "\n"
            } ?? ""
        do {
            return comment + (try Yams.serialize(node: yamsNode(node), indent: 2, width: -1, allowUnicode: true))
        } catch {
            throw ConfigError("cannot write the config as YAML: \(error)", at: node)
        }
    }

    private static func yamsNode(_ node: ConfigNode) -> Node {
        switch node.kind {
        case .null:
            return Node("null", .implicit, .plain)
        case .scalar(let scalar):
            return Node(scalar.text, .implicit, scalar.isQuoted ? .singleQuoted : .plain)
        case .sequence(let items):
            let flow = !items.isEmpty && items.count <= 16 && items.allSatisfy(isFlowSafe) || items.isEmpty
            return Node(items.map(yamsNode), .implicit, flow ? .flow : .block)
        case .mapping(let entries):
            let pairs = entries.map { (Node($0.key, .implicit, .plain), yamsNode($0.value)) }
            return Node(pairs, .implicit, entries.isEmpty ? .flow : .block)
        }
    }

    /// A scalar that reads the same inside `[ … ]`: quoted, or plain made only of number/name characters.
    private static func isFlowSafe(_ node: ConfigNode) -> Bool {
        switch node.kind {
        case .null: return true
        case .scalar(let scalar):
            return scalar.isQuoted
                || !scalar.text.isEmpty && scalar.text.allSatisfy { $0.isLetter || $0.isNumber || "_.+-/".contains($0) }
        default: return false
        }
    }
}
