import ClasTensor

/// `CropImage`: centre crop of `size` (`[w, h]` or a square side) starting at `((W - w) // 2, (H - h) // 2)`.
///
/// PaddleClas slices NumPy arrays, which silently returns a smaller crop when the image is smaller than `size`;
/// SwiftClas reports that as an error naming the file instead.
public struct CropImage: ConfigurableImageOp, PixelOp {
    public static let name = "CropImage"

    public struct Options: ImageOpOptions {
        public var size: SizeOption

        enum CodingKeys: String, CodingKey, CaseIterable { case size }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(size: SizeOption) { self.size = size }
    }

    public let width: Int
    public let height: Int

    public init(_ options: Options) throws {
        try options.size.validate(Self.name)
        (width, height) = (options.size.width, options.size.height)
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        guard image.width >= width, image.height >= height else {
            throw PixelOpFailure("the image (\(image.width)x\(image.height)) is smaller than the crop \(width)x\(height); "
                + "resize it first (e.g. ResizeImage resize_short)")
        }
        return Crop.crop(image, x: (image.width - width) / 2, y: (image.height - height) / 2, width: width,
                         height: height)
    }
}
