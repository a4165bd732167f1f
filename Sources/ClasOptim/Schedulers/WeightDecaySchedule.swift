import Foundation

/// Weight-decay (regularisation) annealing, as MobileOne trains (Vasu et al., https://arxiv.org/abs/2206.04040: cosine
/// from 1e-4 to 1e-5): the decay coefficient of step t of `totalSteps` goes from `start` (the configured coefficient)
/// to `end`. Like the learning rate, it is a function of the step alone, so a resumed run has the same values.
/// The trainer applies it as ``Optimizer/weightDecayScale`` = value ÷ `start`, so parameters excluded from decay
/// (`no_weight_decay_name`, one-dimensional ones) stay at zero.
public struct WeightDecaySchedule: Sendable, Equatable {
    /// The curve from `start` to `end`.
    public enum Shape: String, CaseIterable, Sendable {
        /// end + (start − end)·½(1 + cos(π·t/T)).
        case cosine = "Cosine"
        /// start + (end − start)·t/T.
        case linear = "Linear"
    }

    public var shape: Shape
    public var start: Double
    public var end: Double
    public var totalSteps: Int

    public init(shape: Shape, start: Double, end: Double, totalSteps: Int) {
        self.shape = shape
        self.start = start
        self.end = end
        self.totalSteps = max(1, totalSteps)
    }

    /// The coefficient at optimizer step `step` (held at `end` after the last step).
    public func value(at step: Int) -> Double {
        let progress = min(1, Double(max(0, step)) / Double(totalSteps))
        switch shape {
        case .cosine: return end + (start - end) * 0.5 * (1 + cos(Double.pi * progress))
        case .linear: return start + (end - start) * progress
        }
    }

    /// The factor applied to every parameter's configured decay at `step`.
    public func scale(at step: Int) -> Float { start > 0 ? Float(value(at: step) / start) : 1 }
}
