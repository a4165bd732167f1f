import ClasTensor

/// `ColorJitter`: PaddleClas's wrapper of `paddle.vision.transforms.ColorJitter` (torchvision semantics on PIL
/// images).
///
/// The four adjustments run in a random order (`random.shuffle`); each draws its factor uniformly from its range
/// and applies `ImageEnhance.Brightness`, `ImageEnhance.Contrast`, `ImageEnhance.Color` (saturation) or the HSV hue
/// shift. A number `v` gives the range `[max(0, 1 - v), 1 + v]` (hue: `[-v, v]`, `v <= 0.5`); a pair `[min, max]`
/// is used as is; 0 disables the adjustment. `prob` (default 2, i.e. always, as in PaddleClas) is the chance of
/// jittering an image at all. Works on 8-bit images, before `NormalizeImage`.
public struct ColorJitter: ConfigurableImageOp, ByteImageOp {
    public static let name = "ColorJitter"

    public struct Options: ImageOpOptions {
        public var brightness: [Double] = [0]
        public var contrast: [Double] = [0]
        public var saturation: [Double] = [0]
        public var hue: [Double] = [0]
        public var prob = 2.0

        enum CodingKeys: String, CodingKey, CaseIterable { case brightness, contrast, saturation, hue, prob }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(brightness: Double = 0, contrast: Double = 0, saturation: Double = 0, hue: Double = 0, prob: Double = 2) {
            (self.brightness, self.contrast, self.saturation, self.hue) = ([brightness], [contrast], [saturation], [hue])
            self.prob = prob
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func range(_ key: CodingKeys) throws -> [Double] {
                if let one = try? c.decodeIfPresent(NumberOption.self, forKey: key) { return [one.value] }
                return try c.decodeIfPresent(NumberList.self, forKey: key)?.values ?? [0]
            }
            brightness = try range(.brightness)
            contrast = try range(.contrast)
            saturation = try range(.saturation)
            hue = try range(.hue)
            prob = try c.decodeIfPresent(NumberOption.self, forKey: .prob)?.value ?? 2
        }
    }

    /// The factor ranges, nil when the adjustment is off.
    public let brightness: ClosedRange<Double>?
    public let contrast: ClosedRange<Double>?
    public let saturation: ClosedRange<Double>?
    public let hue: ClosedRange<Double>?
    public let prob: Double

    public init(_ options: Options = Options()) throws {
        func check(_ v: [Double], _ key: String, center: Double, bound: ClosedRange<Double>, clipAtZero: Bool) throws
            -> ClosedRange<Double>?
        {
            var lo: Double, hi: Double
            switch v.count {
            case 1:
                try OptionsError.require(v[0] >= 0, Self.name, "\(key) must be non-negative, got \(v[0])")
                (lo, hi) = (center - v[0], center + v[0])
                if clipAtZero { lo = max(lo, 0) }
            case 2:
                (lo, hi) = (v[0], v[1])
            default:
                throw OptionsError(op: Self.name, "\(key) must be a number or [min, max], got \(v)")
            }
            try OptionsError.require(bound.lowerBound <= lo && lo <= hi && hi <= bound.upperBound, Self.name,
                                     "\(key) values should be between \(bound), got [\(lo), \(hi)]")
            return lo == center && hi == center ? nil : lo...hi
        }
        brightness = try check(options.brightness, "brightness", center: 1, bound: 0...Double.infinity, clipAtZero: true)
        contrast = try check(options.contrast, "contrast", center: 1, bound: 0...Double.infinity, clipAtZero: true)
        saturation = try check(options.saturation, "saturation", center: 1, bound: 0...Double.infinity, clipAtZero: true)
        hue = try check(options.hue, "hue", center: 0, bound: -0.5...0.5, clipAtZero: false)
        prob = options.prob
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        guard rng.uniformDouble() < prob else { return image }
        var order = [0, 1, 2, 3]
        rng.shuffle(&order)
        var out = image
        for step in order {
            switch step {
            case 0: if let r = brightness { out = PIL.brightness(out, factor: Float(rng.uniformDouble(r.lowerBound, r.upperBound))) }
            case 1: if let r = contrast { out = PIL.contrast(out, factor: Float(rng.uniformDouble(r.lowerBound, r.upperBound))) }
            case 2: if let r = saturation { out = PIL.color(out, factor: Float(rng.uniformDouble(r.lowerBound, r.upperBound))) }
            default: if let r = hue { out = PIL.adjustHue(out, factor: rng.uniformDouble(r.lowerBound, r.upperBound)) }
            }
        }
        return out
    }
}
