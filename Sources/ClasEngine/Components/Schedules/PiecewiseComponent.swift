import ClasConfig
import ClasOptim

struct PiecewiseOptions: ConfigOptions {
    var w: WarmupKeys
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

extension PiecewiseSchedule {
    /// `Piecewise` (`PiecewiseDecay`).
    static func register(into r: inout Registries) {
        r.lrScheduler.register("Piecewise", aliases: ["PiecewiseDecay"], summary: "constant values between decay_epochs",
                               options: PiecewiseOptions.self) { o, ctx in
            withWarmup(o.w, ctx) { _, _ in
                PiecewiseSchedule(boundaries: o.decayEpochs.map { Int($0 * Double(ctx.stepsPerEpoch)) },
                                  values: o.values.map(Float.init))
            }
        }
    }
}
