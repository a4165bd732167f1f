import ClasOptim
import ClasPlot
import Foundation

/// `train_curves.png`: loss, the model-selection metric (train and eval) and the learning rate against epoch.
public enum TrainingCurves {
    /// The figure for a training history (records with `epoch`, `train_<key>`, `eval_<key>`, `lr`).
    /// - Parameters:
    ///   - metric: the metric shown in the middle panel, e.g. `top1`.
    ///   - learningRates: (epoch, rate) points of the schedule, or empty to use each record's `lr`.
    public static func figure(history: [[String: Double]], metric: String, learningRates: [(x: Double, y: Double)],
                              title: String) -> Figure {
        func series(_ key: String) -> [(x: Double, y: Double)] {
            history.compactMap { r in r["epoch"].flatMap { e in r[key].map { (x: e, y: $0) } } }
        }
        var loss = LinePlot(title: "loss", xLabel: "epoch", yLabel: "loss")
        loss.integerXTicks = true
        loss.add("train", series("train_loss"))
        loss.add("eval", series("eval_loss"))
        // A loss spanning more than a decade (an early spike) reads better on a log axis.
        let losses = loss.series.flatMap { $0.points.map(\.y) }.filter { $0 > 0 }
        if let lo = losses.min(), let hi = losses.max(), hi / lo > 20 {
            loss.yScale = .logarithmic
            loss.yLabel = "loss (log scale)"
        }
        var accuracy = LinePlot(title: metric, xLabel: "epoch", yLabel: metric)
        accuracy.integerXTicks = true
        accuracy.add("train", series("train_\(metric)"))
        accuracy.add("eval", series("eval_\(metric)"))
        let ema = series("eval_ema_\(metric)")
        if !ema.isEmpty { accuracy.add("eval (EMA)", ema, dash: 5) }
        var lr = LinePlot(title: "learning rate", xLabel: "epoch", yLabel: "lr")
        lr.integerXTicks = true
        lr.add("lr", learningRates.isEmpty ? series("lr") : learningRates, color: Color.palette[2], showPoints: false)
        return Figure(title: title, panels: [loss, accuracy, lr], columns: 3)
    }

    /// The schedule's rate at up to `maxPoints` optimizer steps of the first `epochs` epochs, against epoch.
    public static func schedulePoints(_ schedule: LRSchedule, stepsPerEpoch: Int, epochs: Int,
                                      maxPoints: Int = 800) -> [(x: Double, y: Double)] {
        let total = max(stepsPerEpoch, 1) * epochs
        guard total > 0 else { return [] }
        let stride = max(1, total / maxPoints)
        return Swift.stride(from: 0, through: total, by: stride).map {
            (x: Double($0) / Double(max(stepsPerEpoch, 1)), y: Double(schedule.learningRate(at: min($0, total - 1))))
        }
    }
}

/// Redraws `train_curves.png` in the output folder after every epoch and at the end of training.
public final class TrainingCurvesObserver: TrainingObserver {
    public let path: String

    public init(path: String) { self.path = path }

    public func epochDidEnd(_ trainer: Trainer, epoch: Int, record: [String: Double]) -> Bool {
        write(trainer)
        return false
    }

    public func trainingDidEnd(_ trainer: Trainer) { write(trainer) }

    private func write(_ trainer: Trainer) {
        guard !trainer.history.isEmpty else { return }
        let epochs = Int(trainer.history.last?["epoch"] ?? 0)
        let figure = TrainingCurves.figure(
            history: trainer.history, metric: trainer.evaluator?.primaryKey ?? "top1",
            learningRates: TrainingCurves.schedulePoints(trainer.schedule, stepsPerEpoch: trainer.itersPerEpoch / trainer.updateFreq,
                                                         epochs: epochs),
            title: "\(trainer.engine.config.arch.name), epoch \(epochs)/\(trainer.engine.config.global.epochs)")
        do {
            try figure.render().writePNG(to: path)
        } catch {
            trainer.engine.logger.warning("could not write \(path): \(error)")
        }
    }
}
