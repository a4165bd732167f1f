import ClasConfig
import ClasData
import ClasTensor

/// `MixupOperator`: PaddleClas's mixup (`ppcls/data/preprocess/batch_ops/batch_operators.py`), from "mixup:
/// Beyond Empirical Risk Minimization", https://arxiv.org/abs/1710.09412.
///
/// Draws `λ ~ Beta(alpha, alpha)` and a random permutation `p` of the batch, then
/// `x ← λ·x + (1 − λ)·x[p]` and soft targets `y ← λ·y + (1 − λ)·y[p]` (one-hot labels, or the soft targets of an
/// earlier batch op). `labels` keep the dominant image's label (`λ ≥ ½`: its own) for the training top-1.
public struct MixupOperator: BatchTransform {
    /// The Beta parameter (PaddleClas default 1.0).
    public let alpha: Double

    public init(alpha: Double = 1.0) {
        precondition(alpha > 0, "MixupOperator alpha must be > 0")
        self.alpha = alpha
    }

    public func apply(_ batch: inout EngineBatch, classCount: Int, rng: inout RandomState) {
        let n = batch.targets.labels.count
        guard n > 0, batch.images.shape.first == n else { return }
        let perm = BatchMixing.permutation(n, &rng)
        let lam = rng.beta(alpha, alpha)
        let images = batch.images, per = images.count / n
        let out = Tensor(uninitializedShape: images.shape)
        let a = Float(lam), b = Float(1 - lam)
        for i in 0..<n {
            let x = images.data + i * per, y = images.data + perm[i] * per, o = out.data + i * per
            for k in 0..<per { o[k] = a * x[k] + b * y[k] }
        }
        batch.images = out
        BatchMixing.mixTargets(&batch, perm: perm, lam: lam, classCount: classCount)
    }
}

/// `CutmixOperator`: PaddleClas's CutMix, from "CutMix: Regularization Strategy to Train Strong Classifiers with
/// Localizable Features", https://arxiv.org/abs/1905.04899.
///
/// Draws `λ ~ Beta(alpha, alpha)`, a permutation `p` and a box of `int(H·√(1−λ)) × int(W·√(1−λ))` centred at a
/// uniform pixel (clipped to the image); the box of every image is replaced by the same box of image `p[i]`, and
/// the targets are mixed with the exact kept fraction `λ = 1 − box area / (H·W)`.
public struct CutmixOperator: BatchTransform {
    /// The Beta parameter (PaddleClas default 0.2).
    public let alpha: Double

    public init(alpha: Double = 0.2) {
        precondition(alpha > 0, "CutmixOperator alpha must be > 0")
        self.alpha = alpha
    }

    /// The box `(y1, y2, x1, x2)` (half-open) for a `height × width` image and `lam`, drawing the centre.
    static func box(height: Int, width: Int, lam: Double, rng: inout RandomState) -> (Int, Int, Int, Int) {
        let cut = (1 - lam).squareRoot()
        let cutH = Int(Double(height) * cut), cutW = Int(Double(width) * cut)
        let cy = rng.int(below: height), cx = rng.int(below: width)
        func clip(_ v: Int, _ hi: Int) -> Int { min(max(v, 0), hi) }
        return (clip(cy - cutH / 2, height), clip(cy + cutH / 2, height), clip(cx - cutW / 2, width), clip(cx + cutW / 2, width))
    }

    public func apply(_ batch: inout EngineBatch, classCount: Int, rng: inout RandomState) {
        let n = batch.targets.labels.count
        let shape = batch.images.shape
        guard n > 0, shape.count == 4, shape[0] == n, shape[1] > 0, shape[2] > 0 else { return }
        let (h, w, c) = (shape[1], shape[2], shape[3])
        let perm = BatchMixing.permutation(n, &rng)
        var lam = rng.beta(alpha, alpha)
        let (y1, y2, x1, x2) = Self.box(height: h, width: w, lam: lam, rng: &rng)
        let images = batch.images, out = images.detachedCopy()
        let per = h * w * c
        if y2 > y1 && x2 > x1 {
            for i in 0..<n {
                let src = images.data + perm[i] * per, dst = out.data + i * per
                for y in y1..<y2 {
                    let offset = (y * w + x1) * c
                    (dst + offset).update(from: src + offset, count: (x2 - x1) * c)
                }
            }
        }
        batch.images = out
        lam = 1 - Double((y2 - y1) * (x2 - x1)) / Double(h * w)
        BatchMixing.mixTargets(&batch, perm: perm, lam: lam, classCount: classCount)
    }
}

/// `OpSampler`: picks one batch op per batch (`random.choices` by `prob`); the probability left over (1 − Σ prob)
/// leaves the batch unchanged.
public struct OpSampler: BatchTransform {
    /// The candidate ops with their probabilities.
    public let ops: [(op: BatchTransform, prob: Double)]

    public init(_ ops: [(op: BatchTransform, prob: Double)]) {
        self.ops = ops
    }

    public func apply(_ batch: inout EngineBatch, classCount: Int, rng: inout RandomState) {
        let total = ops.reduce(0) { $0 + $1.prob }
        let pick = rng.index(weights: ops.map(\.prob) + [max(0, 1 - total)])
        guard pick < ops.count else { return }
        ops[pick].op.apply(&batch, classCount: classCount, rng: &rng)
    }
}

/// Shared pieces of the mixing batch ops.
enum BatchMixing {
    /// A uniform random permutation of 0..<n (`np.random.permutation`).
    static func permutation(_ n: Int, _ rng: inout RandomState) -> [Int] {
        var p = Array(0..<n)
        rng.shuffle(&p)
        return p
    }

    /// `targets.soft ← lam·y + (1 − lam)·y[perm]` with `y` the current soft targets or the one-hot labels
    /// (labels outside 0..<classCount give zero rows); labels become those of the dominant image.
    static func mixTargets(_ batch: inout EngineBatch, perm: [Int], lam: Double, classCount: Int) {
        let n = perm.count, k = classCount
        let labels = batch.targets.labels
        let base: Tensor
        if let soft = batch.targets.soft, soft.shape == [n, k] {
            base = soft
        } else {
            base = Tensor(shape: [n, k], repeating: 0)
            for (i, label) in labels.enumerated() where label >= 0 && label < k { base.data[i * k + label] = 1 }
        }
        let out = Tensor(uninitializedShape: [n, k])
        let a = Float(lam), b = Float(1 - lam)
        for i in 0..<n {
            let x = base.data + i * k, y = base.data + perm[i] * k, o = out.data + i * k
            for j in 0..<k { o[j] = a * x[j] + b * y[j] }
        }
        batch.targets.soft = out
        batch.targets.labels = (0..<n).map { lam >= 0.5 ? labels[$0] : labels[perm[$0]] }
    }
}

// MARK: - Registration

extension DataRegistries {
    /// Registers `MixupOperator`, `CutmixOperator` and `OpSampler` (PaddleClas `batch_transform_ops`).
    mutating func registerBatchMixing() {
        batchTransform.register("MixupOperator", summary: "mixup with λ ~ Beta(alpha, alpha); alpha (1.0)",
                                options: MixupOptions.self) { o, _ in MixupOperator(alpha: o.alpha) }
        batchTransform.register("CutmixOperator", summary: "CutMix box with λ ~ Beta(alpha, alpha); alpha (0.2)",
                                options: CutmixOptions.self) { o, _ in CutmixOperator(alpha: o.alpha) }
        batchTransform.register("OpSampler", summary: "one of MixupOperator/CutmixOperator per batch by prob",
                                options: OpSamplerOptions.self) { o, _ in
            OpSampler(o.entries.map { entry in
                let op: BatchTransform = entry.name == "CutmixOperator"
                    ? CutmixOperator(alpha: entry.alpha ?? 0.2) : MixupOperator(alpha: entry.alpha ?? 1.0)
                return (op, entry.prob)
            })
        }
    }
}

struct MixupOptions: ConfigOptions {
    var alpha: Double
    enum CodingKeys: String, CodingKey, CaseIterable { case alpha }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        alpha = try c.decode(.alpha, default: 1.0)
        try decoder.configCheck(alpha > 0 && alpha.isFinite, CodingKeys.alpha, "must be > 0, got \(alpha)")
    }
}

struct CutmixOptions: ConfigOptions {
    var alpha: Double
    enum CodingKeys: String, CodingKey, CaseIterable { case alpha }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        alpha = try c.decode(.alpha, default: 0.2)
        try decoder.configCheck(alpha > 0 && alpha.isFinite, CodingKeys.alpha, "must be > 0, got \(alpha)")
    }
}

/// `OpSampler: {MixupOperator: {alpha, prob}, CutmixOperator: {alpha, prob}}`.
struct OpSamplerOptions: ConfigOptions {
    struct Entry {
        var name: String
        var alpha: Double?
        var prob: Double
    }

    /// One sampled op's settings.
    struct EntryOptions: ConfigOptions {
        var alpha: Double?
        var prob: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case alpha, prob }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
            prob = try c.decodeIfPresent(Double.self, forKey: .prob)
            if let a = alpha { try decoder.configCheck(a > 0 && a.isFinite, CodingKeys.alpha, "must be > 0, got \(a)") }
            if let p = prob { try decoder.configCheck((0...1).contains(p), CodingKeys.prob, "must be in [0, 1], got \(p)") }
            if prob == nil {
                decoder.configNotice("prob is not set; the operator gets probability 0 (never used), as in PaddleClas")
            }
        }
    }

    var entries: [Entry] = []
    enum CodingKeys: String, CodingKey, CaseIterable { case mixup = "MixupOperator", cutmix = "CutmixOperator" }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        for key in CodingKeys.allCases {
            guard c.contains(key) else { continue }
            let o = try c.decodeIfPresent(EntryOptions.self, forKey: key)
            entries.append(Entry(name: key.stringValue, alpha: o?.alpha, prob: o?.prob ?? 0))
        }
        let total = entries.reduce(0) { $0 + $1.prob }
        if entries.isEmpty { decoder.configNotice("OpSampler has no operator; it leaves batches unchanged") }
        try decoder.configCheck(total <= 1 + 1e-9, CodingKeys.mixup,
                                "probabilities of OpSampler's operators sum to \(total); the sum must be at most 1")
    }
}
