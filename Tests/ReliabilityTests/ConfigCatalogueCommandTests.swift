import Foundation
import XCTest

/// `tools list configs` through the real binary: the shipped configs with their one-line descriptions.
final class ConfigCatalogueCommandTests: ReliabilityTestCase {
    func testListsTheCheckoutsConfigsFromAnyDirectory() throws {
        let r = try ToolsProcess.run(["list", "configs"], shellPrefix: "cd /")
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let entry = lines.firstIndex { $0 == "  ppcls-style-configs/ImageNet/MobileOne/MobileOne_S0.yaml" }
        XCTAssertNotNil(entry, r.stdout)
        if let entry {
            XCTAssertEqual(lines[entry + 1],
                           "      MobileOne_S0 on ImageNet-1k with the MobileOne paper's recipe, in PaddleClas's format.")
        }
        XCTAssertTrue(lines.contains("  configs/quickstart_mobilenet_v3_small_fmnist.yaml"), r.stdout)
        XCTAssertFalse(r.stdout.contains("/_base_/"), "the inherited fragments are not configs to run")
    }

    func testCLAS_CONFIGSNamesAnotherCatalogue() throws {
        let dir = scratchDirectory()
        try FileManager.default.createDirectory(atPath: "\(dir)/configs/_base_", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(dir)/ppcls-style-configs/ImageNet/Mine",
                                                withIntermediateDirectories: true)
        try "#\n# My net on my data.\n# more words\nGlobal: {epochs: 1}\n"
            .write(toFile: "\(dir)/configs/mine.yaml", atomically: true, encoding: .utf8)
        try "Global: {epochs: 1}\n".write(toFile: "\(dir)/configs/_base_/runtime.yaml", atomically: true, encoding: .utf8)
        try "# Mine in PaddleClas's format.\nArch: {name: ResNet18}\n"
            .write(toFile: "\(dir)/ppcls-style-configs/ImageNet/Mine/Mine.yaml", atomically: true, encoding: .utf8)
        let r = try ToolsProcess.run(["list", "configs"], shellPrefix: "export CLAS_CONFIGS=\(dir)")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            configs (in \(dir)):
              configs/mine.yaml
                  My net on my data.
              ppcls-style-configs/ImageNet/Mine/Mine.yaml
                  Mine in PaddleClas's format.

            """)
        let typo = try ToolsProcess.run(["list", "config"])
        XCTAssertEqual(typo.status, 64, typo.stderr)
        XCTAssertTrue(typo.stderr.contains("Did you mean 'configs'?"), typo.stderr)
    }
}
