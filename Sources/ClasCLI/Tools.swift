import ArgumentParser

/// The `tools` command: train, evaluate, predict and export image classifiers from PaddleClas-style configs.
public struct Tools: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "SwiftClas: image classification training, evaluation, inference and export.",
        version: SwiftClasVersion.string,
        subcommands: [VersionCommand.self, BenchmarkCommand.self])

    public init() {}
}

/// The SwiftClas version.
public enum SwiftClasVersion {
    public static let string = "0.1.0"
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the SwiftClas version.")
    func run() { print("SwiftClas \(SwiftClasVersion.string)") }
}
