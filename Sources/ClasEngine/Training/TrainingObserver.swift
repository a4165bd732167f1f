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
    /// State to keep in checkpoints (restored through `restore`), e.g. a plateau scheduler's counters.
    var checkpointState: [String: String] { get }
    /// Restores what `checkpointState` saved.
    func restore(_ state: [String: String])
}

extension TrainingObserver {
    public func trainingWillStart(_ trainer: Trainer) {}
    public func stepDidEnd(_ trainer: Trainer, epoch: Int, iteration: Int, learningRate: Float, values: [(String, Double)]) {}
    public func evaluationDidEnd(_ trainer: Trainer, epoch: Int, label: String?, values: [(String, Double)]) {}
    public func epochDidEnd(_ trainer: Trainer, epoch: Int, record: [String: Double]) -> Bool { false }
    public func trainingDidEnd(_ trainer: Trainer) {}
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
