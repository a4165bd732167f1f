import ClasTensor

/// `RandCropImageV2`: a `size` crop (`[w, h]` or a square side) at a uniformly drawn position, without resizing
/// (PaddleClas draws top, then left). An image of exactly the crop size is returned unchanged.
///
/// Deviation: PaddleClas draws top in `0...H-h+1` (and left likewise), so its last position yields a crop one row
/// (column) short, which cannot be batched; SwiftClas draws in `0...H-h`. PaddleClas also accepts an image one pixel
/// smaller than the crop; SwiftClas requires the crop to fit and says so.
public struct RandCropImageV2: ConfigurableImageOp, PixelOp {
    public static let name = "RandCropImageV2"

    public typealias Options = CropSizeOptions

    public let width: Int
    public let height: Int

    public init(_ options: Options) throws {
        (width, height) = try options.validated(Self.name)
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        if image.width == width && image.height == height { return image }
        try Crop.requireFits(image, width: width, height: height)
        let top = rng.int(in: 0...(image.height - height))
        let left = rng.int(in: 0...(image.width - width))
        return Crop.crop(image, x: left, y: top, width: width, height: height)
    }
}
