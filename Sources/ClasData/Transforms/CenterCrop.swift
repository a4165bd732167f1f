import ClasTensor

/// `CenterCrop` (PaddlePaddle's `paddle.vision.transforms.CenterCrop`): a `size` crop centred with Python's
/// rounding, top `round((H - h) / 2)`, left `round((W - w) / 2)` (half to even, so odd margins differ from
/// `CropImage`'s floor by one pixel). `size` is one side or `[h, w]` — PaddlePaddle's order, unlike `CropImage`'s
/// `[w, h]`.
public struct CenterCrop: ConfigurableImageOp, PixelOp {
    public static let name = "CenterCrop"

    public struct Options: ImageOpOptions {
        public var size: SizeOption
        enum CodingKeys: String, CodingKey, CaseIterable { case size }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { ["keys": "a SwiftClas sample holds one image"] }
        public init(size: SizeOption) { self.size = size }
    }

    public let width: Int
    public let height: Int

    public init(_ options: Options) throws {
        try options.size.validate(Self.name)
        // SizeOption reads a list as [first, second]; PaddlePaddle's list is [h, w].
        (height, width) = (options.size.width, options.size.height)
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        try Crop.requireFits(image, width: width, height: height)
        let top = pythonRound(Double(image.height - height) / 2), left = pythonRound(Double(image.width - width) / 2)
        return Crop.crop(image, x: left, y: top, width: width, height: height)
    }
}
