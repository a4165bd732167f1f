import ClasTensor

/// `ResizeImage`: resize to `size` (`[w, h]` or a square side), or — when `resize_short` > 0, which wins — scale so
/// the short side becomes `resize_short`, each side `int(round(side * resize_short / short))` (Python's round,
/// half to even). `backend: cv2` (default) resizes like `cv2.resize` (see `Resampler`), `backend: pil` like
/// Pillow's `Image.resize` (antialiased, see `PILResample`); each accepts its library's interpolation names.
/// `return_numpy` is accepted and ignored.
public struct ResizeImage: ConfigurableImageOp, PixelOp {
    public static let name = "ResizeImage"

    public struct Options: ImageOpOptions {
        public var size: SizeOption?
        public var resizeShort: Int?
        public var interpolation: String?
        public var backend = "cv2"
        public var returnNumpy = true

        enum CodingKeys: String, CodingKey, CaseIterable {
            case size, resizeShort = "resize_short", interpolation, backend, returnNumpy = "return_numpy"
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(size: SizeOption? = nil, resizeShort: Int? = nil, interpolation: String? = nil,
                    backend: String = "cv2") {
            self.size = size
            self.resizeShort = resizeShort
            self.interpolation = interpolation
            self.backend = backend
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            size = try c.decodeIfPresent(SizeOption.self, forKey: .size)
            resizeShort = try c.decodeIfPresent(Int.self, forKey: .resizeShort)
            interpolation = try c.decodeIfPresent(String.self, forKey: .interpolation)
            backend = try c.decodeIfPresent(String.self, forKey: .backend) ?? "cv2"
            returnNumpy = try c.decodeIfPresent(Bool.self, forKey: .returnNumpy) ?? true
        }
    }

    /// Either a fixed output size or a short-side target.
    public enum Target: Equatable, Sendable {
        case size(width: Int, height: Int)
        case shortSide(Int)
    }

    public let target: Target
    public let interpolation: Interpolation
    /// cv2 (OpenCV's resize) or pil (Pillow's, antialiased).
    public let backend: ResizeBackend

    public init(_ options: Options) throws {
        if let short = options.resizeShort, short > 0 {
            try OptionsError.require(short <= SizeOption.maxSide, Self.name,
                                     "resize_short must be at most \(SizeOption.maxSide), got \(short)")
            target = .shortSide(short)
        } else if let size = options.size {
            try size.validate(Self.name)
            target = .size(width: size.width, height: size.height)
        } else {
            throw OptionsError(op: Self.name, "needs 'size' or a positive 'resize_short' (both are missing or not positive)")
        }
        let backend = try OptionsError.labelled(Self.name) { try ResizeBackend(name: options.backend) }
        interpolation = try OptionsError.labelled(Self.name) {
            try Interpolation(name: options.interpolation, backend: backend)
        }
        self.backend = backend
    }

    /// The output (width, height) for an input of `width` x `height`.
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        switch target {
        case .size(let w, let h): return (w, h)
        case .shortSide(let short):
            let percent = Double(short) / Double(min(width, height))
            let limit = Double(Int.max / 2)
            return (Int(min(limit, (Double(width) * percent).rounded(.toNearestOrEven))),
                    Int(min(limit, (Double(height) * percent).rounded(.toNearestOrEven))))
        }
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        guard image.width > 0, image.height > 0 else { throw PixelOpFailure("the image is empty (\(image.sizeDescription))") }
        let (w, h) = outputSize(width: image.width, height: image.height)
        guard w > 0, h > 0 else {
            throw PixelOpFailure("a \(image.width)x\(image.height) image would be resized to \(w)x\(h)")
        }
        // An extreme aspect ratio with resize_short is a bomb of its own (1x10000 → 256x2560000).
        guard w <= 1 << 30, h <= 1 << 30, w * h <= ImageCodec.defaultMaxPixels else {
            throw PixelOpFailure("a \(image.width)x\(image.height) image would be resized to \(w)x\(h), more than the "
                                 + "pixel limit \(ImageCodec.defaultMaxPixels) (Global.max_image_pixels)")
        }
        return Resampler.resize(image, rect: (0, 0, image.width, image.height), width: w, height: h,
                                mode: interpolation.resolved(&rng), backend: backend)
    }
}
