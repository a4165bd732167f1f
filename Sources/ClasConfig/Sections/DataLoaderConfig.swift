/// The `DataLoader` section: `Train` and `Eval` splits.
public struct DataLoaderConfig: ConfigOptions, Sendable, Equatable {
    /// The training split, or nil.
    public var train: DataLoaderSplit?
    /// The evaluation split, or nil.
    public var eval: DataLoaderSplit?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case train = "Train"
        case eval = "Eval"
    }

    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let extra = decoder.configNode?.entry("UnLabelTrain") {
            throw ConfigError(
                "DataLoader.UnLabelTrain (semi-supervised training) is not supported", at: extra.keyLocation)
        }
        if let retrieval = decoder.configNode?["Eval"]?.entry("Gallery") {
            throw ConfigError(
                "DataLoader.Eval.Gallery/Query (retrieval evaluation) is not supported; use Eval.dataset",
                at: retrieval.keyLocation)
        }
        train = try c.decodeIfPresent(DataLoaderSplit.self, forKey: .train)
        eval = try c.decodeIfPresent(DataLoaderSplit.self, forKey: .eval)
    }
}

/// One split: `{dataset, sampler, loader}`; or `{dataset, batch_size, shuffle, drop_last, loader}` without a sampler.
public struct DataLoaderSplit: ConfigOptions, Sendable, Equatable {
    /// The dataset component (`ImageNetDataset` with `image_root`, `cls_label_path`, `transform_ops`, …).
    public var dataset: ComponentSpec
    /// `dataset.transform_ops` read as components (empty when absent); they also stay in ``dataset``'s args.
    public var transformOps: [ComponentSpec]
    /// `dataset.batch_transform_ops` read as components (empty when absent); they also stay in ``dataset``'s args.
    public var batchTransformOps: [ComponentSpec]
    /// The sampler component (`DistributedBatchSampler`, …), or nil when the bare keys are used.
    public var sampler: ComponentSpec?
    /// Samples per batch (≥ 1), from the sampler or the bare key. Required.
    public var batchSize: Int
    /// Shuffle every epoch. Default false.
    public var shuffle: Bool
    /// Drop the last incomplete batch. Default false.
    public var dropLast: Bool
    /// Loader options.
    public var loader: LoaderOptions

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataset, sampler, loader
        case batchSize = "batch_size"
        case shuffle
        case dropLast = "drop_last"
    }

    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    /// The keys a sampler shares with the bare form.
    private struct SamplerBasics: Decodable {
        var batchSize: Int
        var shuffle: Bool
        var dropLast: Bool

        enum CodingKeys: String, CodingKey {
            case batchSize = "batch_size"
            case shuffle
            case dropLast = "drop_last"
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            batchSize = try c.decode(Int.self, forKey: .batchSize)
            shuffle = try c.decode(.shuffle, default: false)
            dropLast = try c.decode(.dropLast, default: false)
            try decoder.configCheck(batchSize >= 1, CodingKeys.batchSize, "must be at least 1, got \(batchSize)")
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dataset = try c.decode(ComponentSpec.self, forKey: .dataset)
        transformOps = try dataset.componentList("transform_ops") ?? []
        batchTransformOps = try dataset.componentList("batch_transform_ops") ?? []
        loader = try c.decode(.loader, default: LoaderOptions())
        sampler = try c.decodeIfPresent(ComponentSpec.self, forKey: .sampler)
        if let sampler {
            let path = decoder.configPath
            for key in [CodingKeys.batchSize, .shuffle, .dropLast] {
                guard let entry = decoder.configNode?.entry(key.stringValue) else { continue }
                throw ConfigError(
                    "\(path).\(key.stringValue) has no effect when a sampler is given; "
                        + "set \(path).sampler.\(key.stringValue)", at: entry.keyLocation)
            }
            // A separate decode: the sampler's other options are checked when the engine builds it.
            var only = sampler.args.onlyKeys(["batch_size", "shuffle", "drop_last"])
            if only["batch_size"] == nil, let first = sampler.args.entry("first_bs") {
                // MultiScaleSampler: `first_bs`, the batch size of its first scale.
                only = .mapping((only.entries ?? []) + [ConfigNode.Entry(key: "batch_size", value: first.value)],
                                at: only.location)
            }
            let basics = try ConfigDecoder().decode(
                SamplerBasics.self, from: only, path: sampler.path, label: sampler.name)
            batchSize = basics.batchSize
            shuffle = basics.shuffle
            dropLast = basics.dropLast
        } else {
            guard c.contains(.batchSize) else {
                throw ConfigError(
                    "missing required key 'sampler' in \(decoder.configPath) "
                        + "(or the bare keys batch_size, shuffle, drop_last)",
                    at: decoder.configNode?.location ?? .unknown)
            }
            batchSize = try c.decode(Int.self, forKey: .batchSize)
            shuffle = try c.decode(.shuffle, default: false)
            dropLast = try c.decode(.dropLast, default: false)
            try decoder.configCheck(batchSize >= 1, CodingKeys.batchSize, "must be at least 1, got \(batchSize)")
        }
    }
}

/// `loader: {num_workers, use_shared_memory}`.
public struct LoaderOptions: ConfigOptions, Sendable, Equatable {
    /// Decoding threads (≥ 0), or nil for the engine's choice.
    public var numWorkers: Int?
    /// SwiftClas workers are threads and share memory anyway; `False` is ignored with a notice. Default true.
    public var useSharedMemory: Bool

    enum CodingKeys: String, CodingKey, CaseIterable {
        case numWorkers = "num_workers"
        case useSharedMemory = "use_shared_memory"
    }

    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    /// Defaults: engine's thread count, shared memory on.
    public init(numWorkers: Int? = nil, useSharedMemory: Bool = true) {
        self.numWorkers = numWorkers
        self.useSharedMemory = useSharedMemory
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        numWorkers = try c.decodeIfPresent(Int.self, forKey: .numWorkers)
        useSharedMemory = try c.decode(.useSharedMemory, default: true)
        if !useSharedMemory {
            decoder.configNotice(
                "\(decoder.configPath).use_shared_memory: False is ignored: loader workers are threads, which share "
                    + "memory", about: CodingKeys.useSharedMemory)
        }
        if let numWorkers {
            try decoder.configCheck(numWorkers >= 0, CodingKeys.numWorkers, "must not be negative, got \(numWorkers)")
        }
    }
}

extension ConfigNode {
    /// A copy of this map keeping only `keys`.
    func onlyKeys(_ keys: Set<String>) -> ConfigNode {
        guard let entries else { return self }
        return .mapping(entries.filter { keys.contains($0.key) }, at: location)
    }
}
