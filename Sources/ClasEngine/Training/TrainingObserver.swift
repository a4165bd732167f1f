import ClasNN
import ClasTensor

/// Receives training events: TensorBoard writers, curve plots, metric-driven schedules and early stopping
/// plug in here without touching the training loop. Every method has an empty default.
public protocol TrainingObserver: AnyObject {
    /// Before the first epoch (after a resume, with the restored state).
    func trainingWillStart(_ trainer: Trainer)
    /// After each optimizer step: the step count, the rate used, and the running averages of the epoch so far.
    func stepDidEnd(_ trainer: Trainer, epoch: Int, iteration: Int, learningRate: Float, values: [(String, Double)])
    /// After each evaluation (`label` is "EMA" for the averaged weights).
    func evaluationDidEnd(_ trainer: Trainer, epoch: Int, label: String?, values: [(String, Double)])
    /// At the end of each epoch with its record (train averages, eval values, lr). Return true to stop training
    /// after this epoch (early stopping).
    func epochDidEnd(_ trainer: Trainer, epoch: Int, record: [String: Double]) -> Bool
    /// After the last epoch (or an early stop).
    func trainingDidEnd(_ trainer: Trainer)
    /// The name its checkpoint state is saved under (`observer.<name>.<key>`); default: the type's name.
    var observerName: String { get }
    /// State to keep in checkpoints (restored through `restore`), e.g. a plateau scheduler's counters.
    var checkpointState: [String: String] { get }
    /// Restores what `checkpointState` saved.
    func restore(_ state: [String: String])
}

extension [TrainingObserver] {
    /// Each observer's checkpoint-metadata prefix: `observer.<name>.`, with `#2`, `#3` … after repeated names.
    var checkpointPrefixes: [String] {
        var seen: [String: Int] = [:]
        return map { o in
            let n = seen[o.observerName, default: 0] + 1
            seen[o.observerName] = n
            return "observer.\(o.observerName)\(n > 1 ? "#\(n)" : "")."
        }
    }

    /// The checkpoint metadata of every observer's state.
    var checkpointState: [String: String] {
        var out: [String: String] = [:]
        for (o, prefix) in zip(self, checkpointPrefixes) {
            for (k, v) in o.checkpointState { out[prefix + k] = v }
        }
        return out
    }

    /// Gives each observer the state it saved under its name, or, in checkpoints written before observers were
    /// named, under its position (`observer<i>.`).
    func restore(from metadata: [String: String]) {
        for (i, (o, prefix)) in zip(self, checkpointPrefixes).enumerated() {
            var mine = Self.state(in: metadata, prefix: prefix)
            if mine.isEmpty { mine = Self.state(in: metadata, prefix: "observer\(i).") }
            if !mine.isEmpty { o.restore(mine) }
        }
    }

    private static func state(in metadata: [String: String], prefix: String) -> [String: String] {
        Dictionary(uniqueKeysWithValues: metadata.filter { $0.key.hasPrefix(prefix) }
            .map { (String($0.key.dropFirst(prefix.count)), $0.value) })
    }
}

extension TrainingObserver {
    public func trainingWillStart(_ trainer: Trainer) {}
    public func stepDidEnd(_ trainer: Trainer, epoch: Int, iteration: Int, learningRate: Float, values: [(String, Double)]) {}
    public func evaluationDidEnd(_ trainer: Trainer, epoch: Int, label: String?, values: [(String, Double)]) {}
    public func epochDidEnd(_ trainer: Trainer, epoch: Int, record: [String: Double]) -> Bool { false }
    public func trainingDidEnd(_ trainer: Trainer) {}
    public var observerName: String { String(describing: type(of: self)) }
    public var checkpointState: [String: String] { [:] }
    public func restore(_ state: [String: String]) {}
}

/// A model with several outputs (distillation and mutual learning: `Teacher`, `Student`, …). The engine calls
/// `forwardOutputs` instead of `forward`; metrics and inference use `logits`.
public protocol MultiOutputModel: Module {
    func forwardOutputs(_ x: Tensor) -> ModelOutputs
}

extension Module {
    /// The outputs of a forward pass, for single- and multi-output models alike.
    public func outputs(_ x: Tensor) -> ModelOutputs {
        (self as? MultiOutputModel)?.forwardOutputs(x) ?? ModelOutputs(logits: self(x))
    }
}

/// An optimizer that needs the loss re-evaluated within a step (sharpness-aware minimisation): the trainer passes
/// a closure that runs forward and backward again on the same batch at the current weights.
public protocol ClosureStepping: AnyObject {
    /// Performs a step; `recompute` clears gradients, recomputes them at the current weights and returns the loss.
    func step(gradientScale: Float, recompute: () -> Float)
}
