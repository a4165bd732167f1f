import ClasTensor
import Foundation
import XCTest

/// `tools weights download|list|verify` end to end: the `tools` binary of this build, with HF_ENDPOINT pointing at a
/// local hub on 127.0.0.1 and XDG_CACHE_HOME at a temporary folder.
final class WeightsCommandTests: XCTestCase {
    func run(_ args: [String], env: [String: String], in folder: URL) throws -> ToolsRun {
        try ToolsRun.run(args, env: env, in: folder)
    }

    func testDownloadListVerifyAndOffline() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clashub-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = folder.appendingPathComponent("w.safetensors")
        try Safetensors.write([("fc.weight", Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])),
                               ("fc.bias", Tensor(shape: [2], values: [0.5, -0.5]))], to: weights.path)
        let server = try LocalHubServer(files: [
            "/timm/tiny_net.test_in1k/resolve/main/model.safetensors": (try Data(contentsOf: weights), "lfs"),
        ])
        defer { server.stop() }
        let cache = folder.appendingPathComponent("cache")
        let env = ["HF_ENDPOINT": server.endpoint, "XDG_CACHE_HOME": cache.path]

        let download = try run(["weights", "download", "tiny_net.test_in1k"], env: env, in: folder)
        XCTAssertEqual(download.status, 0, download.stderr)
        let cached = cache.appendingPathComponent("swiftclas/hub/timm/tiny_net.test_in1k/main/model.safetensors")
        XCTAssertEqual(download.stdout, "\(cached.path): 2 tensors, verified\n")
        XCTAssertTrue(download.stderr.contains("downloading model.safetensors"), download.stderr)

        let list = try run(["weights", "list"], env: env, in: folder)
        XCTAssertEqual(list.status, 0)
        XCTAssertTrue(list.stdout.contains("hub/timm/tiny_net.test_in1k/main/model.safetensors"), list.stdout)
        XCTAssertTrue(list.stdout.contains("sha256 "), list.stdout)

        let verify = try run(["weights", "verify"], env: env, in: folder)
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.contains(": ok"), verify.stdout)

        let offline = env.merging(["HF_HUB_OFFLINE": "1"]) { $1 }
        let again = try run(["weights", "download", "timm/tiny_net.test_in1k"], env: offline, in: folder)
        XCTAssertEqual(again.status, 0, again.stderr)
        let missing = try run(["weights", "download", "timm/other.test_in1k"], env: offline, in: folder)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("offline mode (HF_HUB_OFFLINE is set)"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains(server.endpoint + "/timm/other.test_in1k/resolve/main/model.safetensors"))

        var bytes = try Data(contentsOf: cached)
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: cached)
        let bad = try run(["weights", "verify", "timm/tiny_net.test_in1k"], env: env, in: folder)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stdout.contains("BAD (SHA-256"), bad.stdout)

        let notFound = try run(["weights", "download", "timm/absent.x"], env: env, in: folder)
        XCTAssertEqual(notFound.status, 1)
        XCTAssertTrue(notFound.stderr.contains("404 Not Found"), notFound.stderr)
    }
}
