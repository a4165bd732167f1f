/// The `Global` section: run length, logging, checkpoints, output paths (PaddleClas keys and defaults).
public struct GlobalConfig: ConfigOptions, Sendable, Equatable {
    /// How evaluation is done; SwiftClas implements `classification` and refuses PaddleClas's other modes.
    public enum EvalMode: String, CaseIterable, Decodable, Sendable {
        case classification, retrieval, adaface
    }

    /// Checkpoint prefix to resume from (`output/epoch_5`), or nil.
    public var checkpoints: String?
    /// Weights-only prefix or URL loaded after the model is built, or nil.
    public var pretrainedModel: String?
    /// Where logs and checkpoints go. Default `./output/`.
    public var outputDir: String
    /// PaddleClas device name; SwiftClas always runs on the CPU (a notice is given for others). Default `cpu`.
    public var device: String
    /// Number of training epochs (≥ 1). Required.
    public var epochs: Int
    /// Save `epoch_N` every this many epochs (≥ 1). Default 1.
    public var saveInterval: Int
    /// Evaluate during training. Default true.
    public var evalDuringTrain: Bool
    /// Evaluate every this many epochs (≥ 1). Default 1.
    public var evalInterval: Int
    /// First epoch that may be evaluated (≥ 0). Default 0.
    public var startEvalEpoch: Int
    /// Log every this many iterations (≥ 1). Default 10.
    public var printBatchStep: Int
    /// Write VisualDL/TensorBoard logs. Default false.
    public var useVisualDL: Bool
    /// Input shape `[C, H, W]` for export, or nil.
    public var imageShape: [Int]?
    /// Export directory. Default `./inference`.
    public var saveInferenceDir: String
    /// Evaluation mode. Default classification.
    public var evalMode: EvalMode
    /// Random seed, or nil.
    public var seed: Int?
    /// Deprecated `Global.class_num` (moved to `Arch.class_num` by ``RunConfig``), or nil.
    public var classNum: Int?
    /// Gradient accumulation steps (≥ 1). Default 1.
    public var updateFreq: Int
    /// Fixed iterations per epoch (≥ 1), or nil for the dataset size.
    public var iterPerEpoch: Int?
    /// Alternative training loop, or nil for standard training: `progressive` (PaddleClas's progressive learning:
    /// image size, RandAugment magnitude and dropout grow by stage); PaddleClas's others (`fixmatch`,
    /// `fixmatch_ccssl`, `metabin`) are refused with the reason (``unsupportedTrainModes``).
    public var trainMode: String?
    /// SwiftClas: worker threads (≥ 1), or nil for all cores.
    public var numThreads: Int?
    /// SwiftClas: skip unreadable images instead of failing. Default false.
    public var skipBadImages: Bool
    /// SwiftClas: refuse images with more pixels than this (≥ 1), like PIL's decompression-bomb limit.
    /// Default 89_478_485.
    public var maxImagePixels: Int
    /// SwiftClas: seconds a collective operation of a multi-process (mpirun) run may take before the job is
    /// stopped with an error (a rank died or hung), or nil for the default (300, or `CLAS_COLLECTIVE_TIMEOUT`).
    public var collectiveTimeout: Double?
    /// SwiftClas: let `tools train` write over an existing run's checkpoints (`best_model`/`latest`) in
    /// `output_dir/<Arch.name>/` without resuming. Default false (such a run is refused).
    public var overwrite: Bool
    /// A multi-label or attribute task: without `Infer.PostProcess`, `tools infer` then uses `MultiLabelThreshOutput`
    /// (sigmoid scores). Runs with data follow the dataset (`MultiLabelDataset`). Default false. (`tools export`
    /// writes logits either way; PaddleClas appends a sigmoid.)
    public var useMultilabel: Bool

    enum CodingKeys: String, CodingKey, CaseIterable {
        case checkpoints
        case pretrainedModel = "pretrained_model"
        case outputDir = "output_dir"
        case device, epochs
        case saveInterval = "save_interval"
        case evalDuringTrain = "eval_during_train"
        case evalInterval = "eval_interval"
        case startEvalEpoch = "start_eval_epoch"
        case printBatchStep = "print_batch_step"
        case useVisualDL = "use_visualdl"
        case imageShape = "image_shape"
        case saveInferenceDir = "save_inference_dir"
        case evalMode = "eval_mode"
        case seed
        case classNum = "class_num"
        case updateFreq = "update_freq"
        case iterPerEpoch = "iter_per_epoch"
        case trainMode = "train_mode"
        case numThreads = "num_threads"
        case skipBadImages = "skip_bad_images"
        case maxImagePixels = "max_image_pixels"
        case collectiveTimeout = "collective_timeout"
        case overwrite
        case useMultilabel = "use_multilabel"
    }

    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    public static let ignoredKeys: [String: String] = [
        "use_dali": "DALI data loading does not exist in SwiftClas",
        "to_static": "SwiftClas has no static-graph mode",
        "log_ranks": "only rank 0 logs",
        "print_mem_info": "memory logging is not supported",
        "export_for_fd": "inference.yml for FastDeploy is not written",
        "uniform_output_enabled": "the PaddleX output layout is not used",
        "auto_cast": "SwiftClas trains in float32",
        "image_channel": "PaddleClas reads it nowhere either (configs anchor it): the input channels are "
            + "Arch.input_image_channel and NormalizeImage.channel_num",
    ]

    /// PaddleClas's `Global.train_mode` values, each with why SwiftClas refuses it.
    public static let unsupportedTrainModes: [String: String] = [
        "fixmatch": "semi-supervised training is not supported",
        "fixmatch_ccssl": "semi-supervised training is not supported",
        "metabin": "MetaBIN domain generalisation is not supported",
    ]

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        checkpoints = try c.decodeIfPresent(String.self, forKey: .checkpoints)
        pretrainedModel = try c.decodeIfPresent(String.self, forKey: .pretrainedModel)
        outputDir = try c.decode(.outputDir, default: "./output/")
        device = try c.decode(.device, default: "cpu")
        epochs = try c.decode(Int.self, forKey: .epochs)
        saveInterval = try c.decode(.saveInterval, default: 1)
        evalDuringTrain = try c.decode(.evalDuringTrain, default: true)
        evalInterval = try c.decode(.evalInterval, default: 1)
        startEvalEpoch = try c.decode(.startEvalEpoch, default: 0)
        printBatchStep = try c.decode(.printBatchStep, default: 10)
        useVisualDL = try c.decode(.useVisualDL, default: false)
        imageShape = try c.decodeIfPresent([Int].self, forKey: .imageShape)
        saveInferenceDir = try c.decode(.saveInferenceDir, default: "./inference")
        evalMode = try c.decode(.evalMode, default: .classification)
        seed = try c.decodeIfPresent(Int.self, forKey: .seed)
        classNum = try c.decodeIfPresent(Int.self, forKey: .classNum)
        updateFreq = try c.decode(.updateFreq, default: 1)
        iterPerEpoch = try c.decodeIfPresent(Int.self, forKey: .iterPerEpoch)
        trainMode = try c.decodeIfPresent(String.self, forKey: .trainMode)
        numThreads = try c.decodeIfPresent(Int.self, forKey: .numThreads)
        skipBadImages = try c.decode(.skipBadImages, default: false)
        maxImagePixels = try c.decode(.maxImagePixels, default: 89_478_485)
        collectiveTimeout = try c.decodeIfPresent(Double.self, forKey: .collectiveTimeout)
        overwrite = try c.decode(.overwrite, default: false)
        useMultilabel = try c.decode(.useMultilabel, default: false)
        if let t = collectiveTimeout {
            try decoder.configCheck(t > 0, CodingKeys.collectiveTimeout, "must be positive (seconds), got \(t)")
        }

        for (value, key) in [
            (epochs, CodingKeys.epochs), (saveInterval, .saveInterval), (evalInterval, .evalInterval),
            (printBatchStep, .printBatchStep), (updateFreq, .updateFreq), (maxImagePixels, .maxImagePixels),
        ] {
            try decoder.configCheck(value >= 1, key, "must be at least 1, got \(value)")
        }
        try decoder.configCheck(
            startEvalEpoch >= 0, CodingKeys.startEvalEpoch, "must not be negative, got \(startEvalEpoch)")
        for (value, key) in [(iterPerEpoch, CodingKeys.iterPerEpoch), (numThreads, .numThreads), (classNum, .classNum)]
        {
            if let value { try decoder.configCheck(value >= 1, key, "must be at least 1, got \(value)") }
        }
        if let shape = imageShape {
            try decoder.configCheck(
                shape.count == 3 && shape.allSatisfy { $0 >= 1 }, CodingKeys.imageShape,
                "expects [channels, height, width] of positive integers, got \(shape)")
        }
        try decoder.configCheck(
            evalMode == .classification, CodingKeys.evalMode,
            "'\(evalMode.rawValue)' is not supported: SwiftClas evaluates classifiers only (image retrieval and "
                + "face recognition are out of scope); remove the key or set it to classification")
        if let mode = trainMode, mode != "progressive" {
            let reason =
                Self.unsupportedTrainModes[mode]
                ?? "unknown mode; SwiftClas has progressive (PaddleClas's others are "
                + Self.unsupportedTrainModes.keys.sorted().joined(separator: ", ") + ")"
            try decoder.configCheck(
                false, CodingKeys.trainMode, "'\(mode)' is not supported: \(reason). Without the key, training is standard")
        }
        if device != "cpu" {
            decoder.configNotice(
                "Global.device '\(device)' is ignored: SwiftClas runs on the CPU", about: CodingKeys.device)
        }
    }
}
