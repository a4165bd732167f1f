import Crypto
import Foundation

/// SHA-256 of files (streamed through swift-crypto) and the hub's ETag convention.
public enum FileDigest {
    /// The lowercase hex SHA-256 of a file's bytes, read in 1 MiB chunks.
    public static func sha256(of path: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path.path) else {
            throw HubError.io(path: path.path, reason: "cannot open for reading")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw HubError.io(path: path.path, reason: "read failed: \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        return hex(hasher.finalize())
    }

    /// The lowercase hex SHA-256 of bytes.
    public static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// The SHA-256 an ETag value carries, or nil: strips a weak `W/` prefix and quotes; the hub's LFS files have
    /// 64-hex ETags (their SHA-256), other files a git blob hash (40 hex), which is not a SHA-256 of the bytes.
    public static func sha256(fromETag raw: String?) -> String? {
        guard var s = raw?.trimmingCharacters(in: .whitespaces) else { return nil }
        if s.hasPrefix("W/") { s.removeFirst(2) }
        s = s.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return normalizedSHA256(s)
    }

    /// A lowercase 64-hex string, or nil when `s` is not one.
    public static func normalizedSHA256(_ s: String) -> String? {
        let l = s.lowercased()
        guard l.count == 64, l.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) })
        else { return nil }
        return l
    }
}
