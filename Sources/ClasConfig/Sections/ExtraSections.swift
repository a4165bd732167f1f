/// `EMA: {decay, use_warmup}`: keep an exponential moving average of the weights; its presence turns it on.
public struct EMAConfig: ConfigOptions, Sendable, Equatable {
    /// The decay, in (0, 1). Default 0.9999.
    public var decay: Double
    /// Warm the decay up as min(decay, (1 + t)/(10 + t)) after t updates (timm's `use_warmup`), so early averages
    /// are not dominated by the initial weights. Default false (PaddleClas has no warm-up).
    public var useWarmup: Bool

    enum CodingKeys: String, CodingKey, CaseIterable { case decay, useWarmup = "use_warmup" }

    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        decay = try c.decode(.decay, default: 0.9999)
        useWarmup = try c.decode(.useWarmup, default: false)
        try decoder.configCheck(
            decay > 0 && decay < 1, CodingKeys.decay, "must be between 0 and 1 (exclusive), got \(decay)")
    }
}

/// `AMP: {use_amp, level, …}`: mixed precision. SwiftClas trains in float32; an enabled AMP gives a notice.
public struct AMPConfig: ConfigOptions, Sendable, Equatable {
    /// Whether the config asked for AMP (PaddleClas default: true when the section is present).
    public var useAmp: Bool

    enum CodingKeys: String, CodingKey, CaseIterable {
        case useAmp = "use_amp"
        case useFp16Test = "use_fp16_test"
        case scaleLoss = "scale_loss"
        case useDynamicLossScaling = "use_dynamic_loss_scaling"
        case usePromote = "use_promote"
        case level
    }

    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        useAmp = try c.decode(.useAmp, default: true)
        _ = try c.decodeIfPresent(Bool.self, forKey: .useFp16Test)
        _ = try c.decodeIfPresent(Double.self, forKey: .scaleLoss)
        _ = try c.decodeIfPresent(Bool.self, forKey: .useDynamicLossScaling)
        _ = try c.decodeIfPresent(Bool.self, forKey: .usePromote)
        _ = try c.decodeIfPresent(String.self, forKey: .level)
        if useAmp {
            decoder.configNotice("AMP is ignored: SwiftClas trains in float32")
        }
    }
}

/// `Slim: {prune: …}` or `{quant: …}` (PaddleSlim). `quant` is read by `tools quantize` and `tools compress`
/// (ClasExport's `QuantizationOptions`); pruning is not supported: kept raw, with a notice.
public struct SlimConfig: ConfigOptions, Sendable, Equatable {
    /// The section as written.
    public var node: ConfigNode

    public static let knownKeys = ["prune", "quant"]

    public init(from decoder: Decoder) throws {
        node = decoder.configNode ?? .null()
        if let prune = node["prune"], !prune.isNull {
            decoder.configNotice("Slim.prune is ignored: pruning (PaddleSlim) is not supported")
        }
    }
}
