/// An encoded image format, recognised by its magic number (never by the file extension).
public enum ImageFormat: String, Sendable {
    case png, jpeg, bmp
}

/// Decoding (PNG, JPEG, BMP) and encoding (PNG, JPEG) of 8-bit images.
///
/// Decoders always return 3 channels in RGB order (BGR with `toRGB: false`, OpenCV's order). Errors are
/// `ImageError`s naming `path` (use the file's path, or a label for in-memory data).
public enum ImageCodec {
    /// The pixel limit used when an op or a call gives none: larger images are refused from the header, before any
    /// allocation. PIL's `Image.MAX_IMAGE_PIXELS` by default; the engine sets it from `Global.max_image_pixels`
    /// before building the transform ops.
    nonisolated(unsafe) public static var defaultMaxPixels = 89_478_485

    /// The format of `bytes`, or an error saying what the bytes look like instead.
    public static func sniff(_ bytes: UnsafeRawBufferPointer, path: String) throws -> ImageFormat {
        let n = bytes.count
        guard n > 0 else { throw ImageError(path: path, reason: .empty) }
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            n >= offset + magic.count && magic.indices.allSatisfy { bytes[offset + $0] == magic[$0] }
        }
        if starts(PNGCodec.signature) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x42, 0x4D]) && n >= 14 { return .bmp }
        if starts(Array("GIF8".utf8)) { throw ImageError(path: path, reason: .unsupportedFormat("GIF")) }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) {
            throw ImageError(path: path, reason: .unsupportedFormat("TIFF"))
        }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) {
            throw ImageError(path: path, reason: .unsupportedFormat("WebP"))
        }
        let isSignaturePrefix = { (signature: [UInt8]) in n < signature.count && signature.starts(with: bytes) }
        if isSignaturePrefix(PNGCodec.signature) || isSignaturePrefix([0xFF, 0xD8, 0xFF]) {
            throw ImageError(path: path, reason: .truncated("only \(n) bytes, the signature is cut short"))
        }
        let head = bytes.prefix(8).map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
        let looksLikeText = bytes.prefix(64).allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || (32..<127).contains($0) }
        throw ImageError(path: path, reason: .unknownFormat(
            looksLikeText ? "looks like a text file" : "starts with bytes \(head)"))
    }

    /// Decodes `bytes` (PNG, JPEG or BMP, detected from the magic number).
    /// - Parameters:
    ///   - path: the name used in error messages.
    ///   - toRGB: RGB channel order when true, BGR (OpenCV's order) when false.
    ///   - maxPixels: images with more pixels are refused from the header.
    ///   - exifOrientation: turn JPEGs upright by their EXIF orientation, as OpenCV's `imdecode` does (PIL's
    ///     `convert('RGB')` does not).
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, path: String = "<memory>", toRGB: Bool = true,
        maxPixels: Int = defaultMaxPixels, exifOrientation: Bool = false
    ) throws -> Image {
        switch try sniff(bytes, path: path) {
        case .png: return try PNGCodec.decode(bytes, path: path, bgr: !toRGB, maxPixels: maxPixels)
        case .jpeg:
            let image = try JPEGCodec.decode(bytes, path: path, bgr: !toRGB, maxPixels: maxPixels)
            guard exifOrientation, let orientation = EXIFOrientation.read(jpeg: bytes) else { return image }
            return EXIFOrientation.apply(orientation, to: image)
        case .bmp: return try BMPCodec.decode(bytes, path: path, bgr: !toRGB, maxPixels: maxPixels)
        }
    }

    /// Decodes an encoded image held in an array.
    public static func decode(
        _ bytes: [UInt8], path: String = "<memory>", toRGB: Bool = true, maxPixels: Int = defaultMaxPixels,
        exifOrientation: Bool = false
    ) throws -> Image {
        try bytes.withUnsafeBytes {
            try decode($0, path: path, toRGB: toRGB, maxPixels: maxPixels, exifOrientation: exifOrientation)
        }
    }

    /// Reads and decodes the file at `path` (see `decode` for the options).
    public static func decodeFile(_ path: String, toRGB: Bool = true, maxPixels: Int = defaultMaxPixels,
                                  exifOrientation: Bool = false) throws -> Image {
        try decode(try FileIO.read(path), path: path, toRGB: toRGB, maxPixels: maxPixels, exifOrientation: exifOrientation)
    }

    /// PNG bytes of an 8-bit gray (1 channel), gray+alpha (2), RGB (3) or RGBA (4) image.
    /// - Parameter fast: trade file size for speed (libpng's `PNG_IMAGE_FLAG_FAST`).
    public static func encodePNG(_ image: Image, fast: Bool = false) throws -> [UInt8] {
        try PNGCodec.encode(image, path: "<memory>", fast: fast)
    }

    /// Writes `image` as a PNG file atomically (see `FileIO.write` for `durable`).
    public static func writePNG(_ image: Image, to path: String, durable: Bool = true, fast: Bool = false) throws {
        try FileIO.write(try PNGCodec.encode(image, path: path, fast: fast), to: path, durable: durable)
    }

    /// JPEG bytes of a gray (1 channel) or RGB (3) image; with `cmyk`, of 4-channel CMYK pixels (stored as YCCK).
    /// - Parameter quality: 1...100 (libjpeg's scale; 95 is near-lossless, 75 is PIL's default).
    public static func encodeJPEG(_ image: Image, quality: Int = 95, cmyk: Bool = false) throws -> [UInt8] {
        try JPEGCodec.encode(image, path: "<memory>", quality: quality, cmyk: cmyk)
    }

    /// Writes `image` as a JPEG file atomically (see `FileIO.write` for `durable`).
    public static func writeJPEG(_ image: Image, to path: String, quality: Int = 95, durable: Bool = true) throws {
        try FileIO.write(try JPEGCodec.encode(image, path: path, quality: quality), to: path, durable: durable)
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
