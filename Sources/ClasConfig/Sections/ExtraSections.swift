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

/// `AMP: {use_amp, level, …}`: mixed precision. When on, training multiplies matrices in bfloat16 with float32 sums
/// on CPUs with AVX512_BF16 (see `MixedPrecision`); elsewhere it trains in float32 with a notice. PaddleClas's
/// fp16 loss-scaling keys are accepted and unused (bfloat16 has float32's range); `level: O2` (pure fp16 weights)
/// runs as O1 (float32 master weights); `use_fp16_test` is unused (evaluation runs in float32).
public struct AMPConfig: ConfigOptions, Sendable, Equatable {
    /// Whether the config asked for AMP (PaddleClas default: true when the section is present).
    public var useAmp: Bool
    /// `level`: "O1" (default) or "O2".
    public var level: String

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
        let fp16Test = try c.decodeIfPresent(Bool.self, forKey: .useFp16Test) ?? false
        let scale = try c.decodeIfPresent(Double.self, forKey: .scaleLoss)
        let dynamic = try c.decodeIfPresent(Bool.self, forKey: .useDynamicLossScaling) ?? false
        let promote = try c.decodeIfPresent(Bool.self, forKey: .usePromote) ?? false
        level = try c.decode(.level, default: "O1").uppercased()
        try decoder.configCheck(["O1", "O2"].contains(level), CodingKeys.level, "must be O1 or O2, got \(level)")
        guard useAmp else { return }
        if scale != nil || dynamic {
            decoder.configNotice("AMP.scale_loss and AMP.use_dynamic_loss_scaling are unused: SwiftClas's AMP "
                                 + "multiplies in bfloat16, which has float32's range, so no loss scaling is needed")
        }
        if level == "O2" { decoder.configNotice("AMP.level O2 runs as O1: the weights stay float32") }
        if fp16Test { decoder.configNotice("AMP.use_fp16_test is unused: evaluation runs in float32") }
        if promote { decoder.configNotice("AMP.use_promote is unused: only matrix products run in bfloat16") }
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
