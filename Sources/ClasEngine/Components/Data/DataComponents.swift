import ClasConfig
import ClasData
import ClasTensor

/// What dataset factories receive.
public struct DatasetContext {
    /// `Arch.class_num` when the config gives it, else for the evaluation split the training data's class count
    /// (labels must be below it).
    public var classCount: Int?
    public init(classCount: Int?) { self.classCount = classCount }
}

/// A batch-level augmentation (PaddleClas `batch_transform_ops`: Mixup, Cutmix, …), applied after collation.
public protocol BatchTransform {
    /// Transforms the batch in place; soft targets go to `batch.targets.soft`.
    func apply(_ batch: inout EngineBatch, classCount: Int, rng: inout RandomState)
}

/// Sampler settings (PaddleClas `DistributedBatchSampler`, `BatchSampler`).
public struct SamplerSettings {
    public var batchSize: Int
    public var shuffle: Bool
    public var dropLast: Bool
    /// PaddleClas's `MultiScaleSampler` settings, when that sampler is used.
    public var multiScale: MultiScaleSettings? = nil
}

/// The data registries: datasets, transform ops, batch ops and samplers.
public struct DataRegistries {
    public var dataset = Registry<any ImageDataset, DatasetContext>(kind: "dataset", listCommand: "tools list datasets")
    public var transform = Registry<any ImageOp, Void>(kind: "transform op", listCommand: "tools list transforms")
    public var batchTransform = Registry<BatchTransform, Void>(kind: "batch transform", listCommand: "tools list batch_transforms")
    public var sampler = Registry<SamplerSettings, Void>(kind: "sampler", listCommand: "tools list samplers")

    public init() {}

    /// Every built-in data component.
    public static func builtins() -> DataRegistries {
        var r = DataRegistries()
        for entry in BuiltinImageOps.all { r.registerOp(entry) }
        let inner = r.transform
        r.transform.register(RandomApply.name, summary: "runs its transforms with probability p",
                             options: RandomApplyOptions.self) { o, _ in
            let ops = try o.transforms.map { try inner.build($0, context: (), decoder: ConfigDecoder()) }
            return try RandomApply(p: o.p, ops: ops)
        }
        r.registerBatchMixing()
        r.dataset.register("ImageNetDataset", aliases: ["ClsDataset"], summary: "list file of `path label` lines",
                           options: ImageNetDatasetOptions.self) { o, ctx in
            try ImageNetDataset(imageRoot: o.imageRoot, listPath: o.listPath, delimiter: o.delimiter,
                                relabel: o.relabel, classCount: ctx.classCount)
        }
        r.dataset.register("MultiLabelDataset", summary: "list file of `path<TAB>0,1,0,…` lines (multi-label, attributes)",
                           options: MultiLabelDatasetOptions.self) { o, ctx in
            try MultiLabelDataset(imageRoot: o.imageRoot, listPath: o.listPath, delimiter: o.delimiter,
                                  labelRatio: o.labelRatio, classCount: ctx.classCount)
        }
        r.dataset.register("ImageFolderDataset", aliases: ["ImageFolder"], summary: "one sub-folder per class",
                           options: ImageFolderDatasetOptions.self) { o, _ in
            try ImageFolderDataset(root: o.imageRoot)
        }
        r.dataset.register("CustomLabelDataset", summary: "unlabelled list; label from an op (label_key) or none",
                           options: CustomLabelDatasetOptions.self) { o, _ in
            try CustomLabelDataset(imageRoot: o.imageRoot, listPath: o.listPath, labelKey: o.labelKey, delimiter: o.delimiter)
        }
        r.registerMultiScale()
        for name in ["DistributedBatchSampler", "BatchSampler"] {
            r.sampler.register(name, summary: "batches in (shuffled) order; batch_size, shuffle, drop_last",
                               options: SamplerOptions.self) { o, _ in
                SamplerSettings(batchSize: o.batchSize, shuffle: o.shuffle, dropLast: o.dropLast)
            }
        }
        return r
    }

    /// Registers a configurable image op under its PaddleClas name.
    public mutating func registerOp<T: ConfigurableImageOp>(_ type: T.Type, summary: String? = nil) {
        transform.register(T.name, summary: summary ?? "image op", options: ImageOpConfig<T>.self) { o, _ in o.op }
    }
}

/// Adapts an op's `Options` to the config registry (known keys, decoding, validation).
struct ImageOpConfig<T: ConfigurableImageOp>: ConfigOptions {
    let op: any ImageOp
    static var knownKeys: [String] { T.Options.keys }
    static var ignoredKeys: [String: String] { T.Options.ignoredKeys }
    init(from decoder: Decoder) throws {
        do {
            op = try T.make(from: decoder)
        } catch let error as OptionsError {
            // Range checks of the op itself: point at its options in the config.
            guard let node = decoder.configNode else { throw error }
            throw ConfigError(error.description, at: node)
        }
    }
}

/// Keys every dataset shares: the transform lists, read by the config layer.
enum PipelineKey: String, CodingKey, CaseIterable {
    case transformOps = "transform_ops", batchTransformOps = "batch_transform_ops"
}

func readPipelineKeys(_ decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: PipelineKey.self)
    _ = try c.decodeIfPresent([ComponentSpec].self, forKey: .transformOps)
    _ = try c.decodeIfPresent([ComponentSpec].self, forKey: .batchTransformOps)
}

struct ImageNetDatasetOptions: ConfigOptions {
    var imageRoot: String, listPath: String, delimiter: String, relabel: Bool
    enum CodingKeys: String, CodingKey, CaseIterable {
        case imageRoot = "image_root", listPath = "cls_label_path", delimiter, relabel
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue) + PipelineKey.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageRoot = try c.decode(String.self, forKey: .imageRoot)
        listPath = try c.decode(String.self, forKey: .listPath)
        delimiter = try c.decode(.delimiter, default: " ")
        relabel = try c.decode(.relabel, default: false)
        try readPipelineKeys(decoder)
    }
}

struct MultiLabelDatasetOptions: ConfigOptions {
    var imageRoot: String, listPath: String, delimiter: String, labelRatio: Bool
    enum CodingKeys: String, CodingKey, CaseIterable {
        case imageRoot = "image_root", listPath = "cls_label_path", delimiter, labelRatio = "label_ratio"
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue) + PipelineKey.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageRoot = try c.decode(String.self, forKey: .imageRoot)
        listPath = try c.decode(String.self, forKey: .listPath)
        delimiter = try c.decode(.delimiter, default: "\t")
        labelRatio = try c.decode(.labelRatio, default: false)
        try readPipelineKeys(decoder)
    }
}

struct ImageFolderDatasetOptions: ConfigOptions {
    var imageRoot: String
    enum CodingKeys: String, CodingKey, CaseIterable { case imageRoot = "image_root" }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue) + PipelineKey.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageRoot = try c.decode(String.self, forKey: .imageRoot)
        try readPipelineKeys(decoder)
    }
}

struct CustomLabelDatasetOptions: ConfigOptions {
    var imageRoot: String, listPath: String, labelKey: String?, delimiter: String?
    enum CodingKeys: String, CodingKey, CaseIterable {
        case imageRoot = "image_root", listPath = "sample_list_path", labelKey = "label_key", delimiter
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue) + PipelineKey.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageRoot = try c.decode(String.self, forKey: .imageRoot)
        listPath = try c.decode(String.self, forKey: .listPath)
        labelKey = try c.decodeIfPresent(String.self, forKey: .labelKey)
        delimiter = try c.decodeIfPresent(String.self, forKey: .delimiter)
        try readPipelineKeys(decoder)
    }
}

/// `RandomApply`: `p` and the `transforms` list (ops as in `transform_ops`).
struct RandomApplyOptions: ConfigOptions {
    var p: Double, transforms: [ComponentSpec]
    enum CodingKeys: String, CodingKey, CaseIterable { case p, transforms }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        p = try c.decode(Double.self, forKey: .p)
        try decoder.configCheck((0...1).contains(p), CodingKeys.p, "must be in [0, 1], got \(p)")
        transforms = try c.decode([ComponentSpec].self, forKey: .transforms)
    }
}

struct SamplerOptions: ConfigOptions {
    var batchSize: Int, shuffle: Bool, dropLast: Bool
    enum CodingKeys: String, CodingKey, CaseIterable { case batchSize = "batch_size", shuffle, dropLast = "drop_last" }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        shuffle = try c.decode(.shuffle, default: false)
        dropLast = try c.decode(.dropLast, default: false)
    }
}
