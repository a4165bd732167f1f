import ArgumentParser
import ClasConfig
import ClasEngine
import Foundation

/// `tools config show`: the resolved config (`_BASE_` files merged, `-o` applied, validated) without running.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Inspect configs without running them.", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print the resolved config, optionally with where each value came from.",
            discussion: """
                The config is loaded and validated exactly as `tools train` would (the same errors), then printed \
                as YAML. With --sources, every value is printed on its own line with its origin: a file and line, \
                or the -o option that set it.

                Examples:
                  tools config show -c configs/quickstart_mobilenet_v3_small_fmnist.yaml -o Global.epochs=2
                  tools config show -c CONFIG --sources | grep Optimizer
                """)

        @OptionGroup var args: ConfigArguments

        @Flag(help: "Print one `key.path: value  # origin` line per value instead of YAML.")
        var sources = false

        func run() throws {
            try reportingErrors {
                let config = try args.load()
                if sources {
                    var lines: [String] = []
                    Show.flatten(config.root, path: "", into: &lines)
                    print(lines.joined(separator: "\n"))
                } else {
                    let header = "resolved from \(args.config)"
                        + (args.overrides.isEmpty ? "" : " with -o " + args.overrides.joined(separator: " -o "))
                    print(try ConfigDump.yaml(config.root, header: header), terminator: "")
                }
            }
        }

        /// Leaf values as `path: value  # origin`; list items get `[i]` in the path.
        static func flatten(_ node: ConfigNode, path: String, into lines: inout [String]) {
            switch node.kind {
            case .mapping(let entries):
                if entries.isEmpty { lines.append("\(path): {}  # \(node.location)") }
                for e in entries { flatten(e.value, path: path.isEmpty ? e.key : "\(path).\(e.key)", into: &lines) }
            case .sequence(let items):
                if items.isEmpty { lines.append("\(path): []  # \(node.location)") }
                for (i, item) in items.enumerated() { flatten(item, path: "\(path)[\(i)]", into: &lines) }
            case .scalar(let s):
                lines.append("\(path): \(s.isQuoted ? "'\(s.text)'" : s.text)  # \(node.location)")
            case .null:
                lines.append("\(path): null  # \(node.location)")
            }
        }
    }
}
