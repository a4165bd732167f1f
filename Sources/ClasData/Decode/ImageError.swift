/// Why an image could not be read, decoded or encoded; the description names the file and the reason.
public struct ImageError: Error, CustomStringConvertible, Equatable {
    /// The reason, in categories a caller can test for.
    public enum Reason: Equatable, Sendable {
        /// The file could not be read (missing, permissions, a folder).
        case unreadable(String)
        /// The file has no bytes.
        case empty
        /// The bytes are not an image format SwiftClas knows (the first bytes are shown).
        case unknownFormat(String)
        /// A recognised format that SwiftClas does not decode (GIF, TIFF, WebP, some BMP variants ...).
        case unsupportedFormat(String)
        /// The data ends early.
        case truncated(String)
        /// The decoder rejected the data.
        case corrupt(String)
        /// The header declares more pixels than allowed (decompression-bomb guard); nothing was allocated.
        case tooManyPixels(width: Int, height: Int, limit: Int)
        /// Encoding or writing failed.
        case encodeFailed(String)
    }

    /// The file (or a label such as `<memory>` for in-memory data).
    public let path: String
    /// What went wrong.
    public let reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .unreadable(let m): return "cannot read image \(path): \(m)"
        case .empty: return "cannot decode image \(path): the file is empty (0 bytes)"
        case .unknownFormat(let m): return "cannot decode image \(path): not a PNG, JPEG or BMP file (\(m))"
        case .unsupportedFormat(let m): return "cannot decode image \(path): unsupported format: \(m)"
        case .truncated(let m): return "cannot decode image \(path): truncated file: \(m)"
        case .corrupt(let m): return "cannot decode image \(path): corrupt data: \(m)"
        case .tooManyPixels(let w, let h, let limit):
            return "refusing to decode image \(path): \(w)x\(h) = \(w * h) pixels exceeds the limit of \(limit) "
                + "(possible decompression bomb; raise maxPixels / DecodeImage max_pixels if the file is trusted)"
        case .encodeFailed(let m): return "cannot write image \(path): \(m)"
        }
    }
}
