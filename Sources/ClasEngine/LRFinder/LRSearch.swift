import ClasConfig
import ClasPlot
import Foundation

/// `LRFinder.mode: grid` or `tpe`: short trainings (`trial_epochs` epochs of `trial_iters` iterations, with the
/// engine's ``Trainer`` and the run's schedule shortened accordingly) at rates in [`min_lr`, `max_lr`]; the rate
/// with the best validation metric wins. Grid tries `num_trials` rates evenly spaced on a log scale; TPE proposes
/// each next rate from the scores so far (``TPESampler`` over log10 of the rate).
///
/// Each trial is a fresh engine built from the run's config with its settings changed (rate, epochs, output
/// folder), so trials start from the same initial weights; their logs and curves go to
/// `<output folder>/lr_search/trial_<k>/` (checkpoints are deleted).
public final class LRSearch {
    let finder: LRFinder

    init(finder: LRFinder) { self.finder = finder }

    public func run() throws -> LRFinderResult {
        let options = finder.options, engine = finder.engine, logger = engine.logger
        guard engine.evalData != nil, engine.config.global.evalDuringTrain else {
            throw EngineError("LRFinder.mode \(options.mode.rawValue) scores trials on DataLoader.Eval; "
                              + "it needs DataLoader.Eval and Global.eval_during_train: True")
        }
        let lo = log10(options.minLR), hi = log10(options.maxLR), n = options.numTrials
        var tpe = TPESampler(lower: lo, upper: hi, seed: UInt64(truncatingIfNeeded: options.seed ?? Int(engine.seed)),
                             startupTrials: max(2, n / 3))
        logger.info("[LRFinder] \(options.mode.rawValue) search: \(n) trials of \(options.trialEpochs) epoch(s)"
                    + (options.trialIters.map { " × \($0) iterations" } ?? "")
                    + " between lr \(LRRangeTest.format(options.minLR)) and \(LRRangeTest.format(options.maxLR))")
        var trials: [(lr: Double, score: Double)] = [], metric = "top1"
        for k in 0..<n {
            let x = options.mode == .grid ? lo + (hi - lo) * Double(k) / Double(n - 1) : tpe.suggest()
            let lr = LRFinder.rounded(pow(10, x))
            let (score, key) = try trial(k, lr: lr)
            metric = key
            tpe.observe(x: log10(lr), score: score)
            trials.append((lr, score))
            logger.info(String(format: "[LRFinder][Trial %d/%d]lr: %.4g, best eval %@: %.5f", k + 1, n, lr, key as NSString, score))
        }
        // The first of equally good trials wins.
        guard let best = trials.indices.max(by: { trials[$0].score < trials[$1].score }) else {
            throw EngineError("the LR search ran no trial")
        }
        var result = LRFinderResult(mode: options.mode, learningRate: trials[best].lr, trials: trials, metric: metric)
        logger.info("[LRFinder] best lr: \(LRRangeTest.format(result.learningRate)) (eval \(metric) \(String(format: "%.5f", trials[best].score)))")
        result.figurePath = try finder.saveFigure(Self.plot(trials, best: best, metric: metric,
                                                             title: "LR \(options.mode.rawValue) search: \(engine.config.arch.name)"))
        return result
    }

    /// One short training at `lr`; returns its best validation metric and the metric's name.
    private func trial(_ k: Int, lr: Double) throws -> (Double, String) {
        let options = finder.options, engine = finder.engine
        let dir = ((engine.outputDir as NSString).appendingPathComponent("lr_search") as NSString)
            .appendingPathComponent("trial_\(k + 1)")
        var extra = [try LRFinder.override(for: engine.config, learningRate: lr),
                     "Global.output_dir=\(dir)", "Global.epochs=\(options.trialEpochs)",
                     "Global.save_interval=\(options.trialEpochs)", "Global.eval_interval=1", "Global.start_eval_epoch=0",
                     "Global.use_visualdl=False", "LRFinder.auto=False"]
        if let iters = options.trialIters { extra.append("Global.iter_per_epoch=\(iters)") }
        if engine.config.global.checkpoints != nil { extra.append("Global.checkpoints=null") }
        let trialEngine = try Engine(config: engine.config.overriding(extra), mode: .train, registries: engine.registries,
                                     quiet: true)
        let trainer = try Trainer(engine: trialEngine)
        let score = try trainer.run()
        let key = trainer.evaluator?.primaryKey ?? "top1"
        // Keep logs and curves, not the weights.
        let files = (try? FileManager.default.contentsOfDirectory(atPath: trialEngine.outputDir)) ?? []
        for f in files where f.hasSuffix(".safetensors") {
            try? FileManager.default.removeItem(atPath: (trialEngine.outputDir as NSString).appendingPathComponent(f))
        }
        return (score, key)
    }

    /// The validation metric against the rate (log axis), trials in rate order, the best one marked.
    public static func plot(_ trials: [(lr: Double, score: Double)], best: Int, metric: String, title: String) -> LinePlot {
        var plot = LinePlot(title: title, xLabel: "learning rate (log scale)", yLabel: "best eval \(metric)")
        plot.xScale = .logarithmic
        plot.add("trials", trials.map { (x: $0.lr, y: $0.score) }.sorted { $0.x < $1.x }, showPoints: true)
        plot.mark(x: trials[best].lr, y: trials[best].score, label: "best lr = \(LRRangeTest.format(trials[best].lr))")
        return plot
    }
}
