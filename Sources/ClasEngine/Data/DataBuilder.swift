import ClasConfig
import ClasData
import ClasTensor
import Foundation

/// Builds the datasets and loaders of `DataLoader.Train` and `DataLoader.Eval`.
struct DataBuilder {
    enum Split: String { case train = "Train", eval = "Eval" }

    let config: RunConfig
    let registries: DataRegistries
    let decoder: ConfigDecoder
    let seed: UInt64
    /// This process and the number of processes: each trains on its shard of every batch.
    var rank = 0, worldSize = 1
    private var datasets: [Split: any ImageDataset] = [:]
    /// The training data is a `CustomLabelDataset` without `label_key` (every label -1).
    var trainDataUnlabelled: Bool { (datasets[.train] as? CustomLabelDataset).map { $0.labelKey == nil } ?? false }

    /// Builds the datasets of both splits (file lists are read and checked here).
    init(config: RunConfig, registries: DataRegistries, decoder: ConfigDecoder, seed: UInt64, splits: Set<Split>) throws {
        self.config = config
        self.registries = registries
        self.decoder = decoder
        self.seed = seed
        let archClassNum = config.arch.args["class_num"].flatMap { $0.scalar.flatMap { Scalars.int($0.text) } }
        // Training data first: without Arch.class_num, its class count bounds the evaluation labels.
        for split in [Split.train, .eval] where splits.contains(split) {
            guard let spec = self.split(split) else { continue }
            for op in spec.transformOps { try registries.transform.check(op, decoder: decoder) }
            for op in spec.batchTransformOps { try registries.batchTransform.check(op, decoder: decoder) }
            let classCount = archClassNum ?? (split == .eval ? datasets[.train]?.classCount : nil)
            datasets[split] = try registries.dataset.build(spec.dataset, context: DatasetContext(classCount: classCount),
                                                           decoder: decoder)
            if datasets[split]?.isMultiLabel == true, let op = spec.batchTransformOps.first {
                throw ConfigError("DataLoader.\(split.rawValue).batch_transform_ops: \(op.name) mixes single labels; "
                                  + "multi-label data (MultiLabelDataset) takes no batch transforms", at: op.nameLocation)
            }
        }
        if let a = datasets[.train]?.classNames, let b = datasets[.eval]?.classNames, a != b {
            throw EngineError("DataLoader.Train and DataLoader.Eval have different classes: \(a.count) (\(a.prefix(4).joined(separator: ", "))…) "
                              + "vs \(b.count) (\(b.prefix(4).joined(separator: ", "))…)")
        }
        if let train = datasets[.train], let eval = datasets[.eval], train.isMultiLabel != eval.isMultiLabel {
            throw EngineError("DataLoader.Train is \(train.isMultiLabel ? "" : "not ")multi-label but DataLoader.Eval is"
                              + "\(eval.isMultiLabel ? "" : " not"); use MultiLabelDataset for both or neither")
        }
        if let train = datasets[.train], let eval = datasets[.eval], eval.isMultiLabel, eval.classCount != train.classCount {
            throw EngineError("DataLoader.Eval has \(eval.classCount) targets per image but DataLoader.Train \(train.classCount)")
        }
        if let train = datasets[.train], let eval = datasets[.eval], eval.classCount > train.classCount {
            throw EngineError("DataLoader.Eval has \(eval.classCount) classes but DataLoader.Train only \(train.classCount); "
                              + "the model would have no output for the extra ones (set Arch.class_num if intended)")
        }
    }

    private func split(_ s: Split) -> DataLoaderSplit? { s == .train ? config.dataLoader?.train : config.dataLoader?.eval }

    /// Classes of the training data (else the evaluation data).
    var classCount: Int? { (datasets[.train] ?? datasets[.eval])?.classCount }
    var classNames: [String]? { (datasets[.train] ?? datasets[.eval])?.classNames }
    /// Whether the data is multi-label, nil without data; both splits must agree.
    var multiLabelTraits: MultiLabelTraits? {
        guard let first = datasets[.train] ?? datasets[.eval] else { return nil }
        return MultiLabelTraits(isMultiLabel: first.isMultiLabel, hasLabelRatio: first.labelRatio != nil)
    }

    /// Whether the processes can split the evaluation data between them (see ``ShardedEvaluation``).
    func evalCanBeSharded(metrics: [Metric]) -> Bool {
        guard let eval = datasets[.eval] else { return false }
        return ShardedEvaluation.canShard(count: eval.count, worldSize: worldSize, metrics: metrics)
    }

    /// The loader of a split, or nil when the config has none. Training batches follow PaddlePaddle's
    /// `DistributedBatchSampler` over the processes; with `sharded`, evaluation reads this process's shard only.
    func stream(_ s: Split, classCount: Int, sharded: Bool = false, log: @escaping (String) -> Void) throws -> BatchStream? {
        guard let spec = split(s), var dataset = datasets[s] else { return nil }
        if sharded { dataset = DatasetShard(dataset, rank: rank, worldSize: worldSize) }
        let (rank, worldSize) = s == .train ? (self.rank, self.worldSize) : (0, 1)
        let ops = try spec.transformOps.map { try registries.transform.build($0, context: (), decoder: decoder) }
        let batchOps = try spec.batchTransformOps.map { try registries.batchTransform.build($0, context: (), decoder: decoder) }
        var settings = SamplerSettings(batchSize: spec.batchSize, shuffle: spec.shuffle, dropLast: spec.dropLast)
        if let sampler = spec.sampler { settings = try registries.sampler.build(sampler, context: (), decoder: decoder) }
        var plan: MultiScalePlan?
        var sized: [String: [any ImageOp]] = [:]
        if let m = settings.multiScale {
            guard spec.transformOps.contains(where: { DataRegistries.multiScaleResizeOps.contains($0.name) }) else {
                throw EngineError("DataLoader.\(s.rawValue): MultiScaleSampler needs RandCropImage, ResizeImage or CropImage "
                                  + "in transform_ops (their size becomes each batch's)")
            }
            plan = try MultiScalePlan(scales: m.scales, firstBatchSize: m.firstBatchSize, dividedFactor: m.dividedFactor,
                                      isTraining: m.isTraining, samplesPerRank: (dataset.count + worldSize - 1) / worldSize,
                                      seed: seed)
            for shape in plan?.shapes ?? [] {
                sized["\(shape.width)x\(shape.height)"] = try registries.resizedTransforms(spec.transformOps, width: shape.width,
                                                                                          height: shape.height)
            }
        }
        let sampler = try BatchSampler(datasetCount: dataset.count, batchSize: settings.batchSize, shuffle: settings.shuffle,
                                   dropLast: settings.dropLast, seed: seed, rank: rank, worldSize: worldSize, multiScale: plan)
        // Two background decoders by default, fewer when the compute threads are fewer (MPI ranks, CLAS_NUM_THREADS=1).
        let workers = spec.loader.numWorkers ?? min(2, ComputeBackend.threads)
        var options = DataLoader.Options(numWorkers: workers, seed: seed &+ (s == .train ? 0 : 1),
                                         skipBadImages: config.global.skipBadImages)
        let sizedOps = sized
        options.resizedTransforms = { w, h in sizedOps["\(w)x\(h)"] ?? [] }
        // Each bad file is logged once per run (a replacement chain meets the same file again); `next()` calls this.
        let logged = SkippedFiles()
        let loader = try DataLoader(dataset: dataset, transforms: ops, sampler: sampler, options: options) { skipped in
            if logged.paths.insert(skipped.path).inserted { log(skipped.description) }
        }
        return LoaderStream(loader: loader, batchOps: batchOps, classCount: classCount, seed: seed)
    }
}

/// The bad files already logged by one loader.
private final class SkippedFiles {
    var paths = Set<String>()
}

/// Adapts a `DataLoader` to the engine's `BatchStream`, applying batch transforms.
final class LoaderStream: BatchStream {
    let loader: DataLoader
    let batchOps: [BatchTransform]
    let classCount: Int
    let seed: UInt64

    init(loader: DataLoader, batchOps: [BatchTransform], classCount: Int, seed: UInt64) {
        self.loader = loader
        self.batchOps = batchOps
        self.classCount = classCount
        self.seed = seed
    }

    var batchesPerEpoch: Int { loader.batchCount }

    /// The batch's labels and, for multi-label data, its [N, classes] target vectors and the label ratio.
    func targets(_ b: Batch) -> Targets {
        let dataset = loader.dataset
        guard dataset.isMultiLabel else { return Targets(labels: b.labels) }
        let multiHot = Tensor(uninitializedShape: [b.count, classCount])
        for (row, index) in b.indices.enumerated() {
            let v = dataset.targetVector(at: index) ?? []
            precondition(v.count == classCount, "sample \(index) has \(v.count) targets for \(classCount) classes")
            for k in 0..<classCount { multiHot.data[row * classCount + k] = v[k] }
        }
        return Targets(labels: b.labels, multiHot: multiHot, labelRatio: dataset.labelRatio)
    }
    var sampleCount: Int { loader.dataset.count }

    func start(epoch: Int, from start: Int) throws -> BatchCursor {
        let it = loader.epoch(epoch, from: start)
        return Cursor(iterator: it, stream: self, epoch: epoch, index: start)
    }

    final class Cursor: BatchCursor {
        let iterator: EpochIterator
        let stream: LoaderStream
        let epoch: Int
        var index: Int
        /// Distinct bad samples met this epoch.
        private var skipped = Set<Int>()

        init(iterator: EpochIterator, stream: LoaderStream, epoch: Int, index: Int) {
            self.iterator = iterator
            self.stream = stream
            self.epoch = epoch
            self.index = index
        }

        func next() throws -> EngineBatch? {
            guard let b = try iterator.next() else { return nil }
            skipped.formUnion(b.skipped.map(\.index))
            var batch = EngineBatch(images: b.images, targets: stream.targets(b), paths: b.paths)
            if !stream.batchOps.isEmpty {
                var rng = RandomState(seed: stream.seed, stream: 0xBA7C_0000 &+ UInt64(epoch) &* 1_000_003 &+ UInt64(index))
                for op in stream.batchOps { op.apply(&batch, classCount: stream.classCount, rng: &rng) }
            }
            index += 1
            return batch
        }

        func cancel() { iterator.cancel() }

        var skippedCount: Int { skipped.count }
    }
}
