import ClasTensor

/// `RandAugmentV2`: PaddleClas's RandAugment for EfficientNetV2 (`RandAugmentV2` in
/// `ppcls/data/preprocess/ops/randaugment.py`), the op whose `magnitude` grows by stage in progressive learning.
///
/// For each of `num_layers` layers one of 16 operations is chosen uniformly and applied at level
/// `l = magnitude / 10`. It differs from ``RandAugment`` in its level map and operations:
/// - shearX/shearY by ±0.3·l, translateX/translateY by ±100·l pixels (absolute, not a fraction), nearest, `fillcolor`;
/// - rotate by ±30·l degrees (either sign), filled with gray 128;
/// - color/contrast/sharpness/brightness with factor `1.8·l + 0.1` (no sign: weak levels darken and desaturate);
/// - posterize `int(4·l)` bits, solarize at `int(256·l)`, solarize_add `int(110·l)` below 128, autocontrast,
///   equalize, invert;
/// - cutout: a square of half-side `int(40·l)` around a centre drawn in `0...H × 0...W`, filled with `fillcolor[0]`.
///
/// Options: `num_layers` (2), `magnitude` (5), `fillcolor` (`[128, 128, 128]`) and `progress_magnitude` (the
/// magnitude of each stage under `Global.train_mode: progressive`; the engine sets `magnitude` from it per stage).
public struct RandAugmentV2: ConfigurableImageOp, ByteImageOp {
    public static let name = "RandAugmentV2"

    public struct Options: ImageOpOptions {
        public var numLayers = 2
        public var magnitude = 5.0
        public var progressMagnitude: [Double]?
        public var fillcolor = FillColorOption([128, 128, 128])

        enum CodingKeys: String, CodingKey, CaseIterable {
            case numLayers = "num_layers", magnitude, progressMagnitude = "progress_magnitude", fillcolor
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(numLayers: Int = 2, magnitude: Double = 5, progressMagnitude: [Double]? = nil,
                    fillcolor: [Int] = [128, 128, 128]) {
            self.numLayers = numLayers
            self.magnitude = magnitude
            self.progressMagnitude = progressMagnitude
            self.fillcolor = FillColorOption(fillcolor)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? 2
            magnitude = try c.decodeIfPresent(NumberOption.self, forKey: .magnitude)?.value ?? 5
            progressMagnitude = try c.decodeIfPresent(NumberList.self, forKey: .progressMagnitude)?.values
            fillcolor = try c.decodeIfPresent(FillColorOption.self, forKey: .fillcolor) ?? FillColorOption([128, 128, 128])
        }
    }

    enum Operation: CaseIterable {
        case shearX, shearY, translateX, translateY, rotate, color, posterize, solarize, solarizeAdd, contrast
        case sharpness, brightness, autocontrast, equalize, invert, cutout
    }

    public let numLayers: Int
    public let magnitude: Double
    public let fillcolor: [UInt8]

    public init(_ options: Options = Options()) throws {
        try OptionsError.require(options.numLayers >= 0, Self.name, "num_layers must be >= 0, got \(options.numLayers)")
        for m in [options.magnitude] + (options.progressMagnitude ?? []) {
            try OptionsError.require(m >= 0 && m.isFinite, Self.name, "magnitudes must be finite and >= 0, got \(m)")
        }
        try options.fillcolor.validate(Self.name, key: "fillcolor")
        numLayers = options.numLayers
        magnitude = options.magnitude
        fillcolor = options.fillcolor.values.map { UInt8($0) }
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        var out = image
        for _ in 0..<numLayers {
            let op = Operation.allCases[rng.int(below: Operation.allCases.count)]
            out = apply(op, out, rng: &rng)
        }
        return out
    }

    func apply(_ op: Operation, _ image: Image, rng: inout RandomState) -> Image {
        let l = magnitude / 10
        let fill = FillColorOption.color(fillcolor, channels: image.channels)
        let enhance = Float(1.8 * l + 0.1)
        switch op {
        case .shearX: return PIL.affine(image, [1, 0.3 * l * rng.sign(), 0, 0, 1, 0], resample: .nearest, fill: fill)
        case .shearY: return PIL.affine(image, [1, 0, 0, 0.3 * l * rng.sign(), 1, 0], resample: .nearest, fill: fill)
        case .translateX: return PIL.affine(image, [1, 0, 100 * l * rng.sign(), 0, 1, 0], resample: .nearest, fill: fill)
        case .translateY: return PIL.affine(image, [1, 0, 0, 0, 1, 100 * l * rng.sign()], resample: .nearest, fill: fill)
        case .rotate:
            return PIL.rotate(image, degrees: 30 * l * rng.sign(), resample: .nearest,
                              fill: [UInt8](repeating: 128, count: image.channels))
        case .color: return PIL.color(image, factor: enhance)
        case .contrast: return PIL.contrast(image, factor: enhance)
        case .sharpness: return PIL.sharpness(image, factor: enhance)
        case .brightness: return PIL.brightness(image, factor: enhance)
        case .posterize: return PIL.posterize(image, bits: Int(4 * l))
        case .solarize: return PIL.solarize(image, threshold: Double(Int(256 * l)))
        case .solarizeAdd: return PIL.solarizeAdd(image, add: Int(110 * l))
        case .autocontrast: return PIL.autocontrast(image)
        case .equalize: return PIL.equalize(image)
        case .invert: return PIL.invert(image)
        case .cutout: return Self.cutout(image, pad: Int(40 * l), value: fillcolor[0], rng: &rng)
        }
    }

    /// PaddleClas's `cutout`: centre `(y, x)` uniform in `0...H × 0...W`, the square `[y-pad, y+pad) × [x-pad, x+pad)`
    /// clipped to the image set to `value` in every channel.
    static func cutout(_ image: Image, pad: Int, value: UInt8, rng: inout RandomState) -> Image {
        let (h, w, c) = (image.height, image.width, image.channels)
        let cy = rng.int(below: h + 1), cx = rng.int(below: w + 1)
        let y1 = max(0, cy - pad), y2 = min(h, cy + pad), x1 = max(0, cx - pad), x2 = min(w, cx + pad)
        guard y1 < y2, x1 < x2 else { return image }
        var out = image
        for y in y1..<y2 { for x in x1..<x2 { for k in 0..<c { out.pixels[(y * w + x) * c + k] = value } } }
        return out
    }
}
