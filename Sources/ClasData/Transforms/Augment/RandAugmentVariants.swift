import ClasTensor

/// PaddleClas's RandAugment variants (`ppcls/data/preprocess/ops/randaugment.py`; `RandAugmentV2` has its own file): like ``RandAugment``, each of
/// `num_layers` layers applies one operation drawn uniformly (with replacement) at level `L = magnitude / 10`, but
/// with other operation sets and parameterisations.
///
/// `RandAugmentV3` (MobileViTV2's; defaults `num_layers` 2, `magnitude` 3, `fillcolor` black, `interpolation`
/// bicubic): 14 operations — shear ±0.3L, translate ±150/331·L of the size and rotate ±30L, all with
/// `interpolation` and `fillcolor`; enhance factors 1 ± 0.9L; posterize `8 - int(4L)` bits; solarize at 255(1 − L).
public struct RandAugmentV3: ConfigurableImageOp, ByteImageOp {
    public static let name = "RandAugmentV3"

    public struct Options: ImageOpOptions {
        public var numLayers = 2
        public var magnitude = 3.0
        public var fillcolor = FillColorOption([0, 0, 0])
        public var interpolation = "bicubic"
        enum CodingKeys: String, CodingKey, CaseIterable { case numLayers = "num_layers", magnitude, fillcolor, interpolation }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? 2
            magnitude = try c.decodeIfPresent(NumberOption.self, forKey: .magnitude)?.value ?? 3
            fillcolor = try c.decodeIfPresent(FillColorOption.self, forKey: .fillcolor) ?? FillColorOption([0, 0, 0])
            interpolation = try c.decodeIfPresent(String.self, forKey: .interpolation) ?? "bicubic"
        }
    }

    public let numLayers: Int
    public let level: Double
    public let fillcolor: [UInt8]
    public let resample: PIL.Resample

    public init(_ options: Options = Options()) throws {
        try RandAugmentLayers.validate(Self.name, options.numLayers, options.magnitude, options.fillcolor)
        guard let r = PIL.Resample(rawValue: options.interpolation.lowercased()) else {
            throw OptionsError(op: Self.name, "interpolation must be nearest, bilinear or bicubic, got '\(options.interpolation)'")
        }
        numLayers = options.numLayers
        level = options.magnitude / 10
        fillcolor = options.fillcolor.values.map { UInt8($0) }
        resample = r
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        var out = image
        for _ in 0..<numLayers {
            let op = RandAugment.operations[rng.int(below: RandAugment.operations.count)]
            out = apply(op, out, rng: &rng)
        }
        return out
    }

    private func apply(_ op: PaddleAugmentOp, _ image: Image, rng: inout RandomState) -> Image {
        let L = level, fill = FillColorOption.color(fillcolor, channels: image.channels)
        let (w, h) = (Double(image.width), Double(image.height))
        switch op {
        case .shearX: return PIL.affine(image, [1, 0.3 * L * rng.sign(), 0, 0, 1, 0], resample: resample, fill: fill)
        case .shearY: return PIL.affine(image, [1, 0, 0, 0.3 * L * rng.sign(), 1, 0], resample: resample, fill: fill)
        case .translateX:
            return PIL.affine(image, [1, 0, 150 / 331 * L * w * rng.sign(), 0, 1, 0], resample: resample, fill: fill)
        case .translateY:
            return PIL.affine(image, [1, 0, 0, 0, 1, 150 / 331 * L * h * rng.sign()], resample: resample, fill: fill)
        case .rotate: return PIL.rotate(image, degrees: 30 * L * rng.sign(), resample: resample, fill: fill)
        case .posterize: return PIL.posterize(image, bits: 8 - Int(4 * L))
        case .solarize: return PIL.solarize(image, threshold: 255 * (1 - L))
        default: return op.apply(image, magnitude: op.randMagnitude(L * 10), fill: fillcolor, rng: &rng)
        }
    }
}

/// What the RandAugment variants share.
enum RandAugmentLayers {
    static func validate(_ op: String, _ numLayers: Int, _ magnitude: Double, _ fill: FillColorOption) throws {
        try OptionsError.require(numLayers >= 0, op, "num_layers must be >= 0, got \(numLayers)")
        try OptionsError.require(magnitude >= 0 && magnitude.isFinite, op, "magnitude must be >= 0, got \(magnitude)")
        try fill.validate(op, key: "fillcolor")
    }

    /// PaddleClas's RandAugment `cutout`: centre row and column uniform in `0...H` and `0...W`
    /// (`np.random.randint(0, n + 1)`), rows `[max(0, cy - s), min(H, cy + s))` and the same for columns set to
    /// `value` in every channel.
    static func cutout(_ image: Image, halfSize s: Int, value: UInt8, rng: inout RandomState) -> Image {
        let cy = rng.int(in: 0...image.height), cx = rng.int(in: 0...image.width)
        var out = image
        let c = image.channels
        for y in max(0, cy - s)..<max(max(0, cy - s), min(image.height, cy + s)) {
            for x in max(0, cx - s)..<max(max(0, cx - s), min(image.width, cx + s)) {
                for ch in 0..<c { out.pixels[(y * image.width + x) * c + ch] = value }
            }
        }
        return out
    }
}
