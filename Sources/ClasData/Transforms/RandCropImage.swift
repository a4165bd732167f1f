import ClasTensor
import Foundation

/// `RandCropImage`: PaddleClas's single-draw random-resized crop, then a resize to `size`.
///
/// Draws, in order: aspect ratio `r` uniform in `ratio` (or log-uniform with `use_log_aspect`); area fraction
/// uniform in `[min(scale0, b), min(scale1, b)]` with `b = min((W/H)/r, (H/W)*r)` (so the crop always fits);
/// `w = int(sqrt(A*r))`, `h = int(sqrt(A/r))`; left `randint(0, W-w)`, top `randint(0, H-h)`. No retries (unlike
/// torchvision). Deviation: `w` and `h` are clamped to at least 1 pixel (tiny images would give an empty crop).
/// The resize follows `backend` (cv2 or pil, as in `ResizeImage`). `progress_size` lists the output size of each
/// stage of `Global.train_mode: progressive` (the engine sets `size` from it per stage).
public struct RandCropImage: ConfigurableImageOp, PixelOp {
    public static let name = "RandCropImage"

    public struct Options: ImageOpOptions {
        public var size: SizeOption
        public var scale: [Double]?
        public var ratio: [Double]?
        public var interpolation: String?
        public var useLogAspect = false
        public var backend = "cv2"
        /// The size of each progressive-learning stage.
        public var progressSize: [SizeOption]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case size, scale, ratio, interpolation, useLogAspect = "use_log_aspect", backend
            case progressSize = "progress_size"
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(size: SizeOption, scale: [Double]? = nil, ratio: [Double]? = nil, interpolation: String? = nil,
                    useLogAspect: Bool = false, backend: String = "cv2") {
            self.backend = backend
            self.size = size
            self.scale = scale
            self.ratio = ratio
            self.interpolation = interpolation
            self.useLogAspect = useLogAspect
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            size = try c.decode(SizeOption.self, forKey: .size)
            scale = try c.decodeIfPresent(NumberList.self, forKey: .scale)?.values
            ratio = try c.decodeIfPresent(NumberList.self, forKey: .ratio)?.values
            interpolation = try c.decodeIfPresent(String.self, forKey: .interpolation)
            useLogAspect = try c.decodeIfPresent(Bool.self, forKey: .useLogAspect) ?? false
            backend = try c.decodeIfPresent(String.self, forKey: .backend) ?? "cv2"
            progressSize = try c.decodeIfPresent([SizeOption].self, forKey: .progressSize)
        }
    }

    public let width: Int
    public let height: Int
    public let scale: (Double, Double)
    public let ratio: (Double, Double)
    public let useLogAspect: Bool
    public let interpolation: Interpolation
    /// cv2 (OpenCV's resize) or pil (Pillow's, antialiased).
    public let backend: ResizeBackend

    public init(_ options: Options) throws {
        try options.size.validate(Self.name)
        for s in options.progressSize ?? [] { try s.validate(Self.name) }
        (width, height) = (options.size.width, options.size.height)
        let s = options.scale ?? [0.08, 1.0]
        try OptionsError.require(s.count == 2 && s[0] > 0 && s[0] <= s[1], Self.name,
                                 "scale must be [min, max] with 0 < min <= max, got \(s)")
        let r = options.ratio ?? [3.0 / 4.0, 4.0 / 3.0]
        try OptionsError.require(r.count == 2 && r[0] > 0 && r[0] <= r[1], Self.name,
                                 "ratio must be [min, max] with 0 < min <= max, got \(r)")
        scale = (s[0], s[1])
        ratio = (r[0], r[1])
        useLogAspect = options.useLogAspect
        let backend = try OptionsError.labelled(Self.name) { try ResizeBackend(name: options.backend) }
        interpolation = try OptionsError.labelled(Self.name) {
            try Interpolation(name: options.interpolation, backend: backend)
        }
        self.backend = backend
    }

    /// The crop rectangle (x, y, w, h) for an image of `imageWidth` x `imageHeight`, drawing from `rng`.
    public func cropRect(imageWidth: Int, imageHeight: Int, rng: inout RandomState) -> (x: Int, y: Int, w: Int, h: Int) {
        let aspect = useLogAspect
            ? exp(rng.uniformDouble(log(ratio.0), log(ratio.1))) : rng.uniformDouble(ratio.0, ratio.1)
        let W = Double(imageWidth), H = Double(imageHeight)
        let bound = min((W / H) / aspect, (H / W) * aspect)
        let scaleMax = min(scale.1, bound), scaleMin = min(scale.0, bound)
        let area = W * H * rng.uniformDouble(scaleMin, scaleMax)
        let w = min(max(Int((area * aspect).squareRoot()), 1), imageWidth)
        let h = min(max(Int((area / aspect).squareRoot()), 1), imageHeight)
        let x = rng.int(in: 0...(imageWidth - w))
        let y = rng.int(in: 0...(imageHeight - h))
        return (x, y, w, h)
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        guard image.width > 0, image.height > 0 else { throw PixelOpFailure("the image is empty (\(image.sizeDescription))") }
        let rect = cropRect(imageWidth: image.width, imageHeight: image.height, rng: &rng)
        return Resampler.resize(image, rect: rect, width: width, height: height, mode: interpolation.resolved(&rng),
                                backend: backend)
    }
}
