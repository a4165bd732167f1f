import ClasKernels
import ClasNN
import ClasTensor

/// Exponential moving average of a model's weights (parameters and buffers), as PaddleClas's `EMA` and timm's
/// `ModelEmaV2`: e = d·e + (1 − d)·w after every optimizer step. With `warmup`, d = min(decay, (1+t)/(10+t)).
public final class ModelEMA {
    public let decay: Float
    public let warmup: Bool
    /// Updates so far.
    public var updates = 0
    /// Shadow copies, aligned with the model's state dict.
    public let shadow: [(String, Tensor)]
    private let targets: [Tensor]

    public init(model: Module, decay: Float = 0.9999, warmup: Bool = false) {
        self.decay = decay
        self.warmup = warmup
        let state = model.stateDict()
        shadow = state.map { ($0.0, $0.1.detachedCopy()) }
        targets = state.map(\.1)
    }

    /// The decay used for the next update.
    public var currentDecay: Float {
        warmup ? min(decay, Float(1 + updates) / Float(10 + updates)) : decay
    }

    /// Moves the average toward the model's current weights.
    public func update() {
        let d = currentDecay
        for ((_, e), w) in zip(shadow, targets) { clas_ema_update(e.data, w.data, Int64(e.count), d) }
        updates += 1
    }

    /// Runs `body` with the model's weights replaced by the average, then restores them.
    public func withAveragedWeights<T>(_ body: () throws -> T) rethrows -> T {
        let saved = targets.map { $0.detachedCopy() }
        for ((_, e), w) in zip(shadow, targets) { w.copy(from: e) }
        defer { for (w, s) in zip(targets, saved) { w.copy(from: s) } }
        return try body()
    }
}
