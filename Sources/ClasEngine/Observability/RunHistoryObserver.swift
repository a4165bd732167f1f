import ClasTensor
import Foundation

/// `history.csv` (one row per epoch: train averages, eval values, learning rate, epoch time) rewritten after every
/// epoch, and a closing summary in `train.log`: epochs, total time, best metric and epoch, where the best model is.
final class RunHistoryObserver: TrainingObserver {
    let path: String
    private var started = Date()

    init(path: String) { self.path = path }

    func trainingWillStart(_ trainer: Trainer) { started = Date() }

    func epochDidEnd(_ trainer: Trainer, epoch: Int, record: [String: Double]) -> Bool {
        do {
            try AtomicFile.write(RunHistoryObserver.csv(trainer.history), to: path)
        } catch {
            trainer.engine.logger.warning("could not write \(path): \(error)")
        }
        return false
    }

    func trainingDidEnd(_ trainer: Trainer) {
        let seconds = Int(Date().timeIntervalSince(started).rounded())
        let time = String(format: "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        let s = trainer.state
        let dir = trainer.engine.outputDir as NSString
        var line = "Training finished: \(s.epoch) epochs, \(time) in this run"
        if s.bestEpoch > 0 {
            line += String(format: "; best metric %.5f at epoch %d; best model %@", s.bestMetric, s.bestEpoch,
                           Checkpoint.path(for: dir.appendingPathComponent("best_model")))
        }
        line += "; history \(path)"
        trainer.engine.logger.info(line)
    }

    /// The history as CSV: `epoch` first, then every other key in sorted order; empty cells where a record lacks one.
    static func csv(_ history: [[String: Double]]) -> String {
        let keys = ["epoch"] + Set(history.flatMap(\.keys)).subtracting(["epoch"]).sorted()
        var rows = [keys.joined(separator: ",")]
        for record in history {
            rows.append(keys.map { key in
                guard let v = record[key] else { return "" }
                return key == "epoch" ? String(Int(v)) : String(format: "%.6g", v)
            }.joined(separator: ","))
        }
        return rows.joined(separator: "\n") + "\n"
    }
}
