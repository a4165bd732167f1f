import ClasConfig
import ClasOptim

struct LinearOptions: ConfigOptions {
    var w: WarmupKeys
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

extension PolynomialSchedule {
    /// `Linear` (`Polynomial`, `PolynomialDecay`).
    static func register(into r: inout Registries) {
        r.lrScheduler.register("Linear", aliases: ["Polynomial", "PolynomialDecay"], summary: "polynomial decay to end_lr",
                               options: LinearOptions.self) { o, ctx in
            withWarmup(o.w, ctx) { total, _ in
                PolynomialSchedule(base: Float(o.w.learningRate), end: Float(o.endLR), totalSteps: total,
                                   power: Float(o.power), cycle: o.cycle)
            }
        }
    }
}
