import ArgumentParser
import ClasEngine
import ClasExport

/// The `tools` command: train, evaluate, predict and export image classifiers from PaddleClas-style configs.
public struct Tools: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "SwiftClas: image classification training, evaluation, inference and export.",
        version: SwiftClasVersion.string,
        subcommands: [TrainCommand.self, EvalCommand.self, InferCommand.self, ListCommand.self, SummaryCommand.self,
                      CkptCommand.self, ConfigCommand.self, PredictCommand.self,
                      DatasetCommand.self, BenchmarkCommand.self, EnvCommand.self, VersionCommand.self,
                      VisualizeCommand.self, LRFindCommand.self, ExportCommand.self, QuantizeCommand.self,
                      CompressCommand.self, WeightsCommand.self])

    public init() {}

    /// Runs the command line with the given registries (built-ins plus a user's own components).
    public static func main(registries: Registries) {
        CommandContext.registries = registries.withQuantizedCheckpoints().withOnnxModels()
        InferencePlan.install()
        main()
    }
}

/// The SwiftClas version.
public enum SwiftClasVersion {
    public static let string = "0.1.0"
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the SwiftClas version.")
    func run() { print("SwiftClas \(SwiftClasVersion.string)") }
}
