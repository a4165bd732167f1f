import ClasTensor

/// `RandAugment`: PaddleClas's RandAugment (`ppcls/data/preprocess/ops/randaugment.py`), from "RandAugment:
/// Practical automated data augmentation with a reduced search space", https://arxiv.org/abs/1909.13719.
///
/// For each of `num_layers` layers one of 14 operations is chosen uniformly (with replacement) and always applied
/// at the level `magnitude / 10` (see ``PaddleAugmentOp``; e.g. rotate by `30 · magnitude / 10` degrees,
/// posterize to `int(4 · magnitude / 10)` bits). Options: `num_layers` (2), `magnitude` (5), `fillcolor`
/// (`[128, 128, 128]`). At `magnitude: 0` the geometric and enhance operations are the identity; posterize then
/// keeps 0 bits (black) and solarize inverts everything, as in PaddleClas with older Pillow releases (Pillow 13
/// rejects 0 bits).
public struct RandAugment: ConfigurableImageOp, ByteImageOp {
    public static let name = "RandAugment"

    public struct Options: ImageOpOptions {
        public var numLayers = 2
        public var magnitude = 5.0
        public var fillcolor = FillColorOption([128, 128, 128])

        enum CodingKeys: String, CodingKey, CaseIterable { case numLayers = "num_layers", magnitude, fillcolor }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(numLayers: Int = 2, magnitude: Double = 5, fillcolor: [Int] = [128, 128, 128]) {
            self.numLayers = numLayers
            self.magnitude = magnitude
            self.fillcolor = FillColorOption(fillcolor)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? 2
            magnitude = try c.decodeIfPresent(NumberOption.self, forKey: .magnitude)?.value ?? 5
            fillcolor = try c.decodeIfPresent(FillColorOption.self, forKey: .fillcolor) ?? FillColorOption([128, 128, 128])
        }
    }

    /// The operations in PaddleClas's `level_map` order.
    static let operations: [PaddleAugmentOp] = [
        .shearX, .shearY, .translateX, .translateY, .rotate, .color, .posterize, .solarize, .contrast, .sharpness,
        .brightness, .autocontrast, .equalize, .invert,
    ]

    public let numLayers: Int
    public let magnitude: Double
    public let fillcolor: [UInt8]

    public init(_ options: Options = Options()) throws {
        try OptionsError.require(options.numLayers >= 0, Self.name, "num_layers must be >= 0, got \(options.numLayers)")
        try OptionsError.require(options.magnitude >= 0 && options.magnitude.isFinite, Self.name,
                                 "magnitude must be >= 0, got \(options.magnitude)")
        try options.fillcolor.validate(Self.name, key: "fillcolor")
        numLayers = options.numLayers
        magnitude = options.magnitude
        fillcolor = options.fillcolor.values.map { UInt8($0) }
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        var out = image
        for _ in 0..<numLayers {
            let op = Self.operations[rng.int(below: Self.operations.count)]
            out = op.apply(out, magnitude: op.randMagnitude(magnitude), fill: fillcolor, rng: &rng)
        }
        return out
    }
}
