import ClasTensor

/// `CropImage`: centre crop of `size` (`[w, h]` or a square side) starting at `((W - w) // 2, (H - h) // 2)`.
///
/// PaddleClas slices NumPy arrays, which silently returns a smaller crop when the image is smaller than `size`;
/// SwiftClas reports that as an error naming the file instead.
public struct CropImage: ConfigurableImageOp, PixelOp {
    public static let name = "CropImage"

    public typealias Options = CropSizeOptions

    public let width: Int
    public let height: Int

    public init(_ options: Options) throws {
        (width, height) = try options.validated(Self.name)
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

/// The options of the crops that take only a `size` (`CropImage`, `RandomCropImage`, `RandCropImageV2`).
public struct CropSizeOptions: ImageOpOptions {
    public var size: SizeOption
    enum CodingKeys: String, CodingKey, CaseIterable { case size }
    public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }
    public init(size: SizeOption) { self.size = size }

    /// (width, height), checked for `op`.
    func validated(_ op: String) throws -> (Int, Int) {
        try size.validate(op)
        return (size.width, size.height)
    }
}
