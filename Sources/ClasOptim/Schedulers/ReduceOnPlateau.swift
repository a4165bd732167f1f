import Foundation

/// Lowers the rate when a monitored metric stops improving (PaddlePaddle's `ReduceOnPlateau`, PaddleClas's
/// `Optimizer.lr: {name: ReduceOnPlateau}`), optionally after a linear warm-up.
///
/// After each evaluation, ``record(_:)`` compares the metric with the best so far:
/// * `mode` max (accuracy) or min (loss); better means beyond the best by `threshold`, relative
///   (best·(1 ± threshold)) or absolute (best ± threshold);
/// * during `cooldown` evaluations after a reduction the metric is not compared at all (PaddlePaddle's rule);
/// * after more than `patience` evaluations without improvement the rate becomes max(rate·factor, minLR),
///   provided that changes it by more than `epsilon`.
///
/// SwiftClas addition ("getting rid of the epoch search"): when a reduction is due but the rate is already at
/// `minLR`, ``record(_:)`` reports ``Event/exhausted`` and the trainer stops (with `stopAtMinLR`).
///
/// Unlike the other schedules the rate depends on the metrics seen, so the state is saved in checkpoints
/// (``state``/``restore(_:)``) for exact resumption.
public final class ReduceOnPlateau: LRSchedule {
    /// Whether larger or smaller metric values are better.
    public enum Mode: String, Sendable, CaseIterable { case min, max }
    /// How `threshold` is applied.
    public enum ThresholdMode: String, Sendable, CaseIterable { case rel, abs }
    /// What one ``record(_:)`` did.
    public enum Event: Equatable, Sendable {
        /// The metric improved (or is the first).
        case improved
        /// No improvement, or cooling down: the rate is unchanged.
        case unchanged
        /// The rate was lowered from `from` to `to`.
        case reduced(from: Float, to: Float)
        /// A reduction was due but the rate is at its minimum.
        case exhausted
    }

    public let initialLR: Float
    public let mode: Mode
    public let factor: Float
    public let patience: Int
    public let threshold: Double
    public let thresholdMode: ThresholdMode
    public let cooldown: Int
    public let minLR: Float
    public let epsilon: Float
    /// Linear warm-up steps (from `warmupStartLR` to `initialLR`) before the plateau rate applies.
    public let warmupSteps: Int
    public let warmupStartLR: Float
    /// Whether an ``Event/exhausted`` stops training.
    public let stopAtMinLR: Bool

    /// The current rate (after warm-up).
    public private(set) var currentLR: Float
    /// Best metric so far (nil before the first evaluation).
    public private(set) var best: Double?
    public private(set) var badEvaluations = 0
    public private(set) var cooldownCounter = 0
    /// Evaluations recorded.
    public private(set) var evaluations = 0
    /// What the last ``record(_:)`` did (cleared by its consumer).
    public var lastEvent: Event?

    /// - Parameters:
    ///   - learningRate: the starting rate.
    ///   - mode: `.max` for accuracy, `.min` for a loss.
    ///   - factor: multiplier at each reduction, in (0, 1).
    ///   - patience: evaluations without improvement tolerated before reducing.
    ///   - threshold: minimal improvement that counts.
    ///   - cooldown: evaluations ignored after a reduction.
    ///   - minLR: the lowest rate.
    ///   - epsilon: reductions smaller than this are skipped.
    public init(learningRate: Float, mode: Mode = .min, factor: Float = 0.1, patience: Int = 10,
                threshold: Double = 1e-4, thresholdMode: ThresholdMode = .rel, cooldown: Int = 0, minLR: Float = 0,
                epsilon: Float = 1e-8, warmupSteps: Int = 0, warmupStartLR: Float = 0, stopAtMinLR: Bool = true) {
        precondition(factor > 0 && factor < 1, "ReduceOnPlateau: factor must be in (0, 1), got \(factor)")
        initialLR = learningRate
        currentLR = learningRate
        (self.mode, self.factor, self.patience, self.threshold, self.thresholdMode) = (mode, factor, patience, threshold, thresholdMode)
        (self.cooldown, self.minLR, self.epsilon) = (cooldown, minLR, epsilon)
        (self.warmupSteps, self.warmupStartLR, self.stopAtMinLR) = (warmupSteps, warmupStartLR, stopAtMinLR)
    }

    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return warmupStartLR + (initialLR - warmupStartLR) * Float(step) / Float(warmupSteps) }
        return currentLR
    }

    public var displayName: String { warmupSteps > 0 ? "LinearWarmup" : "ReduceOnPlateau" }

    /// Whether `value` beats `best` by the threshold.
    public func isBetter(_ value: Double, than best: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .rel): return value < best - best * threshold
        case (.min, .abs): return value < best - threshold
        case (.max, .rel): return value > best + best * threshold
        case (.max, .abs): return value > best + threshold
        }
    }

    /// Takes one evaluation's metric and updates the rate.
    @discardableResult
    public func record(_ value: Double) -> Event {
        let event = update(value)
        lastEvent = event
        return event
    }

    private func update(_ value: Double) -> Event {
        evaluations += 1
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            return .unchanged
        }
        if best.map({ isBetter(value, than: $0) }) ?? true {
            best = value
            badEvaluations = 0
            return .improved
        }
        badEvaluations += 1
        guard badEvaluations > patience else { return .unchanged }
        cooldownCounter = cooldown
        badEvaluations = 0
        let reduced = max(currentLR * factor, minLR)
        guard currentLR - reduced > epsilon else { return .exhausted }
        let old = currentLR
        currentLR = reduced
        return .reduced(from: old, to: reduced)
    }

    /// The state to checkpoint (exact decimal round trip).
    public var state: [String: String] {
        var s = ["lr": "\(currentLR)", "bad_epochs": "\(badEvaluations)", "cooldown_counter": "\(cooldownCounter)",
                 "evaluations": "\(evaluations)"]
        if let best { s["best"] = "\(best)" }
        return s
    }

    /// Restores what ``state`` saved.
    public func restore(_ s: [String: String]) {
        if let v = s["lr"].flatMap(Float.init) { currentLR = v }
        best = s["best"].flatMap(Double.init)
        badEvaluations = s["bad_epochs"].flatMap(Int.init) ?? 0
        cooldownCounter = s["cooldown_counter"].flatMap(Int.init) ?? 0
        evaluations = s["evaluations"].flatMap(Int.init) ?? 0
    }
}
