import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Fetches weight files into the cache, verified.
///
/// A cached file is used only when its SHA-256 still matches the one recorded (in `<file>.sha256`) when it was
/// verified, and the pinned one if given; otherwise it is deleted and fetched again (or refused offline). A download
/// first asks for the headers (HEAD, redirects followed by hand) to learn the SHA-256 the hub announces
/// (`X-Linked-Etag`, else `ETag`, when it is a 64-hex value) and the size, then streams the body into
/// `<file>.<sha256>.incomplete`, resuming an existing part with `Range: bytes=N-`. The complete part is hashed, and
/// moved into place (one rename) only when it matches.
public final class HubDownloader {
    public let environment: HubEnvironment
    public let progressStyle: DownloadProgress.Style
    /// Longest wait for data from the server, in seconds.
    public var timeout: TimeInterval = 60

    public init(environment: HubEnvironment = .current(), progress: DownloadProgress.Style = .automatic) {
        self.environment = environment
        self.progressStyle = progress
    }

    /// Where `file` is (or would be) cached.
    public func cachePath(_ file: HubFile) -> URL { environment.cacheDirectory.appendingPathComponent(file.cacheKey) }

    /// The local path of a verified copy of `file`, downloading it unless a verified copy is cached.
    /// `sha256` pins the expected checksum; `force` downloads again even when cached.
    @discardableResult
    public func fetch(_ file: HubFile, sha256 pinned: String? = nil, force: Bool = false) throws -> URL {
        let pin = try pinned.map { p -> String in
            guard let n = FileDigest.normalizedSHA256(p) else { throw HubError.invalidName("'\(p)' is not a SHA-256") }
            return n
        }
        let target = cachePath(file)
        let folder = target.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw HubError.io(path: folder.path, reason: "cannot create the cache folder: \(error.localizedDescription)")
        }
        let lock = try CacheLock(URL(fileURLWithPath: target.path + ".lock"))
        defer { lock.release() }

        if !force, let cached = try verifiedCachedCopy(file, pin: pin) { return cached }
        if let variable = environment.offlineVariable {
            throw HubError.offlineNotCached(url: file.url.absoluteString, path: target.path, variable: variable)
        }
        return try download(file, to: target, pin: pin)
    }

    /// The cached copy if it verifies; deletes a copy that does not (reporting it on stderr).
    func verifiedCachedCopy(_ file: HubFile, pin: String?) throws -> URL? {
        let target = cachePath(file)
        guard FileManager.default.fileExists(atPath: target.path) else { return nil }
        let recorded = HubCache.recordedSHA256(for: target)
        let actual = try FileDigest.sha256(of: target)
        if let recorded, recorded == actual, pin == nil || pin == actual { return target }
        let why = recorded == nil ? "has no recorded checksum"
            : recorded != actual ? "does not match its recorded checksum" : "does not match the pinned checksum"
        let then = environment.isOffline ? "" : " and fetching it again"
        FileHandle.standardError.write(Data("cached \(target.path) \(why); deleting it\(then)\n".utf8))
        HubCache.remove(target)
        return nil
    }

    private func download(_ file: HubFile, to target: URL, pin: String?) throws -> URL {
        let url = file.url.absoluteString
        let head = try follow(file.url, method: "HEAD", headers: [:])
        // A server that refuses HEAD (405, 501) is asked with GET only: no announced checksum or size then.
        let headless = head.status == 405 || head.status == 501
        guard head.status == 200 || headless else { throw statusError(head.status, url: url) }
        let announced = headless ? nil : FileDigest.sha256(fromETag: head.linkedETag ?? head.etag)
        let size = headless ? nil : head.size
        if let pin, let announced, pin != announced { throw HubError.pinMismatch(url: url, pinned: pin, server: announced) }
        let expected = pin ?? announced

        let partial = URL(fileURLWithPath: target.path + "." + (expected ?? "unverified") + ".incomplete")
        var offset = fileSize(partial) ?? 0
        if let size, offset > size { HubCache.remove(partial); offset = 0 }
        if size == nil || offset < size! {
            do {
                offset = try transfer(file.url, into: partial, offset: offset, size: size)
            } catch HubError.httpStatus(_, 416) where offset > 0 {
                HubCache.remove(partial)  // the part is not a prefix the server recognises: start over
                offset = try transfer(file.url, into: partial, offset: 0, size: size)
            }
        }
        if let size, offset < size {
            throw HubError.truncated(url: url, received: offset, expected: size, partial: partial.path)
        }
        let actual = try FileDigest.sha256(of: partial)
        if let expected, actual != expected {
            HubCache.remove(partial)
            let source = pin != nil ? "the pinned checksum" : "the server's ETag"
            throw HubError.checksumMismatch(url: url, expected: expected, actual: actual, source: source)
        }
        try HubCache.record(sha256: actual, for: target)
        guard rename(partial.path, target.path) == 0 else {
            throw HubError.io(path: target.path, reason: "cannot move the download into place: \(String(cString: strerror(errno)))")
        }
        return target
    }

    /// Streams the body into `partial` from `offset`; returns the size of `partial` afterwards.
    private func transfer(_ url: URL, into partial: URL, offset start: Int64, size: Int64?) throws -> Int64 {
        var offset = start
        if offset == 0 || !FileManager.default.fileExists(atPath: partial.path) {
            guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
                throw HubError.io(path: partial.path, reason: "cannot create the download file")
            }
            offset = 0
        }
        guard let handle = FileHandle(forWritingAtPath: partial.path) else {
            throw HubError.io(path: partial.path, reason: "cannot open the download file")
        }
        defer { try? handle.close() }
        let progress = DownloadProgress(label: file(url), style: progressStyle)
        var base = offset
        let headers = offset > 0 ? ["Range": "bytes=\(offset)-"] : [:]
        let response = try follow(url, method: "GET", headers: headers, begin: { r in
            guard r.status == 200 || r.status == 206 else { return }
            if r.status == 206 {
                guard r.contentRangeStart == offset else {
                    throw HubError.io(path: partial.path, reason: "the server resumed at another offset than \(offset)")
                }
                try handle.seek(toOffset: UInt64(offset))
            } else {
                try handle.truncate(atOffset: 0)
                base = 0
            }
            progress.begin(offset: base, total: size ?? r.contentLength.map { $0 + base })
        }, sink: { data in try handle.write(contentsOf: data) }, onBytes: { progress.update(base + $0) })
        try? handle.synchronize()
        let now = fileSize(partial) ?? 0
        guard response.status == 200 || response.status == 206 else {
            throw statusError(response.status, url: url.absoluteString)
        }
        if let error = response.error {
            if let hub = error as? HubError { throw hub }
            progress.finish("download interrupted at \(DownloadProgress.megabytes(now))")
            if now > 0 {
                throw HubError.truncated(url: url.absoluteString, received: now, expected: size, partial: partial.path)
            }
            throw HubError.connection(url: url.absoluteString, reason: HTTPTransfer.describe(error))
        }
        progress.finish("downloaded \(file(url)) (\(DownloadProgress.megabytes(now)))")
        return now
    }

    /// Performs a request, following up to 10 redirects with the same headers; `begin` sees the final response's
    /// headers before any body byte reaches `sink`.
    private func follow(_ start: URL, method: String, headers: [String: String],
                        begin: ((HTTPTransfer.Response) throws -> Void)? = nil,
                        sink: ((Data) throws -> Void)? = nil, onBytes: ((Int64) -> Void)? = nil) throws -> Hop {
        var url = start
        var linkedETag: String?
        var linkedSize: Int64?
        for _ in 0...HTTPTransfer.maxRedirects {
            let result = HTTPTransfer.perform(url, method: method, headers: headers, timeout: timeout,
                                              onResponse: begin, sink: sink, onBytes: onBytes)
            let r: HTTPTransfer.Response
            switch result {
            case .success(let ok): r = ok
            case .failure(let error):
                if let hub = error as? HubError { throw hub }
                throw HubError.connection(url: url.absoluteString, reason: HTTPTransfer.describe(error))
            }
            linkedETag = linkedETag ?? r.header("X-Linked-Etag")
            linkedSize = linkedSize ?? r.header("X-Linked-Size").flatMap { Int64($0) }
            if [301, 302, 303, 307, 308].contains(r.status), let location = r.header("Location"),
               let next = URL(string: location, relativeTo: url)?.absoluteURL {
                url = next
                continue
            }
            return Hop(status: r.status, linkedETag: linkedETag, etag: r.header("ETag"),
                       size: linkedSize ?? r.contentLength, error: r.error)
        }
        throw HubError.tooManyRedirects(url: start.absoluteString)
    }

    struct Hop {
        var status: Int
        var linkedETag: String?
        var etag: String?
        var size: Int64?
        var error: Error?
    }

    private func statusError(_ status: Int, url: String) -> HubError {
        switch status {
        case 401, 403, 404: return .notFound(url: url, status: status)
        case 500...599: return .serverError(url: url, status: status)
        default: return .httpStatus(url: url, status: status)
        }
    }

    private func file(_ url: URL) -> String { url.lastPathComponent }

    private func fileSize(_ url: URL) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value
    }
}
