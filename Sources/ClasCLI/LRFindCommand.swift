import ArgumentParser
import ClasEngine

/// `tools lr_find`: the learning-rate range test, or a grid/TPE search of short trainings.
struct LRFindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lr_find", abstract: "Find a learning rate (range test, or grid/TPE search).",
        discussion: """
            Settings come from the config's LRFinder section (defaults when absent); change them with -o, e.g.
              tools lr_find -c CONFIG
              tools lr_find -c CONFIG -o LRFinder.min_lr=1e-5 -o LRFinder.max_lr=3 -o LRFinder.num_iter=200
              tools lr_find -c CONFIG -o LRFinder.mode=tpe -o LRFinder.num_trials=6 -o LRFinder.trial_iters=100
            The model's weights are left untouched. The curve goes to LRFinder.path_to_savefig (default
            Global.output_dir/<Arch.name>/lr_find.png). To run the finder before every training:
              tools train -c CONFIG -o LRFinder.auto=True
            """)

    @OptionGroup var options: ConfigArguments

    func run() throws {
        try reportingErrors {
            let engine = try Engine(config: options.load(), mode: .train, registries: CommandContext.registries)
            let result = try LRFinder.run(engine: engine)
            print("suggested lr: \(result.learningRate)")
            print("train with:   -o \(try LRFinder.override(for: engine.config, learningRate: result.learningRate))")
        }
    }
}
