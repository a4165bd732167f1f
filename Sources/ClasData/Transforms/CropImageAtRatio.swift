import ClasTensor

/// `CropImageAtRatio`: PaddleClas's evaluation crop for EfficientNetV2: the centred square of side
/// `int(size / (size + pad) · min(W, H))` at `((W - s) // 2, (H - s) // 2)`, resized to `size × size` (OpenCV's
/// resize, as PaddlePaddle's functional resize on arrays). Options: `size`, `pad`, `interpolation` (bilinear).
public struct CropImageAtRatio: ConfigurableImageOp, PixelOp {
    public static let name = "CropImageAtRatio"

    public struct Options: ImageOpOptions {
        public var size: Int
        public var pad: Int
        public var interpolation: String?

        enum CodingKeys: String, CodingKey, CaseIterable { case size, pad, interpolation }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(size: Int, pad: Int, interpolation: String? = nil) {
            (self.size, self.pad, self.interpolation) = (size, pad, interpolation)
        }
    }

    public let size: Int
    public let ratio: Double
    public let interpolation: Interpolation

    public init(_ options: Options) throws {
        try SizeOption(options.size).validate(Self.name)
        try OptionsError.require(options.pad >= 0, Self.name, "pad must be >= 0, got \(options.pad)")
        size = options.size
        ratio = Double(options.size) / Double(options.size + options.pad)
        interpolation = try OptionsError.labelled(Self.name) { try Interpolation(name: options.interpolation) }
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        let side = Int(ratio * Double(min(image.width, image.height)))
        guard side > 0 else { throw PixelOpFailure("the image (\(image.sizeDescription)) is too small to crop") }
        let rect = (x: (image.width - side) / 2, y: (image.height - side) / 2, w: side, h: side)
        return Resampler.resize(image, rect: rect, width: size, height: size, mode: interpolation.resolved(&rng),
                                backend: .cv2)
    }
}
