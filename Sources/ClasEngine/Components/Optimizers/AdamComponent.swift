import ClasConfig
import ClasOptim
import ClasTensor

struct AdamOptions: ConfigOptions {
    var beta1: Double, beta2: Double, epsilon: Double
    var weightDecay: Double?
    var decay = DecayOptions()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case beta1, beta2, epsilon, weightDecay = "weight_decay", multiPrecision = "multi_precision", lazyMode = "lazy_mode"
        case amsgrad, noWeightDecayName = "no_weight_decay_name", oneDim = "one_dim_param_no_weight_decay"
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        beta1 = try c.decode(.beta1, default: 0.9)
        beta2 = try c.decode(.beta2, default: 0.999)
        epsilon = try c.decode(.epsilon, default: 1e-8)
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay)
        _ = try c.decodeIfPresent(Bool.self, forKey: .multiPrecision)
        _ = try c.decodeIfPresent(Bool.self, forKey: .lazyMode)
        let ams = try c.decode(.amsgrad, default: false)
        try decoder.configCheck(!ams, CodingKeys.amsgrad, "AMSGrad is not supported")
        decay = try decodeDecay(c, .noWeightDecayName, .oneDim)
        try decoder.configCheck(beta1 >= 0 && beta1 < 1, CodingKeys.beta1, "must be in [0, 1), got \(beta1)")
        try decoder.configCheck(beta2 >= 0 && beta2 < 1, CodingKeys.beta2, "must be in [0, 1), got \(beta2)")
    }
}

extension Adam {
    /// `Adam` (coupled L2 decay) and `AdamW` (decoupled).
    static func register(into r: inout Registries) {
        r.optimizer.register("Adam", summary: "Adam, coupled L2 decay", options: AdamOptions.self) { o, _ in
            { params, lr, reg in
                Adam(parameters: params, learningRate: lr, beta1: Float(o.beta1), beta2: Float(o.beta2),
                     epsilon: Float(o.epsilon), decoupled: false, weightDecay: policy(o.weightDecay, reg, o.decay))
            }
        }
        r.optimizer.register("AdamW", summary: "Adam with decoupled weight decay", options: AdamOptions.self) { o, _ in
            { params, lr, reg in
                Adam(parameters: params, learningRate: lr, beta1: Float(o.beta1), beta2: Float(o.beta2),
                     epsilon: Float(o.epsilon), decoupled: true,
                     weightDecay: policy(o.weightDecay ?? 0.01, reg, o.decay))
            }
        }
    }
}
