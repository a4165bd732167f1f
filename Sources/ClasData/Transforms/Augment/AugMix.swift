import ClasTensor

/// `AugMix`: PaddleClas's AugMix op (`AugMix` in `ppcls/data/preprocess/ops/operators.py` with the operations of
/// `functional.py`), from "AugMix: A Simple Data Processing Method to Improve Robustness and Uncertainty",
/// https://arxiv.org/abs/1912.02781.
///
/// With probability `prob` the image is replaced by `(1 - m)·image + m·Σ wᵢ·chainᵢ(image)`, truncated to 8 bits,
/// where `w ~ Dirichlet(aug_prob_coeff)` over `mixture_width` chains, `m ~ Beta(aug_prob_coeff, aug_prob_coeff)`,
/// and each chain applies `mixture_depth` operations (≤ 0: 1…3) drawn from autocontrast, equalize, posterize,
/// rotate, solarize, shear x/y and translate x/y, each at a level drawn uniformly in `[0.1, aug_severity]`.
///
/// Options (PaddleClas defaults): `prob` 0.5, `aug_prob_coeff` 0.1, `mixture_width` 3, `mixture_depth` 1,
/// `aug_severity` 1; the paper's names `alpha`, `width`, `depth` and `severity` are accepted for the last four (not
/// both spellings at once). Works on 8-bit images, before `NormalizeImage`.
///
/// Not implemented: the paper's Jensen–Shannon consistency loss, which needs the clean image and two AugMix views
/// of every sample in one batch (three images per sample) and a matching loss; SwiftClas's loader carries one image
/// per sample.
public struct AugMix: ConfigurableImageOp, ByteImageOp {
    public static let name = "AugMix"

    public struct Options: ImageOpOptions {
        public var prob = 0.5
        public var augProbCoeff = 0.1
        public var mixtureWidth = 3
        public var mixtureDepth = 1
        public var augSeverity = 1.0

        enum CodingKeys: String, CodingKey, CaseIterable {
            case prob, augProbCoeff = "aug_prob_coeff", mixtureWidth = "mixture_width"
            case mixtureDepth = "mixture_depth", augSeverity = "aug_severity"
            case alpha, width, depth, severity
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(prob: Double = 0.5, augProbCoeff: Double = 0.1, mixtureWidth: Int = 3, mixtureDepth: Int = 1,
                    augSeverity: Double = 1) {
            self.prob = prob
            self.augProbCoeff = augProbCoeff
            self.mixtureWidth = mixtureWidth
            self.mixtureDepth = mixtureDepth
            self.augSeverity = augSeverity
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func either<T: Decodable>(_ a: CodingKeys, _ b: CodingKeys, _ type: T.Type) throws -> T? {
                let x = try c.decodeIfPresent(T.self, forKey: a), y = try c.decodeIfPresent(T.self, forKey: b)
                if x != nil && y != nil {
                    throw OptionsError(op: AugMix.name, "give '\(a.stringValue)' or its alias '\(b.stringValue)', not both")
                }
                return x ?? y
            }
            prob = try c.decodeIfPresent(NumberOption.self, forKey: .prob)?.value ?? 0.5
            augProbCoeff = try either(.augProbCoeff, .alpha, NumberOption.self)?.value ?? 0.1
            mixtureWidth = try either(.mixtureWidth, .width, Int.self) ?? 3
            mixtureDepth = try either(.mixtureDepth, .depth, Int.self) ?? 1
            augSeverity = try either(.augSeverity, .severity, NumberOption.self)?.value ?? 1
        }
    }

    /// The operations of PaddleClas's `functional.augmentations`, in order.
    enum Operation: CaseIterable, Sendable {
        case autocontrast, equalize, posterize, rotate, solarize, shearX, shearY, translateX, translateY
    }

    public let prob: Double
    public let augProbCoeff: Double
    public let mixtureWidth: Int
    public let mixtureDepth: Int
    public let augSeverity: Double

    public init(_ options: Options = Options()) throws {
        try OptionsError.require((0...1).contains(options.prob), Self.name, "prob must be in [0, 1], got \(options.prob)")
        try OptionsError.require(options.augProbCoeff > 0 && options.augProbCoeff.isFinite, Self.name,
                                 "aug_prob_coeff (alpha) must be > 0, got \(options.augProbCoeff)")
        try OptionsError.require(options.mixtureWidth >= 1, Self.name,
                                 "mixture_width (width) must be >= 1, got \(options.mixtureWidth)")
        try OptionsError.require(options.augSeverity > 0.1 && options.augSeverity <= 10, Self.name,
                                 "aug_severity (severity) must be in (0.1, 10], got \(options.augSeverity)")
        prob = options.prob
        augProbCoeff = options.augProbCoeff
        mixtureWidth = options.mixtureWidth
        mixtureDepth = options.mixtureDepth
        augSeverity = options.augSeverity
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        if rng.uniformDouble() > prob { return image }
        let ws = rng.dirichlet([Double](repeating: augProbCoeff, count: mixtureWidth)).map { Double(Float($0)) }
        let m = Double(Float(rng.beta(augProbCoeff, augProbCoeff)))
        var mix = [Double](repeating: 0, count: image.pixels.count)
        for w in ws {
            var aug = image
            let depth = mixtureDepth > 0 ? mixtureDepth : rng.int(in: 1...3)
            for _ in 0..<depth {
                let op = Operation.allCases[rng.int(below: Operation.allCases.count)]
                aug = Self.apply(op, to: aug, severity: augSeverity, rng: &rng)
            }
            aug.pixels.withUnsafeBufferPointer { ap in
                mix.withUnsafeMutableBufferPointer { mp in
                    guard let a = ap.baseAddress, let mb = mp.baseAddress else { return }
                    for i in 0..<mp.count { mb[i] += w * Double(a[i]) }
                }
            }
        }
        return Image(width: image.width, height: image.height, channels: image.channels) { out in
            image.pixels.withUnsafeBufferPointer { src in
                mix.withUnsafeBufferPointer { mp in
                    guard let s = src.baseAddress, let mb = mp.baseAddress, let d = out.baseAddress else { return }
                    for i in 0..<mp.count {
                        let v = (1 - m) * Double(s[i]) + m * mb[i]
                        d[i] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
                    }
                }
            }
        }
    }

    /// One operation of `functional.py` at a level drawn uniformly in [0.1, `severity`] (`sample_level`).
    static func apply(_ op: Operation, to image: Image, severity: Double, rng: inout RandomState) -> Image {
        let black = [UInt8](repeating: 0, count: image.channels)
        func level(_ rng: inout RandomState) -> Double { rng.uniformDouble(0.1, severity) }
        func intParameter(_ maxval: Double, _ rng: inout RandomState) -> Int { Int(level(&rng) * maxval / 10) }
        func floatParameter(_ maxval: Double, _ rng: inout RandomState) -> Double { level(&rng) * maxval / 10 }
        func signed(_ v: Double, _ rng: inout RandomState) -> Double { rng.uniformDouble() > 0.5 ? -v : v }
        switch op {
        case .autocontrast: return PIL.autocontrast(image)
        case .equalize: return PIL.equalize(image)
        case .posterize: return PIL.posterize(image, bits: 4 - intParameter(4, &rng))
        case .rotate:
            let degrees = signed(Double(intParameter(30, &rng)), &rng)
            return PIL.rotate(image, degrees: degrees, resample: .bilinear, fill: black)
        case .solarize: return PIL.solarize(image, threshold: Double(256 - intParameter(256, &rng)))
        case .shearX:
            return PIL.affine(image, [1, signed(floatParameter(0.3, &rng), &rng), 0, 0, 1, 0], resample: .bilinear, fill: black)
        case .shearY:
            return PIL.affine(image, [1, 0, 0, signed(floatParameter(0.3, &rng), &rng), 1, 0], resample: .bilinear, fill: black)
        case .translateX:
            let dx = signed(Double(intParameter(Double(image.width) / 3, &rng)), &rng)
            return PIL.affine(image, [1, 0, dx, 0, 1, 0], resample: .bilinear, fill: black)
        case .translateY:
            let dy = signed(Double(intParameter(Double(image.height) / 3, &rng)), &rng)
            return PIL.affine(image, [1, 0, 0, 0, 1, dy], resample: .bilinear, fill: black)
        }
    }
}
