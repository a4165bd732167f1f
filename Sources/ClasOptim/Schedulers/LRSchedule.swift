import Foundation

/// A learning-rate schedule: the rate for each optimisation step, a pure function of the step (so resuming
/// needs only the step count). `stepsPerEpoch` converts epoch-based settings.
public protocol LRSchedule {
    /// The rate at global step `step` (0-based, counting optimizer updates).
    func learningRate(at step: Int) -> Float
    /// PaddlePaddle's class name, shown in logs as `lr(<name>)`.
    var displayName: String { get }
}

/// Linear warm-up from `startLR` to the wrapped schedule's first value over `steps` steps, then the wrapped
/// schedule shifted to start at 0 (PaddlePaddle's `LinearWarmup`).
public struct LinearWarmup: LRSchedule {
    public let base: LRSchedule
    public let steps: Int
    public let startLR: Float
    public let endLR: Float

    public init(base: LRSchedule, steps: Int, startLR: Float, endLR: Float) {
        (self.base, self.steps, self.startLR, self.endLR) = (base, steps, startLR, endLR)
    }

    public func learningRate(at step: Int) -> Float {
        if step < steps { return startLR + (endLR - startLR) * Float(step) / Float(max(steps, 1)) }
        return base.learningRate(at: step - steps)
    }

    public var displayName: String { "LinearWarmup" }
}

/// A constant rate.
public struct ConstantLR: LRSchedule {
    public let value: Float
    public init(_ value: Float) { self.value = value }
    public func learningRate(at step: Int) -> Float { value }
    public var displayName: String { "ConstLR" }
}

/// Cosine annealing from `base` to `etaMin` over `totalSteps` (PaddlePaddle's `CosineAnnealingDecay`); with
/// `stepsPerUpdate` > 1 the rate changes once per that many steps (PaddleClas's `by_epoch`).
public struct CosineSchedule: LRSchedule {
    public let base: Float, etaMin: Float, totalSteps: Int, stepsPerUpdate: Int

    public init(base: Float, etaMin: Float = 0, totalSteps: Int, stepsPerUpdate: Int = 1) {
        (self.base, self.etaMin, self.totalSteps, self.stepsPerUpdate) = (base, etaMin, max(totalSteps, 1), max(stepsPerUpdate, 1))
    }

    public func learningRate(at step: Int) -> Float {
        let t = Double(step / stepsPerUpdate), T = Double(max(totalSteps / stepsPerUpdate, 1))
        return etaMin + (base - etaMin) * Float((1 + cos(Double.pi * min(t, T) / T)) / 2)
    }

    public var displayName: String { "CosineAnnealingDecay" }
}

/// Piecewise constant: `values[i]` until step `boundaries[i]` (PaddlePaddle's `PiecewiseDecay`).
public struct PiecewiseSchedule: LRSchedule {
    public let boundaries: [Int], values: [Float]

    public init(boundaries: [Int], values: [Float]) {
        precondition(values.count == boundaries.count + 1, "Piecewise needs one more value than boundaries")
        (self.boundaries, self.values) = (boundaries, values)
    }

    public func learningRate(at step: Int) -> Float {
        for (i, b) in boundaries.enumerated() where step < b { return values[i] }
        return values[values.count - 1]
    }

    public var displayName: String { "PiecewiseDecay" }
}
