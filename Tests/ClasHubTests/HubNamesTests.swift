@testable import ClasHub
import Foundation
import XCTest

/// Names, URLs, cache keys and the environment, without any server.
final class HubNamesTests: XCTestCase {
    func testHubURLAndCacheKey() throws {
        let f = try HubFile.parse("timm/mobilenetv3_large_100.ra_in1k", endpoint: "http://127.0.0.1:1/")
        XCTAssertEqual(f.url.absoluteString,
                       "http://127.0.0.1:1/timm/mobilenetv3_large_100.ra_in1k/resolve/main/model.safetensors")
        XCTAssertEqual(f.cacheKey, "hub/timm/mobilenetv3_large_100.ra_in1k/main/model.safetensors")
        let bare = try HubFile.parse("resnet50.a1_in1k@v1.0", filename: "pytorch_model.bin")
        XCTAssertEqual(bare.repo, "timm/resnet50.a1_in1k")
        XCTAssertEqual(bare.url.absoluteString, "https://huggingface.co/timm/resnet50.a1_in1k/resolve/v1.0/pytorch_model.bin")
        let pr = try HubFile.parse("hf-hub:org/model", revision: "refs/pr/3")
        XCTAssertEqual(pr.url.absoluteString, "https://huggingface.co/org/model/resolve/refs%2Fpr%2F3/model.safetensors")
        XCTAssertEqual(pr.cacheKey, "hub/org/model/refs--pr--3/model.safetensors")
        let url = try HubFile.parse("http://127.0.0.1:8000/weights/net.pth")
        XCTAssertEqual(url.cacheKey, "url/127.0.0.1_8000/weights/net.pth")
        XCTAssertEqual(url.filename, "net.pth")
    }

    func testUnsafeNamesAreRefused() {
        for (spec, file) in [("timm/../etc", "model.safetensors"), ("a/b/c", "model.safetensors"), ("timm/x", "../x"),
                             ("timm/x", "a//b"), ("/x", "model.safetensors"), ("timm/x y", "model.safetensors"),
                             ("http://127.0.0.1/a/../b", "m")] {
            XCTAssertThrowsError(try HubFile.parse(spec, filename: file), "\(spec) \(file)")
        }
    }

    func testEnvironment() {
        let e = HubEnvironment.current(["HOME": "/home/u", "HF_ENDPOINT": "http://127.0.0.1:5/", "CLAS_OFFLINE": "True"])
        XCTAssertEqual(e.endpoint, "http://127.0.0.1:5")
        XCTAssertEqual(e.cacheDirectory.path, "/home/u/.cache/swiftclas")
        XCTAssertEqual(e.offlineVariable, "CLAS_OFFLINE")
        let x = HubEnvironment.current(["HOME": "/home/u", "XDG_CACHE_HOME": "/c", "HF_HUB_OFFLINE": "0"])
        XCTAssertEqual(x.cacheDirectory.path, "/c/swiftclas")
        XCTAssertEqual(x.endpoint, "https://huggingface.co")
        XCTAssertFalse(x.isOffline)
        XCTAssertEqual(HubEnvironment.current(["HF_HUB_OFFLINE": "1"]).offlineVariable, "HF_HUB_OFFLINE")
    }

    func testETagParsing() {
        let sha = String(repeating: "ab", count: 32)
        XCTAssertEqual(FileDigest.sha256(fromETag: "\"\(sha)\""), sha)
        XCTAssertEqual(FileDigest.sha256(fromETag: "W/\"\(sha.uppercased())\""), sha)
        XCTAssertNil(FileDigest.sha256(fromETag: "\"0123456789abcdef0123456789abcdef01234567\""))
        XCTAssertNil(FileDigest.sha256(fromETag: nil))
        XCTAssertEqual(FileDigest.sha256(Data("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
