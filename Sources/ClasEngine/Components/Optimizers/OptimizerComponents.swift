import ClasConfig
import ClasOptim
import ClasTensor

/// Options shared by the optimizers: PaddleClas's weight-decay switches.
struct DecayOptions {
    var noWeightDecayName: [String] = []
    var oneDimParamNoWeightDecay = false
}

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

/// `no_weight_decay_name` is a space-separated list of name fragments in PaddleClas.
private func decodeDecay<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ names: K, _ oneDim: K) throws -> DecayOptions {
    var d = DecayOptions()
    if let text = try c.decodeIfPresent(String.self, forKey: names) {
        d.noWeightDecayName = text.split(separator: " ").map(String.init)
    }
    d.oneDimParamNoWeightDecay = try c.decode(oneDim, default: false)
    return d
}

/// The decay policy: an explicit coefficient wins over none; the regularizer supplies it when given.
private func policy(_ coefficient: Double?, _ regularizer: WeightDecayPolicy?, _ d: DecayOptions) -> WeightDecayPolicy {
    WeightDecayPolicy(coefficient: Float(regularizer?.coefficient ?? Float(coefficient ?? 0)),
                      excludedNameParts: d.noWeightDecayName, excludeOneDimensional: d.oneDimParamNoWeightDecay)
}

/// `regularizer: {name: L2, coeff}` (coupled L2 decay). L1 is refused.
struct L2RegularizerOptions: ConfigOptions {
    var coeff: Double
    enum CodingKeys: String, CodingKey, CaseIterable { case coeff }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        coeff = try c.decode(Double.self, forKey: .coeff)
        try decoder.configCheck(coeff >= 0, CodingKeys.coeff, "must not be negative, got \(coeff)")
    }
}

extension Registries {
    static func registerOptimizers(into r: inout Registries) {
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
        r.optimizer.register("RMSProp", summary: "RMSProp (PaddlePaddle's form), coupled L2 decay",
                             options: RMSPropOptions.self) { o, _ in
            { params, lr, reg in
                RMSProp(parameters: params, learningRate: lr, rho: Float(o.rho), momentum: Float(o.momentum),
                        epsilon: Float(o.epsilon), weightDecay: policy(o.weightDecay, reg, o.decay))
            }
        }
        registerSAM(into: &r)
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
