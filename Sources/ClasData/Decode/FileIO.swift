import ClasTensor
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A file that could not be written; the description names the path and the reason.
public struct FileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

/// Whole-file reads and writes with errors that name the path and the system's reason.
public enum FileIO {
    /// Reads the whole file at `path`.
    public static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError(path: path, reason: .unreadable(String(cString: strerror(errno)))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ImageError(path: path, reason: .unreadable(String(cString: strerror(errno))))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw ImageError(path: path, reason: .unreadable("is a directory")) }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        var failure: String?
        bytes.withUnsafeMutableBytes { buf in
            guard let base = buf.baseAddress else { return }
            while offset < size {
                let n = Glibc.read(fd, base + offset, size - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                if n == 0 { break }  // the file shrank while reading
                offset += n
            }
        }
        if let failure { throw ImageError(path: path, reason: .unreadable(failure)) }
        if offset < size { bytes.removeSubrange(offset...) }
        return bytes
    }

    /// Writes `bytes` to `path` atomically (temporary file + rename, so readers never see a partial file).
    ///
    /// With `durable` (the default) the data and folder are fsynced through `AtomicFile`; without it the rename is
    /// still atomic but the data may be lost on power failure — for bulk outputs protected by a completion marker.
    public static func write(_ bytes: [UInt8], to path: String, durable: Bool = true) throws {
        if durable {
            try bytes.withUnsafeBytes { try AtomicFile.write([$0], to: path) }
            return
        }
        let tmp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FileError(path: path, reason: String(cString: strerror(errno)))
        }
        var failure: String?
        bytes.withUnsafeBytes { buf in
            guard let base = buf.baseAddress else { return }
            var offset = 0
            while offset < buf.count {
                let n = Glibc.write(fd, base + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        close(fd)
        if failure == nil, rename(tmp, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(tmp)
            throw FileError(path: path, reason: failure)
        }
    }
}
