@testable import ClasHub
import Foundation
import XCTest

/// The downloader against a local hub on 127.0.0.1 (LocalHubServer): verification, redirects, resuming, errors,
/// offline mode and the cache.
final class HubDownloadTests: XCTestCase {
    let repo = "timm/tiny_net.test_in1k"
    let path = "/timm/tiny_net.test_in1k/resolve/main/model.safetensors"
    var cache: URL!

    override func setUpWithError() throws {
        cache = FileManager.default.temporaryDirectory.appendingPathComponent("clashub-cache-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: cache) }

    /// 300 kB of deterministic bytes (several chunks, so a truncation falls mid-body).
    let content: Data = {
        var state: UInt32 = 12345
        return Data((0..<300_000).map { _ -> UInt8 in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        })
    }()

    func downloader(_ server: LocalHubServer?, offline: String? = nil, port: Int? = nil) -> HubDownloader {
        let endpoint = server?.endpoint ?? "http://127.0.0.1:\(port ?? 9)"
        let d = HubDownloader(environment: HubEnvironment(endpoint: endpoint, cacheDirectory: cache, offlineVariable: offline),
                              progress: .silent)
        d.timeout = 20
        return d
    }

    func file(_ d: HubDownloader) throws -> HubFile {
        try HubFile.hub(repo: repo, filename: "model.safetensors", endpoint: d.environment.endpoint)
    }

    func testLFSRedirectVerifiedByLinkedETagAndCached() throws {
        let server = try LocalHubServer(files: [path: (content, "lfs")])
        defer { server.stop() }
        let d = downloader(server)
        let local = try d.fetch(try file(d))
        XCTAssertEqual(try Data(contentsOf: local), content)
        XCTAssertEqual(local.path, cache.appendingPathComponent("hub/\(repo)/main/model.safetensors").path)
        XCTAssertEqual(HubCache.recordedSHA256(for: local), FileDigest.sha256(content))
        let requests = server.requests
        XCTAssertEqual(requests.first, "HEAD \(path) -")
        XCTAssertTrue(requests.contains { $0.hasPrefix("GET /cdn/") }, "\(requests)")
        // Cached and verified: no further request.
        XCTAssertEqual(try d.fetch(try file(d)), local)
        XCTAssertEqual(server.requests.count, requests.count)
        XCTAssertFalse(FileManager.default.fileExists(atPath: local.path + ".\(FileDigest.sha256(content)).incomplete"))
    }

    func testPlainFileVerifiedByETag() throws {
        let server = try LocalHubServer(files: [path: (content, "plain")])
        defer { server.stop() }
        let d = downloader(server)
        XCTAssertEqual(try Data(contentsOf: try d.fetch(try file(d))), content)
    }

    func testFileWithoutSHA256ETagIsSizeCheckedAndRecorded() throws {
        let server = try LocalHubServer(files: [path: (content, "nohash")])
        defer { server.stop() }
        let d = downloader(server)
        let local = try d.fetch(try file(d))
        XCTAssertEqual(HubCache.recordedSHA256(for: local), FileDigest.sha256(content))
    }

    func testServerWithoutHEADAndAStalePartAnswered416() throws {
        let server = try LocalHubServer(files: [path: (content, "nohead")])
        defer { server.stop() }
        let d = downloader(server)
        // A part longer than the file: its Range is unsatisfiable (416), so the download starts over.
        let partial = d.cachePath(try file(d)).path + ".unverified.incomplete"
        try FileManager.default.createDirectory(atPath: (partial as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try (content + Data(count: 10)).write(to: URL(fileURLWithPath: partial))
        let local = try d.fetch(try file(d))
        XCTAssertEqual(try Data(contentsOf: local), content)
        XCTAssertEqual(server.requests, ["HEAD \(path) -", "GET \(path) bytes=\(content.count + 10)-", "GET \(path) -"])
    }

    func testTruncatedBodyIsKeptAndResumedWithRange() throws {
        let server = try LocalHubServer(files: [path: (content, "truncate-once")])
        defer { server.stop() }
        let d = downloader(server)
        XCTAssertThrowsError(try d.fetch(try file(d))) { error in
            guard case HubError.truncated(let url, let received, let expected, let partial)? = error as? HubError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(url.hasPrefix(server.endpoint))
            XCTAssertEqual(received, Int64(content.count / 2))
            XCTAssertEqual(expected, Int64(content.count))
            XCTAssertTrue(partial.hasSuffix(".incomplete"))
            XCTAssertTrue("\(error)".contains("run the same command again to resume"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.cachePath(try file(d)).path))
        let local = try d.fetch(try file(d))
        XCTAssertEqual(try Data(contentsOf: local), content)
        XCTAssertTrue(server.requests.contains { $0.hasPrefix("GET /cdn/") && $0.hasSuffix("bytes=\(content.count / 2)-") },
                      "\(server.requests)")
    }

    func testNotFoundNamesTheURL() throws {
        let server = try LocalHubServer(files: [:])
        defer { server.stop() }
        let d = downloader(server)
        XCTAssertThrowsError(try d.fetch(try file(d))) { error in
            XCTAssertEqual(error as? HubError, .notFound(url: server.endpoint + path, status: 404))
            XCTAssertTrue("\(error)".contains("404 Not Found"))
        }
    }

    func testServerErrorSaysTryLater() throws {
        let server = try LocalHubServer(files: [path: (content, "503")])
        defer { server.stop() }
        let d = downloader(server)
        XCTAssertThrowsError(try d.fetch(try file(d))) { error in
            XCTAssertEqual(error as? HubError, .serverError(url: server.endpoint + path, status: 503))
            XCTAssertTrue("\(error)".contains("try again later"))
        }
    }

    func testWrongChecksumIsRefusedAndDeleted() throws {
        let server = try LocalHubServer(files: [path: (content, "badsum")])
        defer { server.stop() }
        let d = downloader(server)
        XCTAssertThrowsError(try d.fetch(try file(d))) { error in
            guard case HubError.checksumMismatch(_, _, let actual, let source)? = error as? HubError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(actual, FileDigest.sha256(content))
            XCTAssertEqual(source, "the server's ETag")
        }
        let folder = d.cachePath(try file(d)).deletingLastPathComponent()
        let left = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        XCTAssertEqual(left.filter { !$0.hasSuffix(".lock") }, [])
    }

    func testPinnedChecksum() throws {
        let server = try LocalHubServer(files: [path: (content, "lfs")])
        defer { server.stop() }
        let d = downloader(server)
        let other = FileDigest.sha256(Data("other".utf8))
        XCTAssertThrowsError(try d.fetch(try file(d), sha256: other)) { error in
            XCTAssertEqual(error as? HubError, .pinMismatch(url: server.endpoint + path, pinned: other,
                                                            server: FileDigest.sha256(content)))
        }
        let local = try d.fetch(try file(d), sha256: FileDigest.sha256(content).uppercased())
        XCTAssertEqual(try Data(contentsOf: local), content)
        // A cached file that does not match a new pin is not used (and, here, fails again against the server).
        XCTAssertThrowsError(try d.fetch(try file(d), sha256: other))
    }

    func testCorruptCachedFileIsRefetched() throws {
        let server = try LocalHubServer(files: [path: (content, "lfs")])
        defer { server.stop() }
        let d = downloader(server)
        let local = try d.fetch(try file(d))
        var bad = content
        bad[1000] ^= 0xFF
        try bad.write(to: local)
        let before = server.requests.count
        XCTAssertEqual(try Data(contentsOf: try d.fetch(try file(d))), content)
        XCTAssertGreaterThan(server.requests.count, before)
        // A truncated cached file too.
        try content.prefix(100).write(to: local)
        XCTAssertEqual(try Data(contentsOf: try d.fetch(try file(d))), content)
    }

    func testOfflineUsesTheCacheOnly() throws {
        let server = try LocalHubServer(files: [path: (content, "lfs")])
        defer { server.stop() }
        let offline = downloader(server, offline: "HF_HUB_OFFLINE")
        XCTAssertThrowsError(try offline.fetch(try file(offline))) { error in
            guard case HubError.offlineNotCached(let url, _, let variable)? = error as? HubError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(url, server.endpoint + path)
            XCTAssertEqual(variable, "HF_HUB_OFFLINE")
            XCTAssertTrue("\(error)".contains("Unset HF_HUB_OFFLINE"))
        }
        XCTAssertEqual(server.requests, [])
        let online = downloader(server)
        let local = try online.fetch(try file(online))
        let count = server.requests.count
        XCTAssertEqual(try offline.fetch(try file(offline)), local)
        XCTAssertEqual(server.requests.count, count)
        // A corrupt cached copy is refused offline, not used.
        try content.prefix(10).write(to: local)
        XCTAssertThrowsError(try offline.fetch(try file(offline)))
        XCTAssertEqual(server.requests.count, count)
    }

    func testConnectionRefused() throws {
        // A port that was free a moment ago: nothing listens there.
        let server = try LocalHubServer(files: [:], lifetime: 1)
        let port = server.port
        server.stop()
        Thread.sleep(forTimeInterval: 0.3)
        let d = downloader(nil, port: port)
        XCTAssertThrowsError(try d.fetch(try file(d))) { error in
            guard case HubError.connection(let url, _)? = error as? HubError else { return XCTFail("\(error)") }
            XCTAssertEqual(url, "http://127.0.0.1:\(port)" + path)
            XCTAssertTrue("\(error)".contains("HF_ENDPOINT"))
        }
    }
}
