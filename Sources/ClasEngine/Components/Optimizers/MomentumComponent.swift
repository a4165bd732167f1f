import ClasConfig
import ClasOptim
import ClasTensor

struct MomentumOptions: ConfigOptions {
    var momentum: Double
    var nesterov: Bool
    var weightDecay: Double?
    var decay = DecayOptions()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case momentum, useNesterov = "use_nesterov", weightDecay = "weight_decay", multiPrecision = "multi_precision"
        case noWeightDecayName = "no_weight_decay_name", oneDim = "one_dim_param_no_weight_decay"
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        momentum = try c.decode(Double.self, forKey: .momentum)
        nesterov = try c.decode(.useNesterov, default: false)
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay)
        _ = try c.decodeIfPresent(Bool.self, forKey: .multiPrecision)
        decay = try decodeDecay(c, .noWeightDecayName, .oneDim)
        try decoder.configCheck(momentum >= 0 && momentum < 1, CodingKeys.momentum, "must be in [0, 1), got \(momentum)")
    }
}

extension MomentumOptions {
    /// `SGD`: Momentum's options without momentum.
    struct SGD: ConfigOptions {
        var weightDecay: Double?
        var decay = DecayOptions()
        enum CodingKeys: String, CodingKey, CaseIterable {
            case weightDecay = "weight_decay", multiPrecision = "multi_precision"
            case noWeightDecayName = "no_weight_decay_name", oneDim = "one_dim_param_no_weight_decay"
        }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay)
            _ = try c.decodeIfPresent(Bool.self, forKey: .multiPrecision)
            decay = try decodeDecay(c, .noWeightDecayName, .oneDim)
        }
    }
}

extension Momentum {
    /// `Momentum` and `SGD` (momentum 0).
    static func register(into r: inout Registries) {
        r.optimizer.register("Momentum", summary: "SGD with momentum (use_nesterov), coupled L2 decay",
                             options: MomentumOptions.self) { o, _ in
            { params, lr, reg in
                Momentum(parameters: params, learningRate: lr, momentum: Float(o.momentum), nesterov: o.nesterov,
                         weightDecay: policy(o.weightDecay, reg, o.decay))
            }
        }
        r.optimizer.register("SGD", summary: "plain SGD, coupled L2 decay", options: MomentumOptions.SGD.self) { o, _ in
            { params, lr, reg in
                Momentum(parameters: params, learningRate: lr, momentum: 0, weightDecay: policy(o.weightDecay, reg, o.decay))
            }
        }
    }
}
