import ClasConfig
import ClasOptim

struct CosineOptions: ConfigOptions {
    var w: WarmupKeys
    var etaMin: Double
    enum Keys: String, CodingKey, CaseIterable { case etaMin = "eta_min" }
    static let knownKeys = commonKeys(Keys.self)
    init(from decoder: Decoder) throws {
        w = try decodeCommon(decoder)
        etaMin = try decoder.container(keyedBy: Keys.self).decode(.etaMin, default: 0.0)
    }
}

extension CosineSchedule {
    /// `Cosine` (`CosineAnnealingDecay`).
    static func register(into r: inout Registries) {
        r.lrScheduler.register("Cosine", aliases: ["CosineAnnealingDecay"], summary: "cosine annealing to eta_min, warm-up",
                               options: CosineOptions.self) { o, ctx in
            withWarmup(o.w, ctx) { total, _ in
                CosineSchedule(base: Float(o.w.learningRate), etaMin: Float(o.etaMin), totalSteps: total,
                               stepsPerUpdate: o.w.byEpoch ? ctx.stepsPerEpoch : 1)
            }
        }
    }
}
