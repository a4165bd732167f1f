import ClasTensor

/// `RandomRotation`: `paddle.vision.transforms.RandomRotation` (torchvision semantics) on PIL images: rotate by an
/// angle drawn uniformly in `degrees` (a number `d` means `[-d, d]`), counter-clockwise, with `Image.rotate`.
///
/// Options: `degrees` (required), `interpolation` (`nearest`; or `bilinear`, `bicubic`), `expand` (false: keep the
/// size; true: grow to hold the whole rotated image), `center` (null = image centre, or `[x, y]` in pixels), `fill`
/// (0, or `[r, g, b]`), `prob` (1.0: the chance of rotating an image; PaddleClas configs may set it). Works on
/// 8-bit images, before `NormalizeImage`.
public struct RandomRotation: ConfigurableImageOp, ByteImageOp {
    public static let name = "RandomRotation"

    public struct Options: ImageOpOptions {
        public var degrees: [Double]
        public var interpolation = "nearest"
        public var expand = false
        public var center: [Double]?
        public var fill = FillColorOption([0])
        public var prob = 1.0

        enum CodingKeys: String, CodingKey, CaseIterable { case degrees, interpolation, expand, center, fill, prob }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(degrees: [Double], interpolation: String = "nearest", expand: Bool = false, center: [Double]? = nil,
                    fill: [Int] = [0], prob: Double = 1) {
            self.degrees = degrees
            self.interpolation = interpolation
            self.expand = expand
            self.center = center
            self.fill = FillColorOption(fill)
            self.prob = prob
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let one = try? c.decode(NumberOption.self, forKey: .degrees) {
                degrees = [one.value]
            } else {
                degrees = try c.decode(NumberList.self, forKey: .degrees).values
            }
            interpolation = try c.decodeIfPresent(String.self, forKey: .interpolation) ?? "nearest"
            expand = try c.decodeIfPresent(Bool.self, forKey: .expand) ?? false
            center = try c.decodeIfPresent(NumberList.self, forKey: .center)?.values
            fill = try c.decodeIfPresent(FillColorOption.self, forKey: .fill) ?? FillColorOption([0])
            prob = try c.decodeIfPresent(NumberOption.self, forKey: .prob)?.value ?? 1
        }
    }

    public let degrees: ClosedRange<Double>
    public let resample: PIL.Resample
    public let expand: Bool
    public let center: (x: Double, y: Double)?
    public let fill: FillColorOption
    public let prob: Double

    public init(_ options: Options) throws {
        switch options.degrees.count {
        case 1:
            try OptionsError.require(options.degrees[0] >= 0, Self.name,
                                     "degrees must be non-negative when it is a single number, got \(options.degrees[0])")
            degrees = -options.degrees[0]...options.degrees[0]
        case 2:
            try OptionsError.require(options.degrees[0] <= options.degrees[1], Self.name,
                                     "degrees must be [min, max] with min <= max, got \(options.degrees)")
            degrees = options.degrees[0]...options.degrees[1]
        default:
            throw OptionsError(op: Self.name, "degrees must be a number or [min, max], got \(options.degrees)")
        }
        guard let r = PIL.Resample(rawValue: options.interpolation.lowercased()) else {
            throw OptionsError(op: Self.name, "interpolation must be 'nearest', 'bilinear' or 'bicubic', got '\(options.interpolation)'")
        }
        resample = r
        expand = options.expand
        if let c = options.center {
            try OptionsError.require(c.count == 2, Self.name, "center must be [x, y], got \(c)")
            center = (c[0], c[1])
        } else {
            center = nil
        }
        try options.fill.validate(Self.name, key: "fill")
        fill = options.fill
        try OptionsError.require((0...1).contains(options.prob), Self.name, "prob must be in [0, 1], got \(options.prob)")
        prob = options.prob
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        if prob < 1 && !(rng.uniformDouble() < prob) { return image }
        let angle = rng.uniformDouble(degrees.lowerBound, degrees.upperBound)
        return PIL.rotate(image, degrees: angle, resample: resample, expand: expand, center: center,
                          fill: fill.color(channels: image.channels))
    }
}
