import ClasConfig
import ClasOptim

struct StepOptions: ConfigOptions {
    var w: WarmupKeys
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
    var w: WarmupKeys
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

extension MultiStepSchedule {
    /// `Step` (`StepDecay`) and `MultiStepDecay`.
    static func register(into r: inout Registries) {
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
    }
}
