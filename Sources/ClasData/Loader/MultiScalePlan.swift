import ClasTensor

/// PaddleClas's `MultiScaleSampler` (MobileViT's variable-resolution training): each batch has its own image size
/// and a batch size that keeps `width × height × batch` about constant.
///
/// Construction, as PaddleClas: with `isTraining`, every scale's sides are rounded down to a multiple of
/// `dividedFactor` and its batch size is `max(1, int(w0·h0·firstBatchSize / (w·h)))` (w0, h0 the first scale's
/// sides as given); otherwise the only shape is the first scale at `firstBatchSize`. The sequence of batch shapes is
/// drawn once (a uniform choice per batch until the rank's `ceil(N / worldSize)` samples are covered) — from `seed`
/// here, where PaddleClas uses Python's unseeded global generator — and kept for every epoch. Each epoch the indices
/// are shuffled (with `shuffle`), rank r takes every `worldSize`-th from r, and the batches take consecutive runs
/// of them, the last one topped up from the rank's first indices.
public struct MultiScalePlan: Sendable, Equatable {
    /// One batch shape: image width and height, and batch size.
    public struct Shape: Sendable, Equatable, Hashable {
        public let width: Int, height: Int, batchSize: Int
        public init(width: Int, height: Int, batchSize: Int) {
            (self.width, self.height, self.batchSize) = (width, height, batchSize)
        }
    }

    /// The distinct shapes, in scale order.
    public let shapes: [Shape]
    /// The shape of each batch of an epoch, in order.
    public let batches: [Shape]

    /// - Throws: `OptionsError` for an empty `scales`, non-positive sizes or a scale that rounds to 0.
    public init(scales: [(width: Int, height: Int)], firstBatchSize: Int, dividedFactor: Int = 32, isTraining: Bool = true,
                samplesPerRank: Int, seed: UInt64) throws {
        guard let first = scales.first else { throw OptionsError(op: "MultiScaleSampler", "scales must not be empty") }
        guard firstBatchSize > 0, dividedFactor > 0, scales.allSatisfy({ $0.width > 0 && $0.height > 0 }) else {
            throw OptionsError(op: "MultiScaleSampler", "first_bs, divided_factor and the scales must be positive")
        }
        var shapes: [Shape] = []
        if isTraining {
            let base = Double(first.width * first.height * firstBatchSize)
            for s in scales {
                let (w, h) = (s.width / dividedFactor * dividedFactor, s.height / dividedFactor * dividedFactor)
                guard w > 0, h > 0 else {
                    throw OptionsError(op: "MultiScaleSampler", "scale \(s.width)x\(s.height) rounds to 0 at divided_factor \(dividedFactor)")
                }
                shapes.append(Shape(width: w, height: h, batchSize: max(1, Int(base / Double(w * h)))))
            }
        } else {
            shapes = [Shape(width: first.width, height: first.height, batchSize: firstBatchSize)]
        }
        var rng = RandomState(seed: seed, stream: 0x5CA1_E000)
        var batches: [Shape] = [], covered = 0
        while covered < samplesPerRank {
            let shape = shapes[rng.int(below: shapes.count)]
            batches.append(shape)
            covered += shape.batchSize
        }
        self.shapes = shapes
        self.batches = batches
    }

    /// Splits this rank's `indices` of an epoch into the planned batches.
    func split(_ indices: [Int]) -> [[Int]] {
        guard !indices.isEmpty else { return [] }
        var out: [[Int]] = [], start = 0
        for shape in batches {
            let end = min(start + shape.batchSize, indices.count)
            var batch = start < end ? Array(indices[start..<end]) : []
            var k = 0
            while batch.count < shape.batchSize {
                batch.append(indices[k % indices.count])
                k += 1
            }
            out.append(batch)
            start += shape.batchSize
        }
        return out
    }
}
