import ClasConfig
import ClasOptim

/// `ReduceOnPlateau` (PaddlePaddle's keys; `by_epoch` is accepted: the rate always follows the evaluations).
struct PlateauOptions: ConfigOptions {
    var w: WarmupKeys
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

extension ReduceOnPlateau {
    /// `ReduceOnPlateau`, stepped by the evaluations.
    static func register(into r: inout Registries) {
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
