import ClasTensor
import Foundation

/// `RandomResizedCrop` (PaddlePaddle's `paddle.vision.transforms.RandomResizedCrop`, torchvision's algorithm): up to
/// 10 attempts of area `uniform(scale) * H * W` and aspect ratio `exp(uniform(log ratio))`, with
/// `w = round(sqrt(A * r))`, `h = round(sqrt(A / r))`; the first that fits is placed at top `randint(0, H - h)`, left
/// `randint(0, W - w)`. When none fits, the centred crop of the whole image clamped to the ratio range. The crop is
/// resized to `size` (one side or `[h, w]`, PaddlePaddle's order) like `cv2.resize` with `interpolation`
/// (bilinear), as PaddlePaddle does for the NumPy images of PaddleClas pipelines.
public struct RandomResizedCrop: ConfigurableImageOp, PixelOp {
    public static let name = "RandomResizedCrop"

    public struct Options: ImageOpOptions {
        public var size: SizeOption
        public var scale: [Double]?
        public var ratio: [Double]?
        public var interpolation: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case size, scale, ratio, interpolation }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { ["keys": "a SwiftClas sample holds one image"] }

        public init(size: SizeOption, scale: [Double]? = nil, ratio: [Double]? = nil, interpolation: String? = nil) {
            (self.size, self.scale, self.ratio, self.interpolation) = (size, scale, ratio, interpolation)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            size = try c.decode(SizeOption.self, forKey: .size)
            scale = try c.decodeIfPresent(NumberList.self, forKey: .scale)?.values
            ratio = try c.decodeIfPresent(NumberList.self, forKey: .ratio)?.values
            interpolation = try c.decodeIfPresent(String.self, forKey: .interpolation)
        }
    }

    public let width: Int
    public let height: Int
    public let scale: (Double, Double)
    public let ratio: (Double, Double)
    public let interpolation: Interpolation

    public init(_ options: Options) throws {
        try options.size.validate(Self.name)
        (height, width) = (options.size.width, options.size.height)   // [h, w]
        let s = options.scale ?? [0.08, 1.0], r = options.ratio ?? [3.0 / 4.0, 4.0 / 3.0]
        try OptionsError.require(s.count == 2 && s[0] > 0 && s[0] <= s[1], Self.name,
                                 "scale must be [min, max] with 0 < min <= max, got \(s)")
        try OptionsError.require(r.count == 2 && r[0] > 0 && r[0] <= r[1], Self.name,
                                 "ratio must be [min, max] with 0 < min <= max, got \(r)")
        (scale, ratio) = ((s[0], s[1]), (r[0], r[1]))
        interpolation = try OptionsError.labelled(Self.name) { try Interpolation(name: options.interpolation) }
    }

    /// The crop rectangle for an image of `imageWidth` x `imageHeight`, drawing from `rng`.
    public func cropRect(imageWidth W: Int, imageHeight H: Int, rng: inout RandomState) -> (x: Int, y: Int, w: Int, h: Int) {
        let area = Double(W * H)
        for _ in 0..<10 {
            let target = rng.uniformDouble(scale.0, scale.1) * area
            let aspect = exp(rng.uniformDouble(log(ratio.0), log(ratio.1)))
            let w = pythonRound((target * aspect).squareRoot()), h = pythonRound((target / aspect).squareRoot())
            if w > 0 && w <= W && h > 0 && h <= H {
                let top = rng.int(in: 0...(H - h))
                let left = rng.int(in: 0...(W - w))
                return (left, top, w, h)
            }
        }
        let inRatio = Double(W) / Double(H)
        var (w, h) = (W, H)
        if inRatio < ratio.0 {
            h = pythonRound(Double(W) / ratio.0)
        } else if inRatio > ratio.1 {
            w = pythonRound(Double(H) * ratio.1)
        }
        (w, h) = (max(1, min(w, W)), max(1, min(h, H)))
        return ((W - w) / 2, (H - h) / 2, w, h)
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        guard image.width > 0, image.height > 0 else { throw PixelOpFailure("the image is empty (\(image.sizeDescription))") }
        let rect = cropRect(imageWidth: image.width, imageHeight: image.height, rng: &rng)
        return Resampler.resize(image, rect: rect, width: width, height: height, mode: interpolation.resolved(&rng))
    }
}
