import ArgumentParser
import ClasConfig
import ClasEngine
import ClasExport
import Foundation

/// `-c CONFIG` and repeatable `-o KEY=VALUE`, shared by the commands that read a config.
struct ConfigArguments: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("config")], help: "PaddleClas-style YAML config.")
    var config: String

    @Option(name: [.customShort("o"), .customLong("override")], parsing: .singleValue,
            help: ArgumentHelp("Override a config key, e.g. -o Global.epochs=30 (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    /// The config with its `_BASE_` files and overrides, checked section by section (loaded once per command).
    func load() throws -> RunConfig { try RunConfig.load(config, overrides: overrides) }
}

/// `--allow-random-weights` for the commands that run a trained model (eval, infer, export, quantize): without
/// weights they would print confident-looking nonsense, so they refuse unless told.
struct WeightsArguments: ParsableArguments {
    @Flag(help: "Run without Global.pretrained_model on randomly initialised weights (to check a pipeline).")
    var allowRandomWeights = false

    /// Throws a message naming how to pass weights when the engine has none and random weights were not allowed.
    func check(_ engine: Engine, command: String) throws {
        guard engine.config.global.pretrainedModel == nil, engine.pretrainedSource == nil, !allowRandomWeights,
              !(engine.model is OnnxModel) else { return }  // an exported ONNX file carries its weights
        throw CommandError(
            "tools \(command) needs trained weights: add -o Global.pretrained_model=PATH (a checkpoint such as "
                + "output/\(engine.config.arch.name)/best_model, a weights file, or a run folder) or -o Arch.pretrained=True "
                + "(ImageNet weights), or pass "
                + "--allow-random-weights to run a randomly initialised model")
    }
}

/// A command's refusal, printed as `error: …` with exit status 1 (no usage text: the arguments were well-formed).
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The registries commands build components from; `Tools.main(registries:)` replaces them.
enum CommandContext {
    nonisolated(unsafe) static var registries: Registries = Registries.builtins().withQuantizedCheckpoints().withOnnxModels()
}

/// Runs `body`, turning SwiftClas errors into a clear message and a non-zero exit without a stack trace.
func reportingErrors(_ body: () throws -> Void) throws {
    InferencePlan.install()  // evaluation and inference run in the inference mode
    do {
        try body()
    } catch let stop as Distributed.AgreedStop {
        // Every rank of a multi-process run stopped together; rank 0 reports why.
        if stop.report { FileHandle.standardError.write(Data("error: \(stop.message)\n".utf8)) }
        throw ExitCode.failure
    } catch let error as ConfigError {
        FileHandle.standardError.write(Data("\(error.description)\n".utf8))
        throw ExitCode(2)
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
