import ClasEngine
import ClasNN
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

final class FineTuningTests: XCTestCase {
    /// Weights trained on 4 classes fine-tune on 3: the classifier is skipped with a message and re-learnt.
    func testFineTuneToAnotherClassCountWithFrozenBackboneAndBatchNorm() throws {
        let source = try TinyRun(classes: 4, epochs: 1, name: "source")
        try Trainer(engine: Engine(configPath: source.config, mode: .train, quiet: true)).run()
        let before = try source.weights("best_model")

        let target = try TinyRun(classes: 3, epochs: 1, name: "target")
        let engine = try Engine(configPath: target.config,
                                overrides: ["Global.pretrained_model=\(source.modelDir)/best_model",
                                            "Arch.freeze_backbone=True", "Arch.freeze_bn=True"],
                                mode: .train, quiet: true)
        var warnings: [String] = []
        engine.logger.capture = { if $0.contains("WARNING") { warnings.append($0) } }
        XCTAssertEqual(engine.classCount, 3)
        let trainable = engine.model.namedParameters().filter { $0.1.requiresGrad }.map(\.0)
        XCTAssertEqual(Set(trainable), ["classifier.weight", "classifier.bias"])
        try Trainer(engine: engine).run()
        let after = try target.weights("latest")
        // Backbone weights and BatchNorm statistics are exactly the source's; the classifier is new.
        XCTAssertEqual(after["conv_stem.weight"], before["conv_stem.weight"])
        XCTAssertEqual(after["blocks.2.0.bn1.running_mean"], before["blocks.2.0.bn1.running_mean"])
        XCTAssertEqual(after["classifier.weight"]?.count, 3 * 1024)
        XCTAssertNotEqual(after["classifier.bias"], [0, 0, 0], "the new head trained")
    }

    func testPretrainedShapeMismatchIsAnErrorOutsideTraining() throws {
        let source = try TinyRun(classes: 4, epochs: 1, name: "src2")
        try Trainer(engine: Engine(configPath: source.config, mode: .train, quiet: true)).run()
        XCTAssertThrowsError(try Engine(configPath: source.config,
                                        overrides: ["Global.pretrained_model=\(source.modelDir)/best_model", "Arch.class_num=7"],
                                        mode: .eval, quiet: true)) { error in
            XCTAssertTrue("\(error)".contains("does not fit this model") && "\(error)".contains("classifier.weight"), "\(error)")
        }
    }
}
