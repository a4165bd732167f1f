/// Decodable options for the `DataLoader.<Mode>` config sections, with PaddleClas keys and defaults, so the config
/// layer can decode and key-check them as it does for transform ops. Keys the config layer handles itself
/// (`name`, `transform_ops`, `batch_transform_ops`) are not listed.
extension ImageNetDataset {
    /// `dataset: {name: ImageNetDataset, image_root, cls_label_path, delimiter, relabel}`.
    public struct Options: Decodable, Sendable {
        public var imageRoot: String
        public var clsLabelPath: String
        public var delimiter: String
        public var relabel: Bool

        enum CodingKeys: String, CodingKey, CaseIterable {
            case imageRoot = "image_root", clsLabelPath = "cls_label_path", delimiter, relabel
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            imageRoot = try c.decode(String.self, forKey: .imageRoot)
            clsLabelPath = try c.decode(String.self, forKey: .clsLabelPath)
            delimiter = try c.decodeIfPresent(String.self, forKey: .delimiter) ?? " "
            relabel = try c.decodeIfPresent(Bool.self, forKey: .relabel) ?? false
        }
    }

    /// Reads the dataset described by `options`; `classCount` is `Arch.class_num` when known.
    public init(_ options: Options, classCount: Int? = nil, classNames: [String]? = nil) throws {
        try self.init(imageRoot: options.imageRoot, listPath: options.clsLabelPath, delimiter: options.delimiter,
                      relabel: options.relabel, classCount: classCount, classNames: classNames)
    }
}

extension ImageFolderDataset {
    /// `dataset: {name: ImageFolderDataset, image_root}` (a SwiftClas dataset name).
    public struct Options: Decodable, Sendable {
        public var imageRoot: String

        enum CodingKeys: String, CodingKey, CaseIterable { case imageRoot = "image_root" }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }
    }

    public init(_ options: Options) throws { try self.init(root: options.imageRoot) }
}

extension BatchSampler {
    /// `sampler: {name: DistributedBatchSampler | BatchSampler, batch_size, shuffle, drop_last}`.
    public struct Options: Decodable, Sendable {
        public var batchSize: Int
        public var shuffle: Bool
        public var dropLast: Bool

        enum CodingKeys: String, CodingKey, CaseIterable {
            case batchSize = "batch_size", shuffle, dropLast = "drop_last"
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            batchSize = try c.decode(Int.self, forKey: .batchSize)
            shuffle = try c.decodeIfPresent(Bool.self, forKey: .shuffle) ?? false
            dropLast = try c.decodeIfPresent(Bool.self, forKey: .dropLast) ?? false
        }
    }

    /// The sampler for `datasetCount` samples; `seed` is `Global.seed`, (rank, worldSize) the process group.
    public init(_ options: Options, datasetCount: Int, seed: UInt64, rank: Int = 0, worldSize: Int = 1) throws {
        try self.init(datasetCount: datasetCount, batchSize: options.batchSize, shuffle: options.shuffle,
                      dropLast: options.dropLast, seed: seed, rank: rank, worldSize: worldSize)
    }
}

extension DataLoader {
    /// `loader: {num_workers, use_shared_memory, skip_bad_images, prefetch_batches}`; `use_shared_memory` is accepted
    /// and ignored (workers are threads), the last two are SwiftClas extensions.
    public struct ConfigOptions: Decodable, Sendable {
        public var numWorkers: Int
        public var useSharedMemory: Bool
        public var skipBadImages: Bool
        public var prefetchBatches: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case numWorkers = "num_workers", useSharedMemory = "use_shared_memory", skipBadImages = "skip_bad_images"
            case prefetchBatches = "prefetch_batches"
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            numWorkers = try c.decodeIfPresent(Int.self, forKey: .numWorkers) ?? 0
            useSharedMemory = try c.decodeIfPresent(Bool.self, forKey: .useSharedMemory) ?? true
            skipBadImages = try c.decodeIfPresent(Bool.self, forKey: .skipBadImages) ?? false
            prefetchBatches = try c.decodeIfPresent(Int.self, forKey: .prefetchBatches)
        }

        /// Loader options with `seed` (`Global.seed`) for the augmentation streams.
        public func loaderOptions(seed: UInt64) -> Options {
            Options(numWorkers: numWorkers, prefetchBatches: prefetchBatches, seed: seed, skipBadImages: skipBadImages)
        }
    }
}
