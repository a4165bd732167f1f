import ClasConfig
import ClasNN
import ClasOptim

/// `Optimizer: {name: SAM, rho, adaptive, base: {name: Momentum, …}, lr, regularizer, clip_norm}`.
///
/// ```yaml
/// Optimizer:
///   name: SAM
///   rho: 0.05            # neighbourhood radius (ASAM: larger, e.g. 0.5)
///   adaptive: False      # True: ASAM
///   base: {name: Momentum, momentum: 0.9, no_weight_decay_name: bn .bias, one_dim_param_no_weight_decay: True}
///   lr: {name: Cosine, learning_rate: 0.013}
///   regularizer: {name: L2, coeff: 0.00004}
/// ```
/// `lr`, `regularizer` and `clip_norm` stay at the section level and apply to the wrapped optimizer (`clip_norm`
/// to the second gradient). `base` is any built-in optimizer except SAM. Each step runs forward and backward
/// twice; `Global.update_freq` must be 1.
struct SAMOptions: ConfigOptions {
    var rho: Double, adaptive: Bool, base: ComponentSpec
    enum CodingKeys: String, CodingKey, CaseIterable { case rho, adaptive, base }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    /// The optimizers SAM can wrap (the built-ins).
    static let bases: Registry<OptimizerFactory, Void> = {
        var r = Registries()
        Registries.registerBaseOptimizers(into: &r)
        return r.optimizer
    }()

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rho = try c.decode(.rho, default: 0.05)
        adaptive = try c.decode(.adaptive, default: false)
        base = try c.decode(ComponentSpec.self, forKey: .base)
        try decoder.configCheck(rho > 0, CodingKeys.rho, "must be positive, got \(rho)")
        if base.name == "SAM" { throw ConfigError("\(base.path): SAM cannot wrap SAM", at: base.nameLocation) }
        try Self.bases.check(base, decoder: ConfigDecoder())
    }
}

extension SAM: ClosureStepping {}

extension SAM {
    /// `SAM` around any built-in optimizer but itself (`base`).
    static func register(into r: inout Registries) {
        r.optimizer.register("SAM", summary: "sharpness-aware minimisation around `base` (adaptive: ASAM)",
                             options: SAMOptions.self) { o, _ in
            let makeBase = try SAMOptions.bases.build(o.base, context: (), decoder: ConfigDecoder())
            return { params, lr, reg in
                SAM(base: try makeBase(params, lr, reg), rho: Float(o.rho), adaptive: o.adaptive)
            }
        }
    }
}

extension Module {
    /// Runs `body` with every batch norm's running statistics left as they are (SAM's second pass, like the
    /// reference implementation's `disable_running_stats`): the perturbed weights' statistics are not averaged in.
    func withoutBatchNormStatisticsUpdates<T>(_ body: () throws -> T) rethrows -> T {
        let norms = namedModules().compactMap { $0.1 as? BatchNorm }
        let saved = norms.map(\.momentum)
        for bn in norms { bn.momentum = 0 }
        defer { for (bn, m) in zip(norms, saved) { bn.momentum = m } }
        return try body()
    }
}
