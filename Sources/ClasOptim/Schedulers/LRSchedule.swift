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

/// Multiplies the rate by `gamma` at each boundary step (PaddlePaddle's `StepDecay` / `MultiStepDecay`).
public struct MultiStepSchedule: LRSchedule {
    public let base: Float, boundaries: [Int], gamma: Float
    public let displayName: String

    public init(base: Float, boundaries: [Int], gamma: Float, displayName: String = "MultiStepDecay") {
        (self.base, self.boundaries, self.gamma, self.displayName) = (base, boundaries.sorted(), gamma, displayName)
    }

    public func learningRate(at step: Int) -> Float {
        base * powf(gamma, Float(boundaries.filter { step >= $0 }.count))
    }
}

/// Polynomial decay from `base` to `end` over `totalSteps` (PaddlePaddle's `PolynomialDecay`, PaddleClas `Linear`
/// with `power` 1); with `cycle`, the horizon grows by multiples of `totalSteps`.
public struct PolynomialSchedule: LRSchedule {
    public let base: Float, end: Float, totalSteps: Int, power: Float, cycle: Bool

    public init(base: Float, end: Float, totalSteps: Int, power: Float = 1, cycle: Bool = false) {
        (self.base, self.end, self.totalSteps, self.power, self.cycle) = (base, end, max(totalSteps, 1), power, cycle)
    }

    public func learningRate(at step: Int) -> Float {
        var horizon = Float(totalSteps), t = Float(step)
        if cycle {
            horizon *= max(1, (t / horizon).rounded(.up))
        } else {
            t = min(t, horizon)
        }
        return (base - end) * powf(1 - t / horizon, power) + end
    }

    public var displayName: String { "PolynomialDecay" }
}

/// One-cycle policy (Smith, https://arxiv.org/abs/1708.07120; PaddlePaddle's `OneCycleLR`): from max/divide up to
/// `maxLR` over `phasePct` of the steps, then down to `end`, cosine or linear.
public struct OneCycleSchedule: LRSchedule {
    public let maxLR: Float, initialLR: Float, endLR: Float, totalSteps: Int, phasePct: Float, cosine: Bool

    public init(maxLR: Float, divideFactor: Float = 25, endLR: Float = 1e-4, totalSteps: Int, phasePct: Float = 0.3,
                cosine: Bool = true) {
        self.maxLR = maxLR
        initialLR = maxLR / divideFactor
        self.endLR = endLR
        self.totalSteps = max(totalSteps, 2)
        self.phasePct = phasePct
        self.cosine = cosine
    }

    public func learningRate(at step: Int) -> Float {
        let up = max(1, Int((phasePct * Float(totalSteps)).rounded()) - 1)
        let down = max(1, totalSteps - 1 - up)
        func anneal(_ a: Float, _ b: Float, _ pct: Float) -> Float {
            cosine ? b + (a - b) / 2 * (1 + Float(cos(Double.pi * Double(pct)))) : a + (b - a) * pct
        }
        if step <= up { return anneal(initialLR, maxLR, Float(step) / Float(up)) }
        return anneal(maxLR, endLR, min(1, Float(step - up) / Float(down)))
    }

    public var displayName: String { "OneCycleLR" }
}
