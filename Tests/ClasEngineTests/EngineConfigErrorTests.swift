import ClasConfig
import ClasEngine
import Foundation
import XCTest
import _ClasTestSupport

/// Config errors caught by the engine's registries, before anything runs or is written.
final class EngineConfigErrorTests: XCTestCase {
    private func assertFails(_ overrides: [String], mode: Engine.Mode = .train, _ expected: String,
                             line: UInt = #line) throws {
        let run = try TinyRun(name: "errors\(line)")
        XCTAssertThrowsError(try Engine(configPath: run.config, overrides: overrides, mode: mode, quiet: true),
                             line: line) { error in
            XCTAssertTrue("\(error)".contains(expected), "expected «\(expected)» in «\(error)»", line: line)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run.dir)/output"), "nothing written", line: line)
    }

    func testUnknownModelSuggestsTheNearestName() throws {
        try assertFails(["Arch.name=MobileNetV3_smal_x1_0"],
                        "-o #1 'Arch.name=MobileNetV3_smal_x1_0': error: no Arch named 'MobileNetV3_smal_x1_0'. Did you mean")
    }

    func testMisspeltOptimizerKey() throws {
        try assertFails(["Optimizer.momentun=0.9"], "unknown key 'momentun' in Optimizer (Momentum). Did you mean 'momentum'?")
    }

    func testMisspeltScheduleKey() throws {
        try assertFails(["Optimizer.lr.warmup_epochs=2"], "unknown key 'warmup_epochs' in Optimizer.lr (Cosine). Did you mean 'warmup_epoch'?")
    }

    func testNegativeLearningRate() throws {
        try assertFails(["Optimizer.lr.learning_rate=-0.1"], "Optimizer.lr.learning_rate must not be negative, got -0.1")
    }

    func testZeroBatchSizeAndEpochs() throws {
        try assertFails(["DataLoader.Train.sampler.batch_size=0"], "batch_size must be at least 1, got 0")
        try assertFails(["Global.epochs=0"], "Global.epochs must be at least 1, got 0")
    }

    func testUnknownTransformAndLossAndMetric() throws {
        try assertFails(["DataLoader.Train.dataset.transform_ops.0={DecodeImag: {}}"], "no transform op named 'DecodeImag'. Did you mean 'DecodeImage'?")
        try assertFails(["Loss.Train.0={CELos: {weight: 1.0}}"], "no loss named 'CELos'. Did you mean 'CELoss'?")
        try assertFails(["Metric.Eval.0={TopkAc: {topk: [1, 2]}}"], "no metric named 'TopkAc'. Did you mean 'TopkAcc'?")
    }

    func testInferOnlyKeysAreCheckedDuringTraining() throws {
        try assertFails(["Infer.PostProcess.topkk=3"], "unknown key 'topkk' in Infer.PostProcess (Topk). Did you mean 'topk'?")
    }

    func testMissingSections() throws {
        try assertFails(["Loss.Train=[]"], "train needs Loss.Train in the config")
        try assertFails(["DataLoader.Eval=null"], "DataLoader.Eval (or Global.eval_during_train: False)")
    }

    func testMissingImageFolder() throws {
        try assertFails(["DataLoader.Train.dataset.image_root=/nonexistent/folder"], "/nonexistent/folder")
    }

    func testWrongClassNumForData() throws {
        try assertFails(["Arch.class_num=2"], "Arch.class_num is 2 but the data has 4 classes")
    }
}
