import CPNG

/// PNG decoding and encoding through libpng's simplified `png_image` API (errors come back in `image.message`;
/// libpng's longjmp never crosses into Swift).
///
/// Decoding always yields 8-bit, 3-channel pixels, as PIL's `convert('RGB')` and OpenCV's `IMREAD_COLOR` do:
/// gray is replicated, palettes are expanded, 16-bit samples are reduced to 8 bits (treated as sRGB-encoded, so a
/// sample `v` becomes `round(v / 257)`: at most 1 from OpenCV's high byte `v >> 8`; PIL instead clamps 16-bit
/// gray to 255), and **alpha (including tRNS transparency) is dropped, not composited** — the colour channels are
/// returned as stored. 8-bit files decode bit-identically to PIL and OpenCV (checked on gray, gray+alpha, RGB,
/// RGBA, palette+tRNS and 1-bit files). Files with a gAMA chunk far from
/// sRGB are gamma-corrected to sRGB by libpng (PIL and OpenCV ignore gAMA); this is rare in datasets.
enum PNGCodec {
    // PNG_FORMAT_* values from png.h (the composite macros are not imported into Swift).
    private static let alphaFlag = UInt32(PNG_FORMAT_FLAG_ALPHA)
    private static let formatRGB = UInt32(PNG_FORMAT_FLAG_COLOR)
    private static let formatRGBA = UInt32(PNG_FORMAT_FLAG_COLOR) | UInt32(PNG_FORMAT_FLAG_ALPHA)

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Decodes PNG bytes to RGB (or BGR when `bgr`), refusing images over `maxPixels` before allocating.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, bgr: Bool, maxPixels: Int) throws -> Image {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw ImageError(path: path, reason: .empty) }
        if let problem = oversizedChunk(bytes) { throw ImageError(path: path, reason: .truncated(problem)) }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, base, bytes.count) != 0 else {
            throw ImageError(path: path, reason: classify(message(of: &image), truncatedByDefault: bytes.count < 33))
        }
        let width = Int(image.width), height = Int(image.height)
        if width * height > maxPixels {
            throw ImageError(path: path, reason: .tooManyPixels(width: width, height: height, limit: maxPixels))
        }
        let hasAlpha = image.format & alphaFlag != 0
        image.format = hasAlpha ? formatRGBA : formatRGB
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        let srcChannels = hasAlpha ? 4 : 3
        var raw = [UInt8](repeating: 0, count: width * height * srcChannels)
        let ok = raw.withUnsafeMutableBytes { buf in
            png_image_finish_read(&image, nil, buf.baseAddress, Int32(width * srcChannels), nil)
        }
        guard ok != 0 else { throw ImageError(path: path, reason: classify(message(of: &image), truncatedByDefault: false)) }
        if !hasAlpha && !bgr { return Image(width: width, height: height, channels: 3, pixels: raw) }
        return Image(width: width, height: height, channels: 3) { out in
            raw.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                let (r, b) = bgr ? (2, 0) : (0, 2)
                var i = 0, o = 0
                for _ in 0..<(width * height) {
                    d[o] = s[i &+ r]
                    d[o &+ 1] = s[i &+ 1]
                    d[o &+ 2] = s[i &+ b]
                    i = i &+ srcChannels
                    o = o &+ 3
                }
            }
        }
    }

    /// Encodes an 8-bit image with 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels.
    static func encode(_ img: Image, path: String, fast: Bool = false) throws -> [UInt8] {
        let format: Int32
        switch img.channels {
        case 1: format = 0
        case 2: format = Int32(alphaFlag)
        case 3: format = Int32(formatRGB)
        case 4: format = Int32(formatRGBA)
        default:
            throw ImageError(path: path, reason: .encodeFailed("PNG needs 1, 2, 3 or 4 channels, got \(img.channels)"))
        }
        guard img.width > 0, img.height > 0 else {
            throw ImageError(path: path, reason: .encodeFailed("cannot encode an empty \(img.sizeDescription) image"))
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(img.width)
        image.height = UInt32(img.height)
        image.format = UInt32(format)
        if fast { image.flags |= UInt32(PNG_IMAGE_FLAG_FAST) }
        defer { png_image_free(&image) }
        // Worst case of a stored (uncompressed) stream plus headers; libpng reports the real size.
        var capacity = img.height * (img.rowLength + 1) + img.height * 16 + 1024
        var out = [UInt8](repeating: 0, count: capacity)
        let ok = img.pixels.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                png_image_write_to_memory(&image, dst.baseAddress, &capacity, 0, src.baseAddress, 0, nil)
            }
        }
        guard ok != 0 else { throw ImageError(path: path, reason: .encodeFailed(message(of: &image))) }
        out.removeSubrange(capacity...)
        return out
    }

    /// The first chunk (up to IEND) whose declared data length runs past the end of `b`, described; nil when all fit.
    /// libpng allocates and clears an ancillary chunk's declared length (up to 2^31 - 1 bytes, e.g. pCAL) before
    /// reading it, so a 60-byte file made it use 1.4 GB and seconds (found by `Fuzz/FuzzPNG`); the whole file is in
    /// memory, so such a chunk is truncated anyway and libpng would fail on it later.
    static func oversizedChunk(_ b: UnsafeRawBufferPointer) -> String? {
        var i = signature.count
        while i + 8 <= b.count {
            let length = Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
            let type = String(decoding: (4..<8).map { (32..<127).contains(b[i + $0]) ? b[i + $0] : UInt8(ascii: "?") },
                              as: UTF8.self)
            let available = b.count - i - 8
            if length > available { return "chunk \(type) declares \(length) bytes but only \(available) follow" }
            if type == "IEND" { return nil }
            i += 12 + length
        }
        return nil
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            let text = String(decoding: bytes, as: UTF8.self)
            return text.isEmpty ? "libpng reported an unspecified error" : text
        }
    }

    private static func classify(_ message: String, truncatedByDefault: Bool) -> ImageError.Reason {
        let m = message.lowercased()
        if truncatedByDefault || m.contains("end of") || m.contains("read beyond") || m.contains("truncated")
            || m.contains("not enough")
        {
            return .truncated(message)
        }
        return .corrupt(message)
    }
}
