import ClasConfig
import ClasOptim
import ClasTensor

struct RMSPropOptions: ConfigOptions {
    var momentum: Double, rho: Double, epsilon: Double
    var weightDecay: Double?
    var decay = DecayOptions()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case momentum, rho, epsilon, centered, weightDecay = "weight_decay", multiPrecision = "multi_precision"
        case noWeightDecayName = "no_weight_decay_name", oneDim = "one_dim_param_no_weight_decay"
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        momentum = try c.decode(.momentum, default: 0.0)
        rho = try c.decode(.rho, default: 0.95)
        epsilon = try c.decode(.epsilon, default: 1e-6)
        let centered = try c.decode(.centered, default: false)
        try decoder.configCheck(!centered, CodingKeys.centered, "centered RMSProp is not supported")
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay)
        _ = try c.decodeIfPresent(Bool.self, forKey: .multiPrecision)
        decay = try decodeDecay(c, .noWeightDecayName, .oneDim)
    }
}

extension RMSProp {
    /// `RMSProp` in PaddlePaddle's form.
    static func register(into r: inout Registries) {
        r.optimizer.register("RMSProp", summary: "RMSProp (PaddlePaddle's form), coupled L2 decay",
                             options: RMSPropOptions.self) { o, _ in
            { params, lr, reg in
                RMSProp(parameters: params, learningRate: lr, rho: Float(o.rho), momentum: Float(o.momentum),
                        epsilon: Float(o.epsilon), weightDecay: policy(o.weightDecay, reg, o.decay))
            }
        }
    }
}
