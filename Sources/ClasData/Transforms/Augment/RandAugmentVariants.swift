import ClasTensor

/// PaddleClas's RandAugment variants (`ppcls/data/preprocess/ops/randaugment.py`): like ``RandAugment``, each of
/// `num_layers` layers applies one operation drawn uniformly (with replacement) at level `L = magnitude / 10`, but
/// with other operation sets and parameterisations.
///
/// `RandAugmentV2` (EfficientNetV2's; defaults `num_layers` 2, `magnitude` 5, `fillcolor` 128 gray): 16 operations —
/// shear ±0.3L and translate ±100L *pixels* (nearest), rotate ±30L (gray 128 fill), colour/contrast/sharpness/
/// brightness with factor 1.8L + 0.1 (no random sign), posterize `int(4L)` bits, solarize at `int(256L)`,
/// solarize-add `int(110L)` below 128, autocontrast, equalize, invert, and cutout of half-size `int(40L)` filled
/// with `fillcolor[0]`. `progress_magnitude` belongs to progressive training and is ignored with a notice.
///
/// `RandAugmentV3` (MobileViTV2's; defaults `num_layers` 2, `magnitude` 3, `fillcolor` black, `interpolation`
/// bicubic): 14 operations — shear ±0.3L, translate ±150/331·L of the size and rotate ±30L, all with
/// `interpolation` and `fillcolor`; enhance factors 1 ± 0.9L; posterize `8 - int(4L)` bits; solarize at 255(1 − L).
public struct RandAugmentV2: ConfigurableImageOp, ByteImageOp {
    public static let name = "RandAugmentV2"

    public struct Options: ImageOpOptions {
        public var numLayers = 2
        public var magnitude = 5.0
        public var fillcolor = FillColorOption([128, 128, 128])
        enum CodingKeys: String, CodingKey, CaseIterable { case numLayers = "num_layers", magnitude, fillcolor }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] {
            ["progress_magnitude": "it is for Global.train_mode: progressive, which SwiftClas does not implement"]
        }
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? 2
            magnitude = try c.decodeIfPresent(NumberOption.self, forKey: .magnitude)?.value ?? 5
            fillcolor = try c.decodeIfPresent(FillColorOption.self, forKey: .fillcolor) ?? FillColorOption([128, 128, 128])
        }
    }

    enum Op: CaseIterable {
        case shearX, shearY, translateX, translateY, rotate, color, posterize, solarize, solarizeAdd, contrast
        case sharpness, brightness, autocontrast, equalize, invert, cutout
    }

    public let numLayers: Int
    public let level: Double
    public let fillcolor: [UInt8]

    public init(_ options: Options = Options()) throws {
        try RandAugmentLayers.validate(Self.name, options.numLayers, options.magnitude, options.fillcolor)
        numLayers = options.numLayers
        level = options.magnitude / 10
        fillcolor = options.fillcolor.values.map { UInt8($0) }
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        var out = image
        for _ in 0..<numLayers {
            let op = Op.allCases[rng.int(below: Op.allCases.count)]
            out = apply(op, out, rng: &rng)
        }
        return out
    }

    private func apply(_ op: Op, _ image: Image, rng: inout RandomState) -> Image {
        let L = level, fill = FillColorOption.color(fillcolor, channels: image.channels)
        let factor = Float(1.8 * L + 0.1)
        switch op {
        case .shearX: return PIL.affine(image, [1, 0.3 * L * rng.sign(), 0, 0, 1, 0], resample: .nearest, fill: fill)
        case .shearY: return PIL.affine(image, [1, 0, 0, 0.3 * L * rng.sign(), 1, 0], resample: .nearest, fill: fill)
        case .translateX: return PIL.affine(image, [1, 0, 100 * L * rng.sign(), 0, 1, 0], resample: .nearest, fill: fill)
        case .translateY: return PIL.affine(image, [1, 0, 0, 0, 1, 100 * L * rng.sign()], resample: .nearest, fill: fill)
        case .rotate:
            return PIL.rotate(image, degrees: 30 * L * rng.sign(), resample: .nearest,
                              fill: [UInt8](repeating: 128, count: image.channels))
        case .color: return PIL.color(image, factor: factor)
        case .contrast: return PIL.contrast(image, factor: factor)
        case .sharpness: return PIL.sharpness(image, factor: factor)
        case .brightness: return PIL.brightness(image, factor: factor)
        case .posterize: return PIL.posterize(image, bits: Int(4 * L))
        case .solarize: return PIL.solarize(image, threshold: Double(Int(256 * L)))
        case .solarizeAdd: return PIL.solarizeAdd(image, add: Int(110 * L))
        case .autocontrast: return PIL.autocontrast(image)
        case .equalize: return PIL.equalize(image)
        case .invert: return PIL.invert(image)
        case .cutout: return RandAugmentLayers.cutout(image, halfSize: Int(40 * L), value: fillcolor[0], rng: &rng)
        }
    }
}

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
