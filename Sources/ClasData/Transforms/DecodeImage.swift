import ClasTensor

/// `DecodeImage`: encoded bytes to an 8-bit HWC image with 3 channels, RGB (or BGR with `to_rgb: False`).
///
/// `to_np` and `channel_first` are accepted for compatibility and ignored (SwiftClas keeps images HWC). `backend`
/// (cv2 | pil) decides only whether a JPEG's EXIF orientation is applied: cv2's `imdecode` applies it, PIL's
/// `convert('RGB')` does not; pixels otherwise come from libpng/libjpeg-turbo either way. `max_pixels` is a
/// SwiftClas extension (decompression-bomb guard, default PIL's limit). An already decoded sample passes through.
public struct DecodeImage: ConfigurableImageOp {
    public static let name = "DecodeImage"

    public struct Options: ImageOpOptions {
        public var toNp = true
        public var toRGB = true
        public var channelFirst = false
        public var backend = "cv2"
        public var maxPixels = ImageCodec.defaultMaxPixels

        enum CodingKeys: String, CodingKey, CaseIterable {
            case toNp = "to_np", toRGB = "to_rgb", channelFirst = "channel_first", backend
            case maxPixels = "max_pixels"
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(toRGB: Bool = true, backend: String = "cv2", maxPixels: Int = ImageCodec.defaultMaxPixels) {
            self.toRGB = toRGB
            self.backend = backend
            self.maxPixels = maxPixels
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            toNp = try c.decodeIfPresent(Bool.self, forKey: .toNp) ?? true
            toRGB = try c.decodeIfPresent(Bool.self, forKey: .toRGB) ?? true
            channelFirst = try c.decodeIfPresent(Bool.self, forKey: .channelFirst) ?? false
            backend = try c.decodeIfPresent(String.self, forKey: .backend) ?? "cv2"
            maxPixels = try c.decodeIfPresent(Int.self, forKey: .maxPixels) ?? ImageCodec.defaultMaxPixels
        }
    }

    /// RGB (true) or BGR (false) channel order.
    public let toRGB: Bool
    /// Images with more pixels are refused from the header.
    public let maxPixels: Int
    /// Apply JPEG EXIF orientation (backend cv2).
    public let exifOrientation: Bool

    public init(_ options: Options = Options()) throws {
        try OptionsError.require(["cv2", "pil"].contains(options.backend.lowercased()), Self.name,
                                 "backend must be 'cv2' or 'pil', got '\(options.backend)'")
        try OptionsError.require(options.maxPixels > 0, Self.name, "max_pixels must be positive, got \(options.maxPixels)")
        toRGB = options.toRGB
        maxPixels = options.maxPixels
        exifOrientation = options.backend.lowercased() == "cv2"
    }

    public func apply(_ sample: inout Sample, rng: inout RandomState) throws {
        guard case .encoded(let bytes) = sample.payload else { return }
        sample.payload = .image(try ImageCodec.decode(bytes, path: sample.path, toRGB: toRGB, maxPixels: maxPixels,
                                                      exifOrientation: exifOrientation))
    }
}
