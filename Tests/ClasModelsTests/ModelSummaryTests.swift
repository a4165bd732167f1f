import ClasModels
import ClasNN
import ClasTensor
import XCTest

final class ModelSummaryTests: XCTestCase {
    func testResNet18Summary() throws {
        let model = try ModelRegistry.builtins().make("ResNet18")
        let summary = ModelSummary(model, inputSize: 224)
        XCTAssertEqual(summary.rows.map(\.name),
                       ["conv1", "bn1", "maxpool", "layer1", "layer2", "layer3", "layer4", "global_pool", "fc"])
        XCTAssertEqual(summary.rows.map(\.outputShape),
                       [[1, 112, 112, 64], [1, 112, 112, 64], [1, 56, 56, 64], [1, 56, 56, 64], [1, 28, 28, 128],
                        [1, 14, 14, 256], [1, 7, 7, 512], [1, 512], [1, 1000]])
        XCTAssertEqual(summary.parameters, 11_689_512)
        XCTAssertEqual(summary.rows.reduce(0) { $0 + $1.parameters }, summary.parameters)
        XCTAssertEqual(summary.macs, 1_814_073_344)
        XCTAssertNil(summary.reparameterizedParameters)
        XCTAssertTrue(model.isTraining, "training mode is restored")
        XCTAssertTrue(summary.description.contains("layer4"))
        XCTAssertTrue(summary.description.contains("MACs: 1,814,073,344 (1814.1 M)"), summary.description)
    }

    func testMobileOneSummaryReportsFusedParameters() throws {
        let model = try ModelRegistry.builtins().make("MobileOne_S0")
        let summary = ModelSummary(model, inputSize: 64)
        XCTAssertEqual(summary.rows.map(\.name), ["stem", "stages.0", "stages.1", "stages.2", "stages.3", "head"])
        XCTAssertEqual(summary.parameters, 5_293_272)
        XCTAssertEqual(summary.reparameterizedParameters, 2_078_504)
        XCTAssertTrue(summary.description.contains("parameters after reparameterize(): 2,078,504"))
        XCTAssertEqual(model.parameterCount, 5_293_272, "the summary does not fuse the model")
    }

    func testEfficientNetRows() throws {
        let summary = ModelSummary(try ModelRegistry.builtins().make("EfficientNetB0"), inputSize: 224)
        XCTAssertEqual(summary.rows.count, 2 + 7 + 4)
        XCTAssertEqual(summary.rows[8].name, "blocks.6")
        XCTAssertEqual(summary.rows[8].outputShape, [1, 7, 7, 320])
        XCTAssertEqual(summary.macs, 385_814_752)
    }
}
