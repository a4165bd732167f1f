import CJPEG
import Foundation

/// JPEG decoding and encoding through TurboJPEG.
///
/// Decoding uses libjpeg's defaults (accurate integer IDCT, fancy upsampling), as PIL and OpenCV do; pixels were
/// checked bit-identical to both for baseline 4:2:0 and 4:4:4, progressive and gray JPEGs. CMYK matches PIL exactly
/// (OpenCV's own conversion differs by at most 1). Gray JPEGs become 3 equal channels. CMYK and YCCK JPEGs are decoded
/// to CMYK and converted like PIL (`CMYK;I` raw mode, then `convert('RGB')`): the stored values are taken as
/// Adobe-inverted, so with stored `c, k` the red channel is `k - k*(255-c)/255` (PIL's integer rounding).
/// libjpeg warnings are tolerated (OpenCV and PIL decode such files too) except "premature end of file",
/// which is reported as a truncated image. EXIF orientation is handled by `ImageCodec` (`EXIFOrientation`).
enum JPEGCodec {
    /// Decodes JPEG bytes to RGB (or BGR when `bgr`), refusing images over `maxPixels` before allocating.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, bgr: Bool, maxPixels: Int) throws -> Image {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            throw ImageError(path: path, reason: .empty)
        }
        guard let handle = TurboJPEGHandles.decompressor() else {
            throw ImageError(path: path, reason: .corrupt("cannot create a TurboJPEG decompressor"))
        }
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        if tjDecompressHeader3(handle, base, UInt(bytes.count), &width, &height, &subsamp, &colorspace) != 0 {
            let failure = reason(handle, count: bytes.count, headerFailed: true)
            TurboJPEGHandles.discardDecompressor()
            throw ImageError(path: path, reason: failure)
        }
        let w = Int(width), h = Int(height)
        guard w > 0, h > 0 else { throw ImageError(path: path, reason: .corrupt("image size \(w)x\(h)")) }
        if w * h > maxPixels {
            throw ImageError(path: path, reason: .tooManyPixels(width: w, height: h, limit: maxPixels))
        }
        let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        if isCMYK {
            var cmyk = [UInt8](repeating: 0, count: w * h * 4)
            let rc = cmyk.withUnsafeMutableBufferPointer { out in
                tjDecompress2(handle, base, UInt(bytes.count), out.baseAddress, width, 0, height,
                              Int32(TJPF_CMYK.rawValue), 0)
            }
            if rc != 0, let failure = failureReason(handle, count: bytes.count) {
                TurboJPEGHandles.discardDecompressor()
                throw ImageError(path: path, reason: failure)
            }
            return convertInvertedCMYK(cmyk, width: w, height: h, bgr: bgr)
        }
        let format = Int32(bgr ? TJPF_BGR.rawValue : TJPF_RGB.rawValue)
        var failure: ImageError.Reason?
        let img = Image(width: w, height: h, channels: 3) { out in
            let rc = tjDecompress2(handle, base, UInt(bytes.count), out.baseAddress, width, 0, height, format, 0)
            if rc != 0 { failure = failureReason(handle, count: bytes.count) }
        }
        if let failure {
            TurboJPEGHandles.discardDecompressor()
            throw ImageError(path: path, reason: failure)
        }
        return img
    }

    /// Encodes gray (1 channel), RGB (3) or, with `cmyk`, 4-channel CMYK pixels at `quality` (1...100); colour
    /// uses 4:2:0 chroma subsampling like PIL's default, CMYK is stored as YCCK.
    static func encode(_ img: Image, path: String, quality: Int, cmyk: Bool = false) throws -> [UInt8] {
        guard (1...100).contains(quality) else {
            throw ImageError(path: path, reason: .encodeFailed("JPEG quality must be 1...100, got \(quality)"))
        }
        guard img.width > 0, img.height > 0 else {
            throw ImageError(path: path, reason: .encodeFailed("cannot encode an empty \(img.sizeDescription) image"))
        }
        let format: TJPF, subsamp: TJSAMP
        switch (img.channels, cmyk) {
        case (1, false): (format, subsamp) = (TJPF_GRAY, TJSAMP_GRAY)
        case (3, false): (format, subsamp) = (TJPF_RGB, TJSAMP_420)
        case (4, true): (format, subsamp) = (TJPF_CMYK, TJSAMP_420)
        default:
            throw ImageError(path: path, reason: .encodeFailed(
                "JPEG needs 1 (gray) or 3 (RGB) channels, or 4 with cmyk; got \(img.channels) (cmyk: \(cmyk))"))
        }
        guard let handle = tjInitCompress() else {
            throw ImageError(path: path, reason: .encodeFailed("cannot create a TurboJPEG compressor"))
        }
        defer { tjDestroy(handle) }
        var jpeg: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        defer { if let jpeg { tjFree(jpeg) } }
        let rc = img.pixels.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(img.width), 0, Int32(img.height), Int32(format.rawValue),
                        &jpeg, &size, Int32(subsamp.rawValue), Int32(quality), 0)
        }
        guard rc == 0, let jpeg else {
            throw ImageError(path: path, reason: .encodeFailed(String(cString: tjGetErrorStr2(handle))))
        }
        return Array(UnsafeBufferPointer(start: jpeg, count: Int(size)))
    }

    /// PIL's CMYK -> RGB for Adobe-inverted data: with stored c and k, out = k - muldiv255(255 - c, k).
    static func convertInvertedCMYK(_ cmyk: [UInt8], width: Int, height: Int, bgr: Bool) -> Image {
        Image(width: width, height: height, channels: 3) { out in
            cmyk.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                let (r, b) = bgr ? (2, 0) : (0, 2)
                for p in 0..<(width * height) {
                    let i = p &* 4, o = p &* 3
                    let nk = Int(s[i &+ 3])
                    @inline(__always) func channel(_ stored: UInt8) -> UInt8 {
                        let t = (255 &- Int(stored)) &* nk &+ 128
                        let v = nk &- (((t >> 8) &+ t) >> 8)
                        return UInt8(clamping: v)
                    }
                    d[o &+ r] = channel(s[i])
                    d[o &+ 1] = channel(s[i &+ 1])
                    d[o &+ b] = channel(s[i &+ 2])
                }
            }
        }
    }

    /// The reason for a failed header read.
    private static func reason(_ handle: tjhandle, count: Int, headerFailed: Bool) -> ImageError.Reason {
        let message = String(cString: tjGetErrorStr2(handle))
        let m = message.lowercased()
        if m.contains("premature end") || m.contains("unexpected end") || count < 128 && m.contains("end of") {
            return .truncated(message)
        }
        return .corrupt(message)
    }

    /// The error for a failed decompression, or nil when it was only a tolerated warning.
    private static func failureReason(_ handle: tjhandle, count: Int) -> ImageError.Reason? {
        let message = String(cString: tjGetErrorStr2(handle))
        if message.lowercased().contains("premature end") { return .truncated(message) }
        if tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) { return nil }
        return .corrupt(message)
    }
}

/// One TurboJPEG decompressor per thread, created on first use and destroyed when the thread exits (or after a
/// failed decode: TurboJPEG 2.1 handles are not reliably reusable after an error).
enum TurboJPEGHandles {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { handle in _ = tjDestroy(handle) }
        return key
    }()

    /// This thread's decompressor.
    static func decompressor() -> tjhandle? {
        if let existing = pthread_getspecific(key) { return existing }
        guard let handle = tjInitDecompress() else { return nil }
        pthread_setspecific(key, handle)
        return handle
    }

    /// Destroys this thread's decompressor; the next call to `decompressor()` makes a fresh one.
    static func discardDecompressor() {
        guard let existing = pthread_getspecific(key) else { return }
        pthread_setspecific(key, nil)
        tjDestroy(existing)
    }
}
