import ArgumentParser
import ClasEngine

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model from a config.",
        discussion: """
            Examples:
              tools train -c configs/mobilenet_v3_small_fmnist.yaml
              tools train -c CONFIG -o Global.epochs=30 -o Optimizer.lr.learning_rate=0.05
              tools train -c CONFIG -o Global.checkpoints=output/MobileNetV3_small_x1_0/latest   # resume
              mpirun -np 2 tools train -c CONFIG   # data-parallel over 2 processes (Open MPI)
            Checkpoints and logs go to Global.output_dir/<Arch.name>/.
            """)

    @OptionGroup var options: ConfigArguments

    func run() throws {
        try reportingErrors {
            try Distributed.run {
                let engine = try Engine(configPath: options.config, overrides: options.overrides, mode: .train,
                                        registries: CommandContext.registries)
                try Trainer(engine: engine).run()
            }
        }
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate weights on DataLoader.Eval and write metrics.yaml.",
        discussion: "Example: tools eval -c CONFIG -o Global.pretrained_model=output/MobileNetV3_small_x1_0/best_model")

    @OptionGroup var options: ConfigArguments

    func run() throws {
        try reportingErrors {
            try Distributed.runOnRankZero(command: "eval") {
                let engine = try Engine(configPath: options.config, overrides: options.overrides, mode: .eval,
                                        registries: CommandContext.registries)
                try EvaluationReport(engine: engine).run()
            }
        }
    }
}

struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer", abstract: "Classify images; one JSON line per image on stdout.",
        discussion: "Example: tools infer -c CONFIG -o Infer.infer_imgs=some/dir -o Global.pretrained_model=output/M/best_model")

    @OptionGroup var options: ConfigArguments

    func run() throws {
        try reportingErrors {
            try Distributed.runOnRankZero(command: "infer") {
                let engine = try Engine(configPath: options.config, overrides: options.overrides, mode: .infer,
                                        registries: CommandContext.registries, quiet: true)
                try Predictor(engine: engine).run()
            }
        }
    }
}
