import ClasData

/// The check shared by the image fuzzers.
public enum FuzzImage {
    /// Pixel limit for the fuzzers: larger headers are refused before allocation (as with `Global.max_image_pixels`),
    /// which keeps each run inside libFuzzer's memory limit while still testing the refusal path.
    public static let maxPixels = 1 << 22

    /// Decodes `bytes`: the result must be a consistent 3-channel image, or an `ImageError` naming the path.
    public static func check(_ bytes: [UInt8], toRGB: Bool, exifOrientation: Bool = false) {
        do {
            let image = try ImageCodec.decode(bytes, path: "fuzz-input", toRGB: toRGB, maxPixels: maxPixels,
                                              exifOrientation: exifOrientation)
            if image.width <= 0 || image.height <= 0 || image.channels != 3
                || image.pixels.count != image.width * image.height * 3 {
                fatalError("decoded to an inconsistent image \(image.width)x\(image.height)x\(image.channels), "
                           + "\(image.pixels.count) bytes")
            }
        } catch let error as ImageError {
            if error.path != "fuzz-input" { fatalError("error names \(error.path)") }
        } catch {
            fatalError("not an ImageError: \(type(of: error)): \(error)")
        }
    }
}
