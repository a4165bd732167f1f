import ClasTensor
import Foundation

/// Loads batches: sampler order, per-sample decode + transforms on background threads, bounded prefetch.
///
/// Every sample is transformed with its own generator `RandomState(seed: seed, stream: f(epoch, index))`, so a
/// batch is bit-identical whatever `numWorkers` is. Batches are delivered in sampler order. A failing image
/// stops the epoch with an error naming the file, or with `skipBadImages` is replaced by the next readable
/// index and reported through `onSkip` (called on the consuming thread). Worker errors are thrown from
/// `EpochIterator.next()`; dropping or cancelling the iterator stops the workers.
public final class DataLoader: @unchecked Sendable {
    /// Loader settings (PaddleClas `loader` and related keys).
    public struct Options: Sendable {
        /// Background threads; 0 loads on the calling thread (`num_workers`).
        public var numWorkers: Int
        /// Batches prepared ahead of the consumer (in flight or ready); nil means `max(2, 2 * numWorkers)`.
        public var prefetchBatches: Int?
        /// Seed of the per-sample augmentation streams.
        public var seed: UInt64
        /// Replace unreadable images instead of failing.
        public var skipBadImages: Bool
        /// With `skipBadImages`, how many following images are tried before failing anyway.
        public var maxReplacements: Int
        /// With a multi-scale sampler, the transform list for one batch image size (width, height): PaddleClas's
        /// `MultiScaleDataset` rebuilds its resizing ops with that size. Called once per distinct size.
        public var resizedTransforms: (@Sendable (_ width: Int, _ height: Int) throws -> [any ImageOp])?

        public init(numWorkers: Int = 0, prefetchBatches: Int? = nil, seed: UInt64 = 0, skipBadImages: Bool = false,
                    maxReplacements: Int = 100) {
            self.numWorkers = numWorkers
            self.prefetchBatches = prefetchBatches
            self.seed = seed
            self.skipBadImages = skipBadImages
            self.maxReplacements = maxReplacements
        }
    }

    public let dataset: any ImageDataset
    public let transforms: [any ImageOp]
    public let sampler: BatchSampler
    public let options: Options
    /// Receives every skipped bad image, on the thread that calls `next()`.
    public var onSkip: ((SkippedSample) -> Void)?
    private let assembler: BatchAssembler

    public init(dataset: any ImageDataset, transforms: [any ImageOp], sampler: BatchSampler,
                options: Options = Options(), onSkip: ((SkippedSample) -> Void)? = nil) throws {
        guard options.numWorkers >= 0 else {
            throw OptionsError(op: "loader", "num_workers must not be negative, got \(options.numWorkers)")
        }
        guard (options.prefetchBatches ?? 1) > 0 else { throw OptionsError(op: "loader", "prefetch must be positive") }
        guard sampler.datasetCount == dataset.count else {
            throw OptionsError(op: "loader", "the sampler covers \(sampler.datasetCount) samples but the dataset has \(dataset.count)")
        }
        self.dataset = dataset
        self.transforms = transforms
        self.sampler = sampler
        self.options = options
        self.onSkip = onSkip
        var sized: [BatchAssembler.Size: [any ImageOp]] = [:]
        if let plan = sampler.multiScale {
            guard let resizedTransforms = options.resizedTransforms else {
                throw OptionsError(op: "loader", "a multi-scale sampler needs the transforms for each image size")
            }
            for shape in plan.shapes {
                sized[.init(width: shape.width, height: shape.height)] = try resizedTransforms(shape.width, shape.height)
            }
        }
        assembler = BatchAssembler(dataset: dataset, transforms: transforms, sizedTransforms: sized, seed: options.seed,
                                   skipBadImages: options.skipBadImages, maxReplacements: max(1, options.maxReplacements))
    }

    /// Batches per epoch.
    public var batchCount: Int { sampler.batchCount }

    /// Starts loading `epoch` at batch `start` (to resume mid-epoch; samples keep their per-index random
    /// streams, so the batches are the same as in an uninterrupted epoch); iterate with `next()` until nil.
    public func epoch(_ epoch: Int, from start: Int = 0) -> EpochIterator {
        let all = sampler.batches(epoch: epoch)
        let sizes = all.indices.map { b in sampler.imageSize(ofBatch: b).map { BatchAssembler.Size(width: $0.width, height: $0.height) } }
        return EpochIterator(epoch: epoch, batches: Array(all.dropFirst(start)), sizes: Array(sizes.dropFirst(start)),
                      assembler: assembler,
                      numWorkers: options.numWorkers,
                      prefetch: options.prefetchBatches ?? max(2, 2 * options.numWorkers), onSkip: onSkip)
    }

    /// One sample of `epoch` after every transform (float HWC), loaded on the calling thread.
    public func sample(at index: Int, epoch: Int = 0) throws -> (image: FloatImage, label: Int, path: String) {
        try assembler.load(index: index, epoch: epoch)
    }
}

/// The batches of one epoch, in order. Not thread-safe: call `next()` from one thread.
public final class EpochIterator {
    public let epoch: Int
    /// Batches this epoch.
    public var batchCount: Int { batches.count }
    /// Bad images skipped so far this epoch.
    public private(set) var skippedCount = 0

    private let batches: [[Int]]
    /// The image size of each batch (multi-scale sampling), else nil.
    private let sizes: [BatchAssembler.Size?]
    private let assembler: BatchAssembler
    private let numWorkers: Int
    private let onSkip: ((SkippedSample) -> Void)?
    private let state: PrefetchState
    private var delivered = 0
    private var finished = false

    init(epoch: Int, batches: [[Int]], sizes: [BatchAssembler.Size?], assembler: BatchAssembler, numWorkers: Int,
         prefetch: Int, onSkip: ((SkippedSample) -> Void)?) {
        self.epoch = epoch
        self.batches = batches
        self.sizes = sizes
        self.assembler = assembler
        self.numWorkers = numWorkers
        self.onSkip = onSkip
        state = PrefetchState(batchCount: batches.count, prefetch: prefetch)
        if numWorkers > 0 && !batches.isEmpty { startWorkers() }
    }

    deinit { cancel() }

    /// The next batch, nil at the end of the epoch (or after `cancel()`); rethrows a worker's error, after which
    /// the epoch is over.
    public func next() throws -> Batch? {
        guard !finished, delivered < batches.count else { return nil }
        let result: Result<Batch, Error>
        if numWorkers == 0 {
            let b = delivered
            result = Result { try assembler.assemble(batches[b], epoch: epoch, size: sizes[b], isCancelled: { false }) }
        } else {
            guard let r = state.take(delivered) else {
                finished = true
                return nil
            }
            result = r
        }
        delivered += 1
        switch result {
        case .success(let batch):
            skippedCount += batch.skipped.count
            if let onSkip { batch.skipped.forEach(onSkip) }
            return batch
        case .failure(let error):
            finished = true
            cancel()
            throw error
        }
    }

    /// Stops the workers (they finish the sample in hand) and ends the epoch. Safe to call more than once.
    public func cancel() {
        finished = true
        state.cancelAndWait()
    }

    private func startWorkers() {
        let (state, assembler, batches, sizes, epoch) = (self.state, self.assembler, self.batches, self.sizes, self.epoch)
        for w in 0..<min(numWorkers, batches.count) {
            state.workerStarted()
            let thread = Thread {
                while let b = state.claim() {
                    let result = Result {
                        try assembler.assemble(batches[b], epoch: epoch, size: sizes[b], isCancelled: state.isCancelled)
                    }
                    state.post(b, result)
                }
                state.workerFinished()
            }
            thread.name = "ClasData.loader.\(w)"
            thread.start()
        }
    }
}

/// The state shared by an iterator and its workers, guarded by one condition variable.
final class PrefetchState: @unchecked Sendable {
    private let cond = NSCondition()
    private let batchCount: Int
    private let prefetch: Int
    private var nextToStart = 0
    private var nextToDeliver = 0
    private var results: [Int: Result<Batch, Error>] = [:]
    private var stopScheduling = false
    private var cancelled = false
    private var running = 0

    init(batchCount: Int, prefetch: Int) {
        self.batchCount = batchCount
        self.prefetch = prefetch
    }

    func workerStarted() { cond.withLock { running += 1 } }

    func workerFinished() {
        cond.withLock {
            running -= 1
            cond.broadcast()
        }
    }

    /// The next batch a worker should build, waiting while the prefetch window is full; nil when done.
    func claim() -> Int? {
        cond.lock()
        defer { cond.unlock() }
        while true {
            if cancelled || stopScheduling || nextToStart >= batchCount { return nil }
            if nextToStart < nextToDeliver + prefetch {
                nextToStart += 1
                return nextToStart - 1
            }
            cond.wait()
        }
    }

    /// A worker's result for batch `b` (a failure stops further scheduling).
    func post(_ b: Int, _ result: Result<Batch, Error>) {
        cond.withLock {
            if case .failure = result { stopScheduling = true }
            results[b] = result
            cond.broadcast()
        }
    }

    /// Waits for batch `b` (the consumer's next); nil if cancelled first.
    func take(_ b: Int) -> Result<Batch, Error>? {
        cond.lock()
        defer { cond.unlock() }
        while true {
            if let r = results.removeValue(forKey: b) {
                nextToDeliver = b + 1
                cond.broadcast()
                return r
            }
            if cancelled { return nil }
            cond.wait()
        }
    }

    func isCancelled() -> Bool { cond.withLock { cancelled } }

    /// Cancels and waits until every worker has exited.
    func cancelAndWait() {
        cond.lock()
        cancelled = true
        cond.broadcast()
        while running > 0 { cond.wait() }
        results.removeAll()
        cond.unlock()
    }
}
