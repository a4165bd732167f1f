import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The cache folder's contents: verified files with their recorded SHA-256 (`<file>.sha256`) and partial downloads.
public struct HubCache {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// A file in the cache.
    public struct Entry: Equatable {
        /// The path relative to the cache folder (`hub/owner/name/revision/file` or `url/host/path`).
        public let key: String
        public let path: URL
        public let size: Int64
        /// The SHA-256 recorded when the file was verified, nil when missing (the file will not be used).
        public let recordedSHA256: String?
        /// A partial download (`.incomplete`), kept for resuming.
        public let isPartial: Bool
    }

    /// Every cached file and partial download, sorted by key.
    public func entries() -> [Entry] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey])
        else { return [] }
        var result: [Entry] = []
        let rootPath = root.standardizedFileURL.path
        for case let url as URL in walker {
            let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey])
            guard values?.isRegularFile == true else { continue }
            let name = url.lastPathComponent
            if name.hasSuffix(".sha256") || name.hasSuffix(".lock") { continue }
            var key = url.standardizedFileURL.path
            if key.hasPrefix(rootPath + "/") { key.removeFirst(rootPath.count + 1) }
            let partial = name.hasSuffix(".incomplete")
            result.append(Entry(key: key, path: url, size: Int64(values?.fileSize ?? 0),
                                recordedSHA256: partial ? nil : Self.recordedSHA256(for: url), isPartial: partial))
        }
        return result.sorted { $0.key < $1.key }
    }

    /// Re-hashes a cached file: nil when it matches its recorded SHA-256, else why not.
    public static func problem(with entry: Entry) -> String? {
        if entry.isPartial { return "partial download" }
        guard let recorded = entry.recordedSHA256 else { return "no recorded checksum" }
        guard let actual = try? FileDigest.sha256(of: entry.path) else { return "unreadable" }
        return actual == recorded ? nil : "SHA-256 \(actual) differs from the recorded \(recorded)"
    }

    static func sidecar(_ file: URL) -> URL { URL(fileURLWithPath: file.path + ".sha256") }

    /// The SHA-256 recorded for a cached file.
    public static func recordedSHA256(for file: URL) -> String? {
        guard let text = try? String(contentsOf: sidecar(file), encoding: .utf8) else { return nil }
        return FileDigest.normalizedSHA256(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Records a verified SHA-256 (written to a temporary file and renamed).
    static func record(sha256: String, for file: URL) throws {
        let side = sidecar(file)
        let temp = URL(fileURLWithPath: side.path + ".tmp")
        do {
            try Data((sha256 + "\n").utf8).write(to: temp)
        } catch {
            throw HubError.io(path: temp.path, reason: "cannot write: \(error.localizedDescription)")
        }
        guard rename(temp.path, side.path) == 0 else {
            throw HubError.io(path: side.path, reason: "cannot write: \(String(cString: strerror(errno)))")
        }
    }

    /// Deletes a cached file and its recorded checksum.
    public static func remove(_ file: URL) {
        try? FileManager.default.removeItem(at: sidecar(file))
        try? FileManager.default.removeItem(at: file)
    }
}

/// An exclusive `flock` on `<file>.lock`, so two processes do not write the same download.
final class CacheLock {
    private var fd: Int32

    init(_ path: URL) throws {
        fd = open(path.path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HubError.io(path: path.path, reason: "cannot create the lock file") }
        guard flock(fd, LOCK_EX) == 0 else {
            close(fd)
            throw HubError.io(path: path.path, reason: "cannot lock")
        }
    }

    func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
