import ClasConfig
import Foundation
import XCTest

/// Paths of the bundled PaddleClas fixtures (Apache-2.0, copied with a provenance header).
enum Fixtures {
    static func path(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let url = Bundle.module.url(forResource: "Fixtures/ppcls/\(name)", withExtension: nil) else {
            XCTFail("missing fixture \(name)", file: file, line: line)
            throw XCTSkip("missing fixture")
        }
        return url.path
    }

    static let all = [
        "MobileNetV3_large_x1_0.yaml", "DeiT_tiny_patch16_224.yaml", "R50_vd_distill_MV3_large_x1_0_CIFAR100.yaml",
        "ResNet50_vd.yaml", "PPLCNet_x2_5_dml.yaml", "MobileNetV1_multilabel.yaml",
        "person_attribute_MobileNetV3_small_x0_35.yaml", "person_attribute_PPLCNet_x1_0.yaml", "EfficientNetV2_S.yaml",
    ]

    /// The shared PaddleClas configs, when this machine has them.
    static func sharedConfigs() throws -> [String] {
        let root = "/work/shared/ppcls-configs/ppcls/configs"
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw XCTSkip("\(root) is not present on this machine; the bundled fixtures cover the CI case")
        }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".yaml") }.sorted().map { "\(root)/\($0)" }
    }
}

/// A temporary directory with files written into it.
final class TempDir {
    let path: String

    init(_ files: [String: String] = [:]) throws {
        path = NSTemporaryDirectory() + "clasconfig-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files { try write(name, text) }
    }

    func write(_ name: String, _ text: String) throws {
        let full = "\(path)/\(name)"
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    func callAsFunction(_ name: String) -> String { "\(path)/\(name)" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Asserts that `body` throws a ``ConfigError`` whose one-line headline is exactly `headline`.
func assertConfigError<T>(
    _ headline: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> T
) {
    do {
        let value = try body()
        XCTFail("expected error \(headline), got \(value)", file: file, line: line)
    } catch let error as ConfigError {
        XCTAssertEqual(error.headline, headline, file: file, line: line)
    } catch {
        XCTFail("expected a ConfigError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}

/// Parses YAML text located at `path` (no file I/O).
func parse(_ text: String, path: String = "cfg.yaml") throws -> ConfigNode {
    try ConfigLoader.parse(text, path: path)
}

/// A minimal valid config to patch in tests.
let minimalConfig = """
    Global:
      epochs: 2
    Arch:
      name: MobileNetV3_small_x1_0
      class_num: 10
    """
