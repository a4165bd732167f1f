import ClasTensor

/// Splits dataset indices into batches, with Paddle's `DistributedBatchSampler` semantics.
///
/// Each epoch: indices 0 ..< N are padded (cyclically from the start) to a multiple of `worldSize`, shuffled with
/// `RandomState(seed: seed, stream: epoch)` when `shuffle`, and dealt to ranks in chunks of `batchSize` (rank r
/// takes chunks r, r + worldSize, ...; the short tail is split evenly), so every rank sees the same number of
/// samples. Batches of `batchSize`; the last, shorter one is dropped with `dropLast`. With
/// `(rank, worldSize) = (0, 1)` this is a plain (shuffled) batch sampler.
public struct BatchSampler: Sendable, Equatable {
    public let datasetCount: Int
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let seed: UInt64
    public let rank: Int
    public let worldSize: Int
    /// PaddleClas's `MultiScaleSampler`: per-batch image sizes and batch sizes (then `batchSize` is the first
    /// scale's and `dropLast` is unused).
    public let multiScale: MultiScalePlan?

    public init(datasetCount: Int, batchSize: Int, shuffle: Bool = false, dropLast: Bool = false, seed: UInt64 = 0,
                rank: Int = 0, worldSize: Int = 1, multiScale: MultiScalePlan? = nil) throws {
        guard datasetCount >= 0 else { throw OptionsError(op: "sampler", "dataset size must not be negative") }
        guard batchSize > 0 else { throw OptionsError(op: "sampler", "batch_size must be positive, got \(batchSize)") }
        guard worldSize > 0, (0..<worldSize).contains(rank) else {
            throw OptionsError(op: "sampler", "rank \(rank) is not in 0..<\(worldSize) (world size)")
        }
        self.datasetCount = datasetCount
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.rank = rank
        self.worldSize = worldSize
        self.multiScale = multiScale
    }

    /// Samples this rank sees per epoch (`ceil(N / worldSize)`).
    public var samplesPerRank: Int { (datasetCount + worldSize - 1) / worldSize }

    /// Batches per epoch on this rank.
    public var batchCount: Int {
        if let multiScale { return datasetCount == 0 ? 0 : multiScale.batches.count }
        return dropLast ? samplesPerRank / batchSize : (samplesPerRank + batchSize - 1) / batchSize
    }

    /// This rank's indices for `epoch`, in order (before batching).
    public func indices(epoch: Int) -> [Int] {
        guard datasetCount > 0 else { return [] }
        let total = samplesPerRank * worldSize
        var all = Array(0..<datasetCount)
        var k = 0
        while all.count < total {
            all.append(k % datasetCount)
            k += 1
        }
        if shuffle {
            var rng = RandomState(seed: seed, stream: UInt64(truncatingIfNeeded: epoch))
            var i = all.count - 1
            while i > 0 {
                let j = rng.int(below: i + 1)
                all.swapAt(i, j)
                i -= 1
            }
        }
        guard worldSize > 1 else { return all }
        var mine: [Int] = []
        mine.reserveCapacity(samplesPerRank)
        let tail = total % (batchSize * worldSize)
        let tailPerRank = tail / worldSize
        var start = rank * batchSize
        while start < total - tail {
            mine += all[start..<start + batchSize]
            start += batchSize * worldSize
        }
        let tailStart = total - tail + rank * tailPerRank
        mine += all[tailStart..<tailStart + tailPerRank]
        return mine
    }

    /// The image size (width, height) of batch `b` of an epoch with `multiScale`, else nil.
    public func imageSize(ofBatch b: Int) -> (width: Int, height: Int)? {
        multiScale.map { ($0.batches[b].width, $0.batches[b].height) }
    }

    /// This rank's batches for `epoch`.
    public func batches(epoch: Int) -> [[Int]] {
        if let multiScale {
            // PaddleClas's MultiScaleSampler: shuffle all indices (no padding), take every worldSize-th from rank.
            var all = Array(0..<datasetCount)
            if shuffle {
                var rng = RandomState(seed: seed, stream: UInt64(truncatingIfNeeded: epoch))
                rng.shuffle(&all)
            }
            return multiScale.split(Array(stride(from: rank, to: all.count, by: worldSize).map { all[$0] }))
        }
        let idx = indices(epoch: epoch)
        var out: [[Int]] = []
        out.reserveCapacity(batchCount)
        var start = 0
        while start < idx.count {
            let end = min(start + batchSize, idx.count)
            if end - start < batchSize && dropLast { break }
            out.append(Array(idx[start..<end]))
            start = end
        }
        return out
    }
}
