import ClasConfig
import ClasOptim

/// Keys every PaddleClas scheduler accepts: the base rate and the warm-up.
private struct WarmupKeys {
    var learningRate: Double
    var warmupEpoch: Double
    var warmupStartLR: Double
    var byEpoch: Bool
}

private enum CommonKey: String, CodingKey, CaseIterable {
    case learningRate = "learning_rate", warmupEpoch = "warmup_epoch", warmupStartLR = "warmup_start_lr"
    case byEpoch = "by_epoch", lastEpoch = "last_epoch", epochs, stepEachEpoch = "step_each_epoch"
}

private func decodeCommon(_ decoder: Decoder, requireLR: Bool = true) throws -> WarmupKeys {
    let c = try decoder.container(keyedBy: CommonKey.self)
    let lr = requireLR ? try c.decode(Double.self, forKey: .learningRate) : try c.decode(.learningRate, default: 0.0)
    let w = WarmupKeys(learningRate: lr, warmupEpoch: try c.decode(.warmupEpoch, default: 0.0),
                       warmupStartLR: try c.decode(.warmupStartLR, default: 0.0), byEpoch: try c.decode(.byEpoch, default: false))
    _ = try c.decodeIfPresent(Int.self, forKey: .lastEpoch)
    _ = try c.decodeIfPresent(Int.self, forKey: .epochs)
    _ = try c.decodeIfPresent(Int.self, forKey: .stepEachEpoch)
    try decoder.configCheck(lr.isFinite, CommonKey.learningRate, "must be a finite number, got \(lr)")
    try decoder.configCheck(lr >= 0, CommonKey.learningRate, "must not be negative, got \(lr)")
    try decoder.configCheck(w.warmupEpoch >= 0, CommonKey.warmupEpoch, "must not be negative, got \(w.warmupEpoch)")
    return w
}

private func commonKeys<K: CodingKey & CaseIterable>(_: K.Type) -> [String] {
    CommonKey.allCases.map(\.stringValue) + K.allCases.map(\.stringValue)
}

/// Wraps `main` (built for the steps after warm-up) in PaddleClas's linear warm-up.
private func withWarmup(_ w: WarmupKeys, _ ctx: ScheduleContext, _ main: (_ steps: Int, _ warmupSteps: Int) -> LRSchedule)
    -> LRSchedule
{
    let warmupEpochs = min(w.warmupEpoch, Double(ctx.epochs))
    let warmupSteps = Int((warmupEpochs * Double(ctx.stepsPerEpoch)).rounded())
    let total = ctx.epochs * ctx.stepsPerEpoch - warmupSteps
    let schedule = main(max(total, 1), warmupSteps)
    guard warmupSteps > 0 else { return schedule }
    return LinearWarmup(base: schedule, steps: warmupSteps, startLR: Float(w.warmupStartLR), endLR: Float(w.learningRate))
}

struct CosineOptions: ConfigOptions {
    fileprivate var w: WarmupKeys
    var etaMin: Double
    enum Keys: String, CodingKey, CaseIterable { case etaMin = "eta_min" }
    static let knownKeys = commonKeys(Keys.self)
    init(from decoder: Decoder) throws {
        w = try decodeCommon(decoder)
        etaMin = try decoder.container(keyedBy: Keys.self).decode(.etaMin, default: 0.0)
    }
}

struct PiecewiseOptions: ConfigOptions {
    fileprivate var w: WarmupKeys
    var decayEpochs: [Double], values: [Double]
    enum Keys: String, CodingKey, CaseIterable { case decayEpochs = "decay_epochs", values }
    static let knownKeys = commonKeys(Keys.self)
    init(from decoder: Decoder) throws {
        w = try decodeCommon(decoder, requireLR: false)
        let c = try decoder.container(keyedBy: Keys.self)
        decayEpochs = try c.decode([Double].self, forKey: .decayEpochs)
        values = try c.decode([Double].self, forKey: .values)
        try decoder.configCheck(values.count == decayEpochs.count + 1, Keys.values,
                                "needs one more value than decay_epochs (\(decayEpochs.count)), got \(values.count)")
        if w.learningRate == 0 { w.learningRate = values.first ?? 0 }
    }
}

struct StepOptions: ConfigOptions {
    fileprivate var w: WarmupKeys
    var stepSize: Double, gamma: Double
    enum Keys: String, CodingKey, CaseIterable { case stepSize = "step_size", gamma }
    static let knownKeys = commonKeys(Keys.self)
    init(from decoder: Decoder) throws {
        w = try decodeCommon(decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        stepSize = try c.decode(Double.self, forKey: .stepSize)
        gamma = try c.decode(.gamma, default: 0.1)
        try decoder.configCheck(stepSize > 0, Keys.stepSize, "must be positive, got \(stepSize)")
    }
}

struct MultiStepOptions: ConfigOptions {
    fileprivate var w: WarmupKeys
    var milestones: [Double], gamma: Double
    enum Keys: String, CodingKey, CaseIterable { case milestones, gamma }
    static let knownKeys = commonKeys(Keys.self)
    init(from decoder: Decoder) throws {
        w = try decodeCommon(decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        milestones = try c.decode([Double].self, forKey: .milestones)
        gamma = try c.decode(.gamma, default: 0.1)
    }
}

struct LinearOptions: ConfigOptions {
    fileprivate var w: WarmupKeys
    var endLR: Double, power: Double, cycle: Bool
    enum Keys: String, CodingKey, CaseIterable { case endLR = "end_lr", power, cycle }
    static let knownKeys = commonKeys(Keys.self)
    init(from decoder: Decoder) throws {
        w = try decodeCommon(decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        endLR = try c.decode(.endLR, default: 0.0)
        power = try c.decode(.power, default: 1.0)
        cycle = try c.decode(.cycle, default: false)
    }
}

struct OneCycleOptions: ConfigOptions {
    var maxLR: Double, divideFactor: Double, endLR: Double, phasePct: Double, cosine: Bool
    enum Keys: String, CodingKey, CaseIterable {
        case maxLR = "max_learning_rate", divideFactor = "divide_factor", endLR = "end_learning_rate"
        case phasePct = "phase_pct", anneal = "anneal_strategy", threePhase = "three_phase"
    }
    static let knownKeys = commonKeys(Keys.self)
    init(from decoder: Decoder) throws {
        _ = try decodeCommon(decoder, requireLR: false)
        let c = try decoder.container(keyedBy: Keys.self)
        maxLR = try c.decode(Double.self, forKey: .maxLR)
        divideFactor = try c.decode(.divideFactor, default: 25.0)
        endLR = try c.decode(.endLR, default: 0.0001)
        phasePct = try c.decode(.phasePct, default: 0.3)
        let anneal = try c.decode(.anneal, default: "cos")
        try decoder.configCheck(["cos", "linear"].contains(anneal), Keys.anneal, "must be 'cos' or 'linear', got '\(anneal)'")
        cosine = anneal == "cos"
        let three = try c.decode(.threePhase, default: false)
        try decoder.configCheck(!three, Keys.threePhase, "three-phase one-cycle is not supported")
    }
}

struct ConstOptions: ConfigOptions {
    fileprivate var w: WarmupKeys
    static let knownKeys = CommonKey.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws { w = try decodeCommon(decoder) }
}

/// `ReduceOnPlateau` (PaddlePaddle's keys; `by_epoch` is accepted: the rate always follows the evaluations).
struct PlateauOptions: ConfigOptions {
    fileprivate var w: WarmupKeys
    var mode: ReduceOnPlateau.Mode, factor: Double, patience: Int, threshold: Double
    var thresholdMode: ReduceOnPlateau.ThresholdMode, cooldown: Int, minLR: Double, epsilon: Double, stopAtMinLR: Bool
    enum Keys: String, CodingKey, CaseIterable {
        case mode, factor, patience, threshold, thresholdMode = "threshold_mode", cooldown, minLR = "min_lr", epsilon
        case verbose, stopAtMinLR = "stop_at_min_lr"
    }
    static let knownKeys = commonKeys(Keys.self)
    init(from decoder: Decoder) throws {
        w = try decodeCommon(decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        mode = try c.decode(.mode, default: .min)
        factor = try c.decode(.factor, default: 0.1)
        patience = try c.decode(.patience, default: 10)
        threshold = try c.decode(.threshold, default: 1e-4)
        thresholdMode = try c.decode(.thresholdMode, default: .rel)
        cooldown = try c.decode(.cooldown, default: 0)
        minLR = try c.decode(.minLR, default: 0.0)
        epsilon = try c.decode(.epsilon, default: 1e-8)
        stopAtMinLR = try c.decode(.stopAtMinLR, default: true)
        _ = try c.decodeIfPresent(Bool.self, forKey: .verbose)
        try decoder.configCheck(factor > 0 && factor < 1, Keys.factor, "must be in (0, 1), got \(factor)")
        try decoder.configCheck(patience >= 0, Keys.patience, "must not be negative, got \(patience)")
        try decoder.configCheck(cooldown >= 0, Keys.cooldown, "must not be negative, got \(cooldown)")
        try decoder.configCheck(threshold >= 0, Keys.threshold, "must not be negative, got \(threshold)")
        try decoder.configCheck(minLR >= 0 && minLR <= w.learningRate, Keys.minLR,
                                "must be in [0, learning_rate \(w.learningRate)], got \(minLR)")
    }
}

extension ReduceOnPlateau.Mode: Decodable {}
extension ReduceOnPlateau.ThresholdMode: Decodable {}

extension Registries {
    static func registerSchedulers(into r: inout Registries) {
        r.lrScheduler.register("Cosine", aliases: ["CosineAnnealingDecay"], summary: "cosine annealing to eta_min, warm-up",
                               options: CosineOptions.self) { o, ctx in
            withWarmup(o.w, ctx) { total, _ in
                CosineSchedule(base: Float(o.w.learningRate), etaMin: Float(o.etaMin), totalSteps: total,
                               stepsPerUpdate: o.w.byEpoch ? ctx.stepsPerEpoch : 1)
            }
        }
        r.lrScheduler.register("Piecewise", aliases: ["PiecewiseDecay"], summary: "constant values between decay_epochs",
                               options: PiecewiseOptions.self) { o, ctx in
            withWarmup(o.w, ctx) { _, _ in
                PiecewiseSchedule(boundaries: o.decayEpochs.map { Int($0 * Double(ctx.stepsPerEpoch)) },
                                  values: o.values.map(Float.init))
            }
        }
        r.lrScheduler.register("Step", aliases: ["StepDecay"], summary: "× gamma every step_size epochs",
                               options: StepOptions.self) { o, ctx in
            withWarmup(o.w, ctx) { total, _ in
                let every = max(1, Int(o.stepSize * Double(ctx.stepsPerEpoch)))
                return MultiStepSchedule(base: Float(o.w.learningRate), boundaries: Array(stride(from: every, through: total, by: every)),
                                         gamma: Float(o.gamma), displayName: "StepDecay")
            }
        }
        r.lrScheduler.register("MultiStepDecay", summary: "× gamma at each milestone epoch", options: MultiStepOptions.self) { o, ctx in
            withWarmup(o.w, ctx) { _, _ in
                MultiStepSchedule(base: Float(o.w.learningRate), boundaries: o.milestones.map { Int($0 * Double(ctx.stepsPerEpoch)) },
                                  gamma: Float(o.gamma))
            }
        }
        r.lrScheduler.register("Linear", aliases: ["Polynomial", "PolynomialDecay"], summary: "polynomial decay to end_lr",
                               options: LinearOptions.self) { o, ctx in
            withWarmup(o.w, ctx) { total, _ in
                PolynomialSchedule(base: Float(o.w.learningRate), end: Float(o.endLR), totalSteps: total,
                                   power: Float(o.power), cycle: o.cycle)
            }
        }
        r.lrScheduler.register("OneCycleLR", aliases: ["OneCycle"], summary: "one-cycle: up to max_learning_rate, then down",
                               options: OneCycleOptions.self) { o, ctx in
            OneCycleSchedule(maxLR: Float(o.maxLR), divideFactor: Float(o.divideFactor), endLR: Float(o.endLR),
                             totalSteps: ctx.epochs * ctx.stepsPerEpoch, phasePct: Float(o.phasePct), cosine: o.cosine)
        }
        r.lrScheduler.register("ConstLR", aliases: ["Constant"], summary: "a constant rate (with optional warm-up)",
                               options: ConstOptions.self) { o, ctx in
            withWarmup(o.w, ctx) { _, _ in ConstantLR(Float(o.w.learningRate)) }
        }
        r.lrScheduler.register("ReduceOnPlateau", summary: "× factor when the eval metric stalls (mode: max for accuracy)",
                               options: PlateauOptions.self) { o, ctx in
            let warmupSteps = Int((min(o.w.warmupEpoch, Double(ctx.epochs)) * Double(ctx.stepsPerEpoch)).rounded())
            return ReduceOnPlateau(learningRate: Float(o.w.learningRate), mode: o.mode, factor: Float(o.factor),
                                   patience: o.patience, threshold: o.threshold, thresholdMode: o.thresholdMode,
                                   cooldown: o.cooldown, minLR: Float(o.minLR), epsilon: Float(o.epsilon),
                                   warmupSteps: warmupSteps, warmupStartLR: Float(o.w.warmupStartLR),
                                   stopAtMinLR: o.stopAtMinLR)
        }
    }
}
