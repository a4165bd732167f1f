import ClasConfig
import ClasNN
import ClasPlot
import ClasTensor
import Foundation

/// What the LR finder chose and how.
public struct LRFinderResult {
    public var mode: LRFinderConfig.Mode
    /// The chosen learning rate.
    public var learningRate: Double
    /// Range test: the recorded steps.
    public var rangeTest: LRRangeTest?
    /// Grid and TPE: each trial's rate and best validation metric, in the order run.
    public var trials: [(lr: Double, score: Double)] = []
    /// The metric the trials were scored by (e.g. `top1`).
    public var metric: String?
    /// The saved figure, if any.
    public var figurePath: String?
}

/// The learning-rate range test (`LRFinder.mode: range`) on an engine's model, with the run's own loss and
/// optimizer settings: `min_lr` for the `warmup` steps, then an exponential ramp to `max_lr` over `num_iter`
/// steps, stopping early when the smoothed loss diverges. One optimizer step per batch (`update_freq` is not
/// applied); `clip_norm` is. The model's weights and buffers are restored afterwards and the optimizer used is a
/// private one, so training starts exactly as it would have.
///
/// `LRFinder.run(engine:options:)` also runs the `grid` and `tpe` searches (``LRSearch``).
public final class LRFinder {
    public let engine: Engine
    public let options: LRFinderConfig

    /// - Parameter options: the finder's settings; default `LRFinder` from the config, else the defaults.
    public init(engine: Engine, options: LRFinderConfig? = nil) {
        self.engine = engine
        self.options = options ?? engine.config.lrFinder ?? LRFinderConfig()
    }

    /// Runs the range test, logs the choice and saves the figure (`path_to_savefig`).
    public func run() throws -> LRFinderResult {
        let model = engine.model, logger = engine.logger
        let snapshot = model.stateDict().map { ($0.0, $0.1.detachedCopy()) }
        let wasTraining = model.isTraining
        defer {
            _ = model.load(Dictionary(snapshot, uniquingKeysWith: { a, _ in a }))
            for p in model.parameters() { p.grad = nil }
            model.train(wasTraining)
        }
        let trainer = try Trainer(engine: engine)  // the run's optimizer, losses and clipping, on a private optimizer
        guard let data = engine.trainData else { throw EngineError("the LR finder needs DataLoader.Train") }
        let trainStep = trainer.step, optimizer = trainer.optimizer
        let warmup = options.warmupIter + Int((options.warmupEpoch * Double(data.batchesPerEpoch)).rounded())
        var test = LRRangeTest(minLR: options.minLR, maxLR: options.maxLR, numIter: options.numIter,
                               smoothing: options.smoothF, divergeThreshold: options.divergeTh)
        logger.info("[LRFinder] range test: lr \(LRRangeTest.format(options.minLR)) to \(LRRangeTest.format(options.maxLR)) "
                    + "over \(options.numIter) steps" + (warmup > 0 ? " after \(warmup) warm-up steps" : ""))
        model.train()
        var epoch = 1, step = 0
        var cursor = try data.start(epoch: epoch, from: 0)
        defer { cursor.cancel() }
        let printEvery = max(1, options.numIter / 10)
        while !test.isFinished {
            guard let batch = try cursor.next() else {
                cursor.cancel()
                epoch += 1
                cursor = try data.start(epoch: epoch, from: 0)
                continue
            }
            let ramping = step >= warmup
            let lr = ramping ? test.nextLearningRate : options.minLR
            Randomness.beginStep(seed: engine.seed, step: step)
            optimizer.learningRate = Float(lr)
            let total = trainStep.forward(batch.images, batch.targets).total
            let loss = Double(total.item)
            if loss.isFinite {
                trainStep.backward(total)
                trainStep.update(scale: 1, norm: trainStep.gradientNorm(scale: 1), images: batch.images,
                                 targets: batch.targets)
            }
            optimizer.zeroGrad()
            if ramping {
                test.record(lr: lr, loss: loss)
                let i = test.points.count - 1
                if i % printEvery == 0, let p = test.points.last {
                    logger.info(String(format: "[LRFinder][Iter: %d/%d]lr: %.4e, loss: %.5f, smoothed: %.5f",
                                       i, options.numIter, p.lr, p.loss, p.smoothedLoss))
                }
            } else if !loss.isFinite {
                throw EngineError("the LR finder's warm-up diverged (loss \(loss) at lr \(lr)); lower LRFinder.min_lr")
            }
            logger.progress("LR finder", min(test.points.count, options.numIter), options.numIter,
                            String(format: "lr %.2e loss %.4f", lr, loss))
            step += 1
        }
        logger.clearBar()
        guard let choice = test.suggestion(skipStart: options.skipStart, skipEnd: options.skipEnd) else {
            throw EngineError("the LR range test recorded only \(test.points.count) points"
                              + (test.stopReason.map { " (\($0))" } ?? "") + "; raise LRFinder.num_iter or lower min_lr")
        }
        if let reason = test.stopReason { logger.info("[LRFinder] stopped early: \(reason)") }
        var result = LRFinderResult(mode: .range, learningRate: Self.rounded(choice.lr), rangeTest: test)
        logger.info("[LRFinder] suggested lr: \(LRRangeTest.format(result.learningRate)) (steepest descent of the smoothed "
                    + "loss at step \(choice.index) of \(test.points.count))")
        result.figurePath = try saveFigure(Self.rangeTestPlot(test, choice: choice, title: "LR range test: \(engine.config.arch.name)"))
        return result
    }

    /// The loss (raw and smoothed) against the rate on a log axis, with the chosen point marked.
    public static func rangeTestPlot(_ test: LRRangeTest, choice: (lr: Double, index: Int), title: String) -> LinePlot {
        var plot = LinePlot(title: title, xLabel: "learning rate (log scale)", yLabel: "training loss")
        plot.xScale = .logarithmic
        let centered = test.centeredSmoothedLosses
        let raw = test.points.map { (x: $0.lr, y: $0.loss) }
        let smooth = zip(test.points, centered).map { (x: $0.0.lr, y: $0.1) }
        // Show the descent; clip the divergence that ends the test.
        let minimum = centered.min() ?? 0
        let start = centered.prefix(max(1, centered.count / 5)).max() ?? 1
        let top = max(start, minimum) * 1.25, bottom = max(0, minimum - 0.15 * (top - minimum))
        plot.yLimits = bottom...max(top, bottom + 1e-6)
        plot.add("loss", raw, color: Color.palette[0].mixed(with: .white, 0.55), thickness: 1, showPoints: false)
        plot.add("smoothed loss", smooth, color: Color.palette[0], thickness: 2.2, showPoints: false)
        plot.mark(x: choice.lr, y: centered[choice.index],
                  label: "suggested lr = \(LRRangeTest.format(rounded(choice.lr)))")
        return plot
    }

    /// Saves a plot at `path_to_savefig` (relative to the output folder), or nothing when it is null.
    func saveFigure(_ plot: LinePlot) throws -> String? {
        guard let file = options.pathToSavefig else { return nil }
        let path = file.hasPrefix("/") ? file : (engine.outputDir as NSString).appendingPathComponent(file)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try plot.render(width: 760, height: 480).writePNG(to: path)
        engine.logger.info("[LRFinder] wrote \(path)")
        return path
    }

    /// A rate rounded to 3 significant digits (what is logged and applied).
    static func rounded(_ lr: Double) -> Double { Double(String(format: "%.3g", lr)) ?? lr }
}

extension LRFinder {
    /// Runs the finder in the configured mode: the range test on `engine`, or a grid/TPE search of short trainings
    /// of `engine`'s config with its registries.
    public static func run(engine: Engine, options: LRFinderConfig? = nil) throws -> LRFinderResult {
        let finder = LRFinder(engine: engine, options: options)
        switch finder.options.mode {
        case .range: return try finder.run()
        case .grid, .tpe: return try LRSearch(finder: finder).run()
        }
    }

    /// The `-o` override that sets the run's base learning rate to `lr`: `Optimizer.lr`, `Optimizer.lr.learning_rate`
    /// or the schedule's `learning_rate` (`max_learning_rate` for OneCycleLR).
    public static func override(for config: RunConfig, learningRate lr: Double) throws -> String {
        guard let optimizer = config.optimizer else { throw EngineError("the LR finder needs an Optimizer section") }
        let value = String(format: "%.6g", lr)
        switch optimizer.lr {
        case .constant:
            return config.root["Optimizer"]?["lr"]?.scalar != nil ? "Optimizer.lr=\(value)" : "Optimizer.lr.learning_rate=\(value)"
        case .schedule(let spec):
            let base = spec.node["name"] != nil ? spec.path : "\(spec.path).\(spec.name)"
            for key in ["learning_rate", "max_learning_rate"] where spec.args[key] != nil { return "\(base).\(key)=\(value)" }
            throw EngineError("the LR finder cannot set the base rate of the \(spec.name) schedule (\(spec.path) has no "
                              + "learning_rate); set it by hand to \(value)")
        }
    }

    /// The engine `tools train` trains with. With `LRFinder.auto`, runs the finder first and returns an engine whose
    /// base rate is the choice (the equivalent `-o` is logged and the value kept in the resolved `config.yaml`), or
    /// nil with `stop_after`. Resumed runs (`Global.checkpoints`) keep their rate.
    public static func trainingEngine(config: RunConfig, registries: Registries, quiet: Bool = false) throws -> Engine? {
        let engine = try Engine(config: config, mode: .train, registries: registries, quiet: quiet)
        guard let options = engine.config.lrFinder, options.auto else { return engine }
        if engine.config.global.checkpoints != nil {
            engine.logger.warning("LRFinder.auto is skipped: a resumed run (Global.checkpoints) keeps its learning rate")
            return engine
        }
        if engine.communicator.isDistributed {  // each rank would search on its own shard and pick its own rate
            throw EngineError("LRFinder.auto does not run under mpirun: find the rate in one process (tools lr_find -c "
                              + "CONFIG), then start mpirun with -o Optimizer.lr.learning_rate=<rate> -o LRFinder.auto=False")
        }
        _ = try override(for: engine.config, learningRate: 1)  // a schedule without a base rate fails before the search
        let result = try run(engine: engine)
        let o = try override(for: engine.config, learningRate: result.learningRate)
        if options.stopAfter {
            engine.logger.info("[LRFinder] stop_after: not training; to train with this rate use -o \(o)")
            return nil
        }
        engine.logger.info("[LRFinder] training with -o \(o)")
        return try Engine(config: config.overriding([o]), mode: .train, registries: registries, quiet: quiet)
    }
}
