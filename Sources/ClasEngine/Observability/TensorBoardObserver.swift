import Foundation

/// Writes training scalars to TensorBoard event files in `<output folder>/vdl/` when `Global.use_visualdl` is on
/// (PaddleClas's switch for VisualDL; `tensorboard --logdir <output folder>/vdl` shows them).
///
/// Tags, following PaddleClas's VisualDL tags:
/// * every `print_batch_step` iterations, at the global step: `train_<key>` (running epoch averages of the losses
///   and `Metric.Train` values) and `lr(<schedule>)`;
/// * after each evaluation, at the epoch: `eval_<key>` for every loss and metric and `eval_acc` for the metric
///   that picks the best model (`eval_ema_<key>` and `eval_acc_ema` for the EMA weights);
/// * at the end of each epoch: `epoch/train_<key>` (the epoch averages) and `epoch/lr`.
public final class TensorBoardObserver: TrainingObserver {
    /// The event folder.
    public let directory: String
    private var writer: EventFileWriter?
    private let printEvery: Int
    /// When false the observer does nothing (the engine keeps one in place for `use_visualdl: False`).
    public let enabled: Bool

    public init(directory: String, printEvery: Int, enabled: Bool = true) {
        self.directory = directory
        self.printEvery = max(printEvery, 1)
        self.enabled = enabled
    }

    /// The event file being written, once training has started.
    public var eventFile: String? { writer?.path }

    public func trainingWillStart(_ trainer: Trainer) {
        guard enabled else { return }
        do {
            writer = try EventFileWriter(directory: directory)
            trainer.engine.logger.info("TensorBoard events: \(writer?.path ?? directory) (tensorboard --logdir \(directory))")
        } catch {
            trainer.engine.logger.warning("TensorBoard logging is off: \(error)")
        }
    }

    public func stepDidEnd(_ trainer: Trainer, epoch: Int, iteration: Int, learningRate: Float, values: [(String, Double)]) {
        guard iteration % printEvery == 0 else { return }
        emit(trainer, values.map { (tag: "train_\($0.0)", value: $0.1) }
             + [(tag: "lr(\(trainer.schedule.displayName))", value: Double(learningRate))],
             step: trainer.state.step)
    }

    public func evaluationDidEnd(_ trainer: Trainer, epoch: Int, label: String?, values: [(String, Double)]) {
        let prefix = label == nil ? "eval_" : "eval_\(label?.lowercased() ?? "")_"
        var scalars = values.map { (tag: prefix + $0.0, value: $0.1) }
        if let key = trainer.evaluator?.primaryKey, let primary = values.first(where: { $0.0 == key }) {
            scalars.append((tag: label == nil ? "eval_acc" : "eval_acc_\(label?.lowercased() ?? "")", value: primary.1))
        }
        emit(trainer, scalars, step: epoch)
    }

    public func epochDidEnd(_ trainer: Trainer, epoch: Int, record: [String: Double]) -> Bool {
        let scalars = record.filter { $0.key.hasPrefix("train_") || $0.key == "lr" }.sorted { $0.key < $1.key }
            .map { (tag: "epoch/\($0.key)", value: $0.value) }
        emit(trainer, scalars, step: epoch)
        writer?.flush()
        return false
    }

    public func trainingDidEnd(_ trainer: Trainer) {
        writer?.flush()
        writer = nil
    }

    private func emit(_ trainer: Trainer, _ scalars: [(tag: String, value: Double)], step: Int) {
        guard let writer else { return }
        do {
            try writer.addScalars(scalars, step: step)
        } catch {
            trainer.engine.logger.warning("TensorBoard logging stopped: \(error)")
            self.writer = nil
        }
    }
}
