import ClasConfig
import ClasOptim

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

extension OneCycleSchedule {
    /// `OneCycleLR` (`OneCycle`).
    static func register(into r: inout Registries) {
        r.lrScheduler.register("OneCycleLR", aliases: ["OneCycle"], summary: "one-cycle: up to max_learning_rate, then down",
                               options: OneCycleOptions.self) { o, ctx in
            OneCycleSchedule(maxLR: Float(o.maxLR), divideFactor: Float(o.divideFactor), endLR: Float(o.endLR),
                             totalSteps: ctx.epochs * ctx.stepsPerEpoch, phasePct: Float(o.phasePct), cosine: o.cosine)
        }
    }
}
