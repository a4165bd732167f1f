import ClasConfig
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
              tools train -c CONFIG -o LRFinder.auto=True          # find the learning rate first
              mpirun -np 2 tools train -c CONFIG   # data-parallel over 2 processes (Open MPI)
            Checkpoints, logs and train_curves.png go to Global.output_dir/<Arch.name>/ (TensorBoard events to
            its vdl/ folder with Global.use_visualdl: True).
            A folder that already holds a run (best_model or latest) is refused
            unless resuming (Global.checkpoints) or with --overwrite.
            """)

    @OptionGroup var options: ConfigArguments
    @Flag(help: "Write over an existing run's checkpoints in the output folder (as -o Global.overwrite=True does).")
    var overwrite = false

    func run() throws {
        try reportingErrors {
            let config = try RunConfig.load(options.config,
                                            overrides: options.overrides + (overwrite ? ["Global.overwrite=True"] : []))
            try RunFolder.checkFresh(config)
            try Distributed.run {
                // With LRFinder.auto, the learning-rate finder runs first and sets the base rate (nil: stop_after).
                guard let engine = try LRFinder.trainingEngine(config: config,
                                                               registries: CommandContext.registries) else { return }
                try Trainer(engine: engine).run()
            }
        }
    }
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate weights on DataLoader.Eval; write metrics and plots.",
        discussion: """
            Writes to Global.output_dir/<Arch.name>/eval/, not over the training
            run's files: metrics.yaml (loss, Metric.Eval values, mAP, balanced
            accuracy, macro precision/recall/F1, per-class figures, confusion
            matrix), per_class.txt, confusion_matrix.png, predictions.csv (one row
            per image: file, label, top-1 prediction and score, correct), eval.log
            and the resolved config.eval.yaml; with --mistakes N also mistakes.png,
            the N most confident wrong predictions as captioned images.
            Example: tools eval -c CONFIG -o Global.pretrained_model=output/MobileNetV3_small_x1_0/best_model
            """)

    @OptionGroup var options: ConfigArguments
    @OptionGroup var weights: WeightsArguments
    @Option(help: "Write the per-image predictions CSV here instead of <output folder>/eval/predictions.csv.")
    var predictions: String?
    @Option(help: "Also write mistakes.png: the N most confident wrong predictions, with true and predicted class.")
    var mistakes: Int?

    func validate() throws {
        if let mistakes, mistakes < 1 { throw ValidationError("--mistakes must be at least 1, got \(mistakes)") }
    }

    func run() throws {
        try reportingErrors {
            try Distributed.runOnRankZero(command: "eval") {
                let engine = try Engine(config: options.load(), mode: .eval, registries: CommandContext.registries)
                try weights.check(engine, command: "eval")
                try EvaluationReport(engine: engine, predictionsPath: predictions, mistakes: mistakes ?? 0).run()
            }
        }
    }
}

struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer", abstract: "Classify images; one JSON line per image on stdout.",
        discussion: """
            infer.log and config.infer.yaml go to Global.output_dir/<Arch.name>/infer/.
            Example:
              tools infer -c CONFIG -o Infer.infer_imgs=DIR \\
                  -o Global.pretrained_model=output/M
            Without a config: tools predict IMAGES... --weights output/M
            """)

    @OptionGroup var options: ConfigArguments
    @OptionGroup var weights: WeightsArguments

    func run() throws {
        try reportingErrors {
            try Distributed.runOnRankZero(command: "infer") {
                let engine = try Engine(config: options.load(), mode: .infer, registries: CommandContext.registries,
                                        quiet: true)
                try weights.check(engine, command: "infer")
                try Predictor(engine: engine).run()
            }
        }
    }
}
