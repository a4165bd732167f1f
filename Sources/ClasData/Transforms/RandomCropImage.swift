import ClasTensor

/// `RandomCropImage`: a `size` crop (`[w, h]` or a square side) at a uniformly drawn position, without resizing:
/// top `randint(0, H - h)`, then left `randint(0, W - w)` (PaddleClas's order of draws). An image smaller than the
/// crop is an error naming the file (NumPy slicing would silently return a smaller crop).
public struct RandomCropImage: ConfigurableImageOp, PixelOp {
    public static let name = "RandomCropImage"

    public typealias Options = CropSizeOptions

    public let width: Int
    public let height: Int

    public init(_ options: Options) throws {
        (width, height) = try options.validated(Self.name)
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        try Crop.requireFits(image, width: width, height: height)
        let top = rng.int(in: 0...(image.height - height))
        let left = rng.int(in: 0...(image.width - width))
        return Crop.crop(image, x: left, y: top, width: width, height: height)
    }
}

extension Crop {
    /// Throws unless a `width` x `height` crop fits in `image`.
    static func requireFits<C>(_ image: PixelImage<C>, width: Int, height: Int) throws {
        guard image.width >= width, image.height >= height else {
            throw PixelOpFailure("the image (\(image.width)x\(image.height)) is smaller than the crop \(width)x\(height); "
                + "resize or pad it first (ResizeImage resize_short, Padv2)")
        }
    }
}
