import ClasOptim
import Foundation

/// `ReduceOnPlateau` follows the evaluations of a training run: the trainer attaches it as an observer (schedules
/// that are observers are attached automatically). After each evaluation of the raw weights it takes the first
/// metric (`top1`: use `mode: max`), lowers the rate when it stalls and stops training when a reduction is due at
/// `min_lr` (with `stop_at_min_lr`). Its counters are saved in checkpoints, so resuming is exact.
extension ReduceOnPlateau: TrainingObserver {
    public func trainingWillStart(_ trainer: Trainer) {
        let logger = trainer.engine.logger
        guard let evaluator = trainer.evaluator, trainer.engine.config.global.evalDuringTrain else {
            logger.warning("ReduceOnPlateau: no evaluation during training, so the rate stays at \(currentLR)")
            return
        }
        let key = evaluator.primaryKey
        if mode == .min, key.hasPrefix("top") || key.contains("acc") {
            logger.warning("ReduceOnPlateau has mode 'min' but follows \(key), where higher is better; set mode: max")
        }
    }

    public func evaluationDidEnd(_ trainer: Trainer, epoch: Int, label: String?, values: [(String, Double)]) {
        guard label == nil, let key = trainer.evaluator?.primaryKey, let value = values.first(where: { $0.0 == key })?.1
        else { return }
        let logger = trainer.engine.logger
        switch record(value) {
        case .improved, .unchanged:
            break
        case let .reduced(from, to):
            logger.info("ReduceOnPlateau: \(key) has not improved on \(best ?? value) for \(patience + 1) evaluations; "
                        + "lr \(from) → \(to)")
        case .exhausted:
            logger.info("ReduceOnPlateau: \(key) has not improved on \(best ?? value) for \(patience + 1) evaluations "
                        + "and lr is at its minimum \(currentLR)" + (stopAtMinLR ? "; stopping training" : ""))
        }
    }

    /// Stops training after an evaluation that found the rate exhausted (with `stop_at_min_lr`).
    public func epochDidEnd(_ trainer: Trainer, epoch: Int, record: [String: Double]) -> Bool {
        defer { lastEvent = nil }
        return stopAtMinLR && lastEvent == .exhausted
    }

    public var checkpointState: [String: String] { state }
}
