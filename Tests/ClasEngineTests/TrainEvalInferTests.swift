import ClasConfig
import ClasEngine
import ClasNN
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

final class TrainEvalInferTests: XCTestCase {
    func testTrainWritesPaddleClasLogsAndCheckpoints() throws {
        let run = try TinyRun(epochs: 2)
        let engine = try Engine(configPath: run.config, mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        XCTAssertEqual(engine.classCount, 4, "class count from the folders")
        try Trainer(engine: engine).run()
        let fm = FileManager.default
        for name in ["best_model", "latest", "epoch_1", "epoch_2"] {
            XCTAssertTrue(fm.fileExists(atPath: "\(run.modelDir)/\(name).safetensors"), name)
        }
        XCTAssertTrue(fm.fileExists(atPath: "\(run.modelDir)/config.yaml"))
        XCTAssertTrue(fm.fileExists(atPath: "\(run.modelDir)/train.log"))
        // The log's first line names the compute backend: threads, BLAS library and kernel.
        let firstLine = try String(contentsOfFile: "\(run.modelDir)/train.log", encoding: .utf8)
            .split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(firstLine.contains("Compute: \(ComputeBackend.threads) threads, \(ComputeBackend.blas.library) "
                                         + "kernel \(ComputeBackend.blas.kernel)"), firstLine)
        let train = lines.first { $0.contains("[Train][Epoch 1/2][Iter: 0/4]") } ?? ""
        XCTAssertTrue(train.contains("ppcls INFO: [Train][Epoch 1/2][Iter: 0/4]lr(LinearWarmup): "), train)
        for key in ["top1: ", "top2: ", "CELoss: ", "loss: ", "batch_cost: ", "reader_cost: ", "ips: ", "samples/s, eta: "] {
            XCTAssertTrue(train.contains(key), "\(key) in \(train)")
        }
        XCTAssertTrue(lines.contains { $0.contains("[Train][Epoch 2/2][Avg]top1: ") })
        XCTAssertTrue(lines.contains { $0.contains("[Eval][Epoch 2][Avg]CELoss: ") })
        XCTAssertTrue(lines.contains { $0.contains("[Eval][Epoch 2][best metric: ") })
        XCTAssertTrue(lines.contains { $0.hasSuffix("Already save model in \(run.modelDir)/latest") }, lines.suffix(3).joined(separator: "\n"))
        let state = try Checkpoint.read(prefix: "\(run.modelDir)/latest").state
        XCTAssertEqual(state?.epoch, 2)
        XCTAssertEqual(state?.step, 8)

        // eval writes metrics.yaml
        let evalEngine = try Engine(configPath: run.config, overrides: ["Global.pretrained_model=\(run.modelDir)/best_model"],
                                    mode: .eval, quiet: true)
        let values = try EvaluationReport(engine: evalEngine).run()
        XCTAssertEqual(values.map(\.0), ["CELoss", "loss", "top1", "top2", "mAP", "balanced_acc", "macro_precision",
                                         "macro_recall", "macro_f1"], "Metric.Eval, then the classification summary")
        let metrics = try String(contentsOfFile: "\(run.modelDir)/eval/metrics.yaml", encoding: .utf8)
        XCTAssertTrue(metrics.contains("samples: 32") && metrics.contains("top1: ") && metrics.contains("params: "), metrics)

        // infer: one result per image, names from the folders stored in the checkpoint
        let inferEngine = try Engine(configPath: run.config, overrides: ["Global.pretrained_model=\(run.modelDir)/best_model"],
                                     mode: .infer, quiet: true)
        let results = try Predictor(engine: inferEngine).run(print: false)
        XCTAssertEqual(results.count, 8)
        XCTAssertEqual((results.first?["class_ids"] as? [Int])?.count, 2)
        XCTAssertTrue(((results.first?["label_names"] as? [String]) ?? []).allSatisfy { $0.hasPrefix("class_") })
    }

    func testTrainingLearnsTheTinyTask() throws {
        let run = try TinyRun(perClass: 16, epochs: 12)
        let engine = try Engine(configPath: run.config, overrides: ["Optimizer.lr.learning_rate=0.02"], mode: .train, quiet: true)
        let best = try Trainer(engine: engine).run()
        XCTAssertGreaterThan(best, 0.9, "4 easy classes should be learnt in 12 epochs (8 is marginal: 0.75 to 1.0 across seeds)")
    }

    func testResumeAtEpochBoundaryIsBitIdentical() throws {
        let straight = try TinyRun(epochs: 3, name: "straight")
        try Trainer(engine: Engine(configPath: straight.config, mode: .train, quiet: true)).run()
        let split = try TinyRun(epochs: 3, name: "split")
        try Trainer(engine: Engine(configPath: split.config, overrides: ["Global.epochs=3"], mode: .train, quiet: true))
            .runEpochs(until: 1)
        try Trainer(engine: Engine(configPath: split.config, overrides: ["Global.checkpoints=\(split.modelDir)/latest"],
                                   mode: .train, quiet: true)).run()
        XCTAssertEqual(try straight.weights("latest"), try split.weights("latest"))
    }

    func testResumeAfterInterruptMidEpochIsBitIdentical() throws {
        let straight = try TinyRun(epochs: 2, name: "straight2")
        try Trainer(engine: Engine(configPath: straight.config, mode: .train, quiet: true)).run()
        let cut = try TinyRun(epochs: 2, name: "cut")
        let trainer = try Trainer(engine: Engine(configPath: cut.config, mode: .train, quiet: true))
        trainer.interruptAfterIterations = 6  // epoch 2, iteration 2
        XCTAssertThrowsError(try trainer.run()) { XCTAssertTrue("\($0)".contains("interrupted"), "\($0)") }
        XCTAssertEqual(try Checkpoint.read(prefix: "\(cut.modelDir)/latest").state?.extra["iteration"], "2")
        try Trainer(engine: Engine(configPath: cut.config, overrides: ["Global.checkpoints=\(cut.modelDir)/latest"],
                                   mode: .train, quiet: true)).run()
        XCTAssertEqual(try straight.weights("latest"), try cut.weights("latest"))
    }
}
