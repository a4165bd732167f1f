import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes files so that a crash, a kill or a full disk never leaves a half-written file at the destination:
/// the bytes go to a temporary file in the same folder, are flushed with fsync, and replace the destination by
/// rename (atomic on POSIX), after which the folder is fsynced too.
public enum AtomicFile {
    /// An error that names the path and the failing step.
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    /// Writes `chunks` in order to `path` atomically.
    public static func write(_ chunks: [UnsafeRawBufferPointer], to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let folder = dir.isEmpty ? "." : dir
        if !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw WriteError(path: path, reason: "cannot create folder \(folder): \(error.localizedDescription)")
            }
        }
        let tmp = "\(path).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        for chunk in chunks {
            guard let base = chunk.baseAddress else { continue }
            var offset = 0
            while offset < chunk.count {
                let n = Glibc.write(fd, base + offset, chunk.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    close(fd)
                    throw WriteError(path: path, reason: reason)
                }
                offset += n
            }
        }
        if fsync(fd) != 0 {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw WriteError(path: path, reason: "fsync failed: \(reason)")
        }
        close(fd)
        if rename(tmp, path) != 0 { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        ok = true
        let dfd = open(folder, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try data.withUnsafeBytes { try write([$0], to: path) }
    }

    /// Writes UTF-8 `text` to `path` atomically.
    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }
}
