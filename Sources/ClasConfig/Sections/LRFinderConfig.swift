/// The `LRFinder` section (SwiftClas): find a learning rate before training.
///
/// ```yaml
/// LRFinder:
///   mode: range          # range: fast.ai range test; grid / tpe: short trainings over [min_lr, max_lr]
///   auto: True           # `tools train` runs it first and trains with the chosen rate
///   min_lr: 1.0e-5
///   max_lr: 1.0
///   num_iter: 100
///   path_to_savefig: lr_find.png
/// ```
public struct LRFinderConfig: ConfigOptions, Sendable, Equatable {
    /// How the rate is searched.
    public enum Mode: String, CaseIterable, Decodable, Sendable {
        /// One run with the rate ramped exponentially; the rate where the loss falls fastest is chosen.
        case range
        /// Short trainings at `num_trials` rates spaced evenly on a log scale; the best validation metric wins.
        case grid
        /// Short trainings at rates proposed by a tree-structured Parzen estimator; the best validation metric wins.
        case tpe
    }

    /// Search mode. Default `range`.
    public var mode: Mode = .range
    /// `tools train` runs the finder first and sets the optimizer's base rate to its choice. Default false.
    public var auto: Bool = false
    /// With `auto`: report the choice and stop instead of training. Default false.
    public var stopAfter: Bool = false
    /// Lower end of the searched rates (> 0). Default 1e-6.
    public var minLR: Double = 1e-6
    /// Upper end of the searched rates (> `min_lr`). Default 1.
    public var maxLR: Double = 1.0
    /// Range test: optimizer steps of the ramp (≥ 2). Default 100.
    public var numIter: Int = 100
    /// Range test: steps at `min_lr` before the ramp, not recorded (≥ 0). Default 0.
    public var warmupIter: Int = 0
    /// Range test: the same in epochs of `DataLoader.Train`, added to `warmup_iter` (≥ 0). Default 0.
    public var warmupEpoch: Double = 0
    /// Range test: weight of each new loss in the smoothed loss, in (0, 1]. Default 0.05.
    public var smoothF: Double = 0.05
    /// Range test: stop when the smoothed loss exceeds this multiple of its minimum (> 1). Default 5.
    public var divergeTh: Double = 5
    /// Range test: first recorded points ignored by the choice (≥ 0). Default 10.
    public var skipStart: Int = 10
    /// Range test: last recorded points ignored by the choice (≥ 0). Default 5.
    public var skipEnd: Int = 5
    /// Where to save the curve (loss against rate, or metric against rate), relative to the model's output
    /// folder unless absolute; null for no figure. Default `lr_find.png`.
    public var pathToSavefig: String? = "lr_find.png"
    /// Grid and TPE: number of short trainings (≥ 2). Default 6.
    public var numTrials: Int = 6
    /// Grid and TPE: epochs of each short training (≥ 1). Default 1.
    public var trialEpochs: Int = 1
    /// Grid and TPE: iterations per epoch of each short training (`Global.iter_per_epoch`), or nil for whole epochs.
    public var trialIters: Int? = nil
    /// TPE: seed of the sampler, or nil for `Global.seed`.
    public var seed: Int? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case mode, auto
        case stopAfter = "stop_after"
        case minLR = "min_lr"
        case maxLR = "max_lr"
        case numIter = "num_iter"
        case warmupIter = "warmup_iter"
        case warmupEpoch = "warmup_epoch"
        case smoothF = "smooth_f"
        case divergeTh = "diverge_th"
        case skipStart = "skip_start"
        case skipEnd = "skip_end"
        case pathToSavefig = "path_to_savefig"
        case numTrials = "num_trials"
        case trialEpochs = "trial_epochs"
        case trialIters = "trial_iters"
        case seed
    }

    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    /// The defaults (what an empty `LRFinder:` section gives).
    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decode(.mode, default: mode)
        auto = try c.decode(.auto, default: auto)
        stopAfter = try c.decode(.stopAfter, default: stopAfter)
        minLR = try c.decode(.minLR, default: minLR)
        maxLR = try c.decode(.maxLR, default: maxLR)
        numIter = try c.decode(.numIter, default: numIter)
        warmupIter = try c.decode(.warmupIter, default: warmupIter)
        warmupEpoch = try c.decode(.warmupEpoch, default: warmupEpoch)
        smoothF = try c.decode(.smoothF, default: smoothF)
        divergeTh = try c.decode(.divergeTh, default: divergeTh)
        skipStart = try c.decode(.skipStart, default: skipStart)
        skipEnd = try c.decode(.skipEnd, default: skipEnd)
        if c.contains(.pathToSavefig) { pathToSavefig = try c.decodeIfPresent(String.self, forKey: .pathToSavefig) }
        numTrials = try c.decode(.numTrials, default: numTrials)
        trialEpochs = try c.decode(.trialEpochs, default: trialEpochs)
        trialIters = try c.decodeIfPresent(Int.self, forKey: .trialIters)
        seed = try c.decodeIfPresent(Int.self, forKey: .seed)

        try decoder.configCheck(minLR > 0, CodingKeys.minLR, "must be positive, got \(minLR)")
        try decoder.configCheck(maxLR > minLR, CodingKeys.maxLR, "must be greater than min_lr (\(minLR)), got \(maxLR)")
        try decoder.configCheck(numIter >= 2, CodingKeys.numIter, "must be at least 2, got \(numIter)")
        for (value, key) in [(warmupIter, CodingKeys.warmupIter), (skipStart, .skipStart), (skipEnd, .skipEnd)] {
            try decoder.configCheck(value >= 0, key, "must not be negative, got \(value)")
        }
        try decoder.configCheck(warmupEpoch >= 0, CodingKeys.warmupEpoch, "must not be negative, got \(warmupEpoch)")
        try decoder.configCheck(smoothF > 0 && smoothF <= 1, CodingKeys.smoothF, "must be in (0, 1], got \(smoothF)")
        try decoder.configCheck(divergeTh > 1, CodingKeys.divergeTh, "must be greater than 1, got \(divergeTh)")
        try decoder.configCheck(numTrials >= 2, CodingKeys.numTrials, "must be at least 2, got \(numTrials)")
        try decoder.configCheck(trialEpochs >= 1, CodingKeys.trialEpochs, "must be at least 1, got \(trialEpochs)")
        if let trialIters {
            try decoder.configCheck(trialIters >= 1, CodingKeys.trialIters, "must be at least 1, got \(trialIters)")
        }
        if stopAfter && !auto {
            decoder.configNotice("LRFinder.stop_after only matters with LRFinder.auto: True (tools train); "
                                 + "tools lr_find always stops after reporting", about: CodingKeys.stopAfter)
        }
    }
}
