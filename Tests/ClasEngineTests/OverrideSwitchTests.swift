import ClasConfig
import ClasEngine
import Foundation
import XCTest
import _ClasTestSupport

/// `-o KEY=null` switching a component's type from the shell (README, Configs).
final class OverrideSwitchTests: XCTestCase {
    func testSwitchingTheDatasetTypeFromTheShellTrains() throws {
        let run = try TinyRun(classes: 2, perClass: 4, epochs: 1)
        // A config whose training set is a PaddleClas list file, as most PaddleClas configs have.
        let listConfig = "\(run.dir)/list.yaml"
        try """
        _BASE_: run.yaml
        DataLoader:
          Train:
            dataset: {name: ImageNetDataset, cls_label_path: \(run.dir)/missing_list.txt}
        """.write(toFile: listConfig, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Engine(configPath: listConfig, mode: .train, quiet: true))
        let engine = try Engine(
            configPath: listConfig,
            overrides: ["DataLoader.Train.dataset.name=ImageFolderDataset", "DataLoader.Train.dataset.cls_label_path=null"],
            mode: .train, quiet: true)
        try Trainer(engine: engine).run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run.modelDir)/latest.safetensors"))
    }
}
