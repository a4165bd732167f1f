import ClasConfig
import ClasOptim

/// Keys every PaddleClas scheduler accepts: the base rate and the warm-up.
struct WarmupKeys {
    var learningRate: Double
    var warmupEpoch: Double
    var warmupStartLR: Double
    var byEpoch: Bool
}

enum CommonKey: String, CodingKey, CaseIterable {
    case learningRate = "learning_rate", warmupEpoch = "warmup_epoch", warmupStartLR = "warmup_start_lr"
    case byEpoch = "by_epoch", lastEpoch = "last_epoch", epochs, stepEachEpoch = "step_each_epoch"
}

func decodeCommon(_ decoder: Decoder, requireLR: Bool = true) throws -> WarmupKeys {
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

func commonKeys<K: CodingKey & CaseIterable>(_: K.Type) -> [String] {
    CommonKey.allCases.map(\.stringValue) + K.allCases.map(\.stringValue)
}

/// Wraps `main` (built for the steps after warm-up) in PaddleClas's linear warm-up.
func withWarmup(_ w: WarmupKeys, _ ctx: ScheduleContext, _ main: (_ steps: Int, _ warmupSteps: Int) -> LRSchedule)
    -> LRSchedule
{
    let warmupEpochs = min(w.warmupEpoch, Double(ctx.epochs))
    let warmupSteps = Int((warmupEpochs * Double(ctx.stepsPerEpoch)).rounded())
    let total = ctx.epochs * ctx.stepsPerEpoch - warmupSteps
    let schedule = main(max(total, 1), warmupSteps)
    guard warmupSteps > 0 else { return schedule }
    return LinearWarmup(base: schedule, steps: warmupSteps, startLR: Float(w.warmupStartLR), endLR: Float(w.learningRate))
}
