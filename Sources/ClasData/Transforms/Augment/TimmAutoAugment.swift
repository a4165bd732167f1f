import ClasTensor

/// `TimmAutoAugment`: timm's RandAugment, AutoAugment and AugMix as PaddleClas wraps them
/// (`RawTimmAutoAugment` in `ppcls/data/preprocess/ops/timm_autoaugment.py`; papers:
/// https://arxiv.org/abs/1909.13719, https://arxiv.org/abs/1805.09501, https://arxiv.org/abs/1912.02781).
///
/// Options (PaddleClas defaults):
/// - `config_str` (`rand-m9-mstd0.5-inc1`): the scheme, see ``TimmAugmentConfig``.
/// - `interpolation` (`bicubic`): resampling of rotate/shear/translate; `bilinear`, `bicubic`, `nearest`, or
///   `random` (bilinear or bicubic drawn per operation).
/// - `img_size` (224, or `[h, w]`: the smaller side): absolute translations reach `int(0.45 · img_size)` pixels.
/// - `mean` (ImageNet mean): fill colour `min(255, round(255 · mean))` of uncovered areas.
/// - `prob` (1.0): probability of augmenting an image at all.
///
/// Works on 8-bit images (before `NormalizeImage`). Deviations: `nearest` is honoured (PaddleClas's copy of timm
/// maps it to bilinear); the AutoAugment policy names (`original`, `v0`, …) are accepted as timm accepts them
/// (PaddleClas only dispatches strings starting with `rand`, `augmix` or `auto`); AugMix handles non-square images
/// (timm's `_apply_basic` swaps height and width).
public struct TimmAutoAugment: ConfigurableImageOp, ByteImageOp {
    public static let name = "TimmAutoAugment"

    public struct Options: ImageOpOptions {
        public var configStr = "rand-m9-mstd0.5-inc1"
        public var interpolation: String? = "bicubic"
        public var imgSize = [224]
        public var mean = [0.485, 0.456, 0.406]
        public var prob = 1.0

        enum CodingKeys: String, CodingKey, CaseIterable {
            case configStr = "config_str", interpolation, imgSize = "img_size", mean, prob
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(configStr: String = "rand-m9-mstd0.5-inc1", interpolation: String? = "bicubic", imgSize: Int = 224,
                    mean: [Double] = [0.485, 0.456, 0.406], prob: Double = 1) {
            self.configStr = configStr
            self.interpolation = interpolation
            self.imgSize = [imgSize]
            self.mean = mean
            self.prob = prob
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            configStr = try c.decodeIfPresent(String.self, forKey: .configStr) ?? "rand-m9-mstd0.5-inc1"
            interpolation = c.contains(.interpolation) ? try c.decodeIfPresent(String.self, forKey: .interpolation) : "bicubic"
            if let one = try? c.decodeIfPresent(Int.self, forKey: .imgSize) {
                imgSize = [one]
            } else {
                imgSize = try c.decodeIfPresent([Int].self, forKey: .imgSize) ?? [224]
            }
            mean = try c.decodeIfPresent(NumberList.self, forKey: .mean)?.values ?? [0.485, 0.456, 0.406]
            prob = try c.decodeIfPresent(NumberOption.self, forKey: .prob)?.value ?? 1
        }
    }

    /// The transform built from `config_str`.
    enum Plan: Sendable {
        case rand(ops: [TimmAugmentOp], numLayers: Int, weights: [Double]?)
        case auto(policy: [[TimmAugmentOp]])
        case augmix(ops: [TimmAugmentOp], alpha: Double, width: Int, depth: Int, blended: Bool)
    }

    public let config: TimmAugmentConfig
    public let prob: Double
    let hparams: TimmHParams
    let plan: Plan

    public init(_ options: Options = Options()) throws {
        config = try OptionsError.labelled(Self.name) { try TimmAugmentConfig.parse(options.configStr) }
        try OptionsError.require((0...1).contains(options.prob), Self.name, "prob must be in [0, 1], got \(options.prob)")
        prob = options.prob
        guard let side = options.imgSize.min(), side > 0 else {
            throw OptionsError(op: Self.name, "img_size must be a positive integer or [h, w], got \(options.imgSize)")
        }
        try OptionsError.require(options.mean.count == 3, Self.name, "mean needs 3 values, got \(options.mean)")
        var h = TimmHParams()
        h.translateConst = Double(Int(Double(side) * 0.45))
        h.fill = options.mean.map { UInt8(min(255, max(0, pythonRound(255 * $0)))) }
        switch options.interpolation?.lowercased() {
        case nil, "random": h.interpolation = nil
        case "bicubic": h.interpolation = .bicubic
        case "bilinear": h.interpolation = .bilinear
        case "nearest": h.interpolation = .nearest
        case let other?:
            throw OptionsError(op: Self.name, "interpolation must be 'bicubic', 'bilinear', 'nearest' or 'random' "
                               + "(PIL affine transforms support no other filter), got '\(other)'")
        }
        h.magnitudeStd = config.magnitudeStd
        switch config.scheme {
        case let .rand(magnitude, numLayers, opProb, increasing, weightIndex):
            try OptionsError.require(magnitude >= 0 && numLayers >= 0, Self.name,
                                     "config_str '\(options.configStr)': m and n must be >= 0")
            h.magnitudeMax = config.magnitudeMax
            let names = increasing ? TimmAugmentPolicies.randIncreasingTransforms : TimmAugmentPolicies.randTransforms
            let ops = names.map { TimmAugmentOp(name: $0, prob: opProb, magnitude: Double(magnitude), hparams: h) }
            var weights: [Double]?
            if weightIndex != nil {
                let w = names.map { TimmAugmentPolicies.randChoiceWeights0[$0] ?? 0 }
                try OptionsError.require(!increasing, Self.name, "config_str '\(options.configStr)': the w0 weights "
                                         + "name the standard operations; they cannot be combined with inc1")
                weights = w
            }
            plan = .rand(ops: ops, numLayers: numLayers, weights: weights)
        case let .auto(policy):
            plan = .auto(policy: TimmAugmentPolicies.policy(policy).map { row in
                row.map { TimmAugmentOp(name: $0.0, prob: $0.1, magnitude: $0.2, hparams: h) }
            })
        case let .augmix(magnitude, width, depth, alpha, blended):
            h.translatePct = 0.3
            let ops = TimmAugmentPolicies.augmixTransforms.map {
                TimmAugmentOp(name: $0, prob: 1, magnitude: Double(magnitude), hparams: h)
            }
            plan = .augmix(ops: ops, alpha: alpha, width: width, depth: depth, blended: blended)
        }
        hparams = h
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        if prob < 1 && !(rng.uniformDouble() < prob) { return image }
        switch plan {
        case let .rand(ops, numLayers, weights):
            let chosen = weights.map { rng.indicesWithoutReplacement(weights: $0, count: numLayers) }
                ?? (0..<numLayers).map { _ in rng.int(below: ops.count) }
            return chosen.reduce(image) { img, i in ops[i].apply(img, rng: &rng) }
        case let .auto(policy):
            let row = policy[rng.int(below: policy.count)]
            return row.reduce(image) { img, op in op.apply(img, rng: &rng) }
        case let .augmix(ops, alpha, width, depth, blended):
            return Self.augmix(image, ops: ops, alpha: alpha, width: width, depth: depth, blended: blended, rng: &rng)
        }
    }

    /// timm's `AugMixAugment`: `width` chains of `depth` random operations (depth ≤ 0: 1…3 per chain), mixed with
    /// Dirichlet(`alpha`) weights, then blended with the original by a Beta(`alpha`, `alpha`) factor
    /// (`_apply_basic`), or blended chain by chain (`_apply_blended`, `b1`).
    static func augmix(_ image: Image, ops: [TimmAugmentOp], alpha: Double, width: Int, depth: Int, blended: Bool,
                       rng: inout RandomState) -> Image {
        let weights = rng.dirichlet([Double](repeating: alpha, count: width)).map { Float($0) }
        let m = Float(rng.beta(alpha, alpha))
        func chain(_ rng: inout RandomState) -> Image {
            let d = depth > 0 ? depth : rng.int(in: 1...3)
            let picks = (0..<d).map { _ in rng.int(below: ops.count) }
            return picks.reduce(image) { img, i in ops[i].apply(img, rng: &rng) }
        }
        if blended {
            var cump: Float = 1
            var rws: [Float] = []
            for w in weights.map({ $0 * m }).reversed() {
                let a = w / cump
                cump *= 1 - a
                rws.append(a)
            }
            var out = image
            for w in rws.reversed() { out = PIL.blend(out, chain(&rng), alpha: w) }
            return out
        }
        var mixed = [Float](repeating: 0, count: image.pixels.count)
        for w in weights {
            let aug = chain(&rng)
            mixed.withUnsafeMutableBufferPointer { mp in
                aug.pixels.withUnsafeBufferPointer { ap in
                    guard let mb = mp.baseAddress, let ab = ap.baseAddress else { return }
                    for i in 0..<mp.count { mb[i] += w * Float(ab[i]) }
                }
            }
        }
        let mixedImage = Image(width: image.width, height: image.height, channels: image.channels) { out in
            mixed.withUnsafeBufferPointer { mp in
                guard let s = mp.baseAddress, let d = out.baseAddress else { return }
                for i in 0..<mp.count { d[i] = UInt8(min(max(s[i], 0), 255)) }
            }
        }
        return PIL.blend(image, mixedImage, alpha: m)
    }
}
