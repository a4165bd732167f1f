import ClasConfig
import ClasEngine
import ClasNN
import Foundation
import XCTest
import _ClasTestSupport

/// `Global.train_mode: progressive`: image size, RandAugmentV2 magnitude and dropout per stage; exact resume.
final class ProgressiveLearningTests: XCTestCase {
    static let normalize = "{NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}}"
    /// Three stages: 16, 24, 32 px; magnitude 1, 3, 5; dropout 0.1, 0.2, 0.3.
    static let progressive = [
        "Global.train_mode=progressive", "Arch.progress_dropout=[0.1, 0.2, 0.3]",
        "DataLoader.Train.dataset.transform_ops=[{DecodeImage: {to_rgb: True}}, "
            + "{RandCropImage: {size: 16, progress_size: [16, 24, 32], scale: [0.8, 1.0]}}, "
            + "{RandAugmentV2: {num_layers: 1, magnitude: 1, progress_magnitude: [1, 3, 5]}}, \(normalize)]",
    ]

    private func dropouts(_ model: Module) -> [Float] {
        model.namedModules().compactMap { ($0.1 as? Dropout)?.p }
    }

    private func firstBatchShape(_ trainer: Trainer, epoch: Int) throws -> [Int] {
        let cursor = try trainer.trainData.start(epoch: epoch, from: 0)
        defer { cursor.cancel() }
        return try XCTUnwrap(cursor.next()).images.shape
    }

    /// 6 epochs in 3 stages (PaddleClas's milestones ⌊6·(i+1)/3⌋ = 2, 4, 6): each stage's batches have its size,
    /// the model its dropout, and the log PaddleClas's stage line every epoch.
    func testImageSizeMagnitudeAndDropoutPerStage() throws {
        let run = try TinyRun(epochs: 6, name: "progressiveStages")
        let engine = try Engine(configPath: run.config, overrides: Self.progressive, mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        let trainer = try Trainer(engine: engine)
        XCTAssertEqual(dropouts(engine.model), [0.2], "Arch.dropout_prob before training")
        for (until, size, p) in [(2, 16, Float(0.1)), (4, 24, 0.2), (6, 32, 0.3)] {
            try trainer.runEpochs(until: until)
            XCTAssertEqual(try firstBatchShape(trainer, epoch: until), [8, size, size, 3], "stage ending at epoch \(until)")
            XCTAssertEqual(dropouts(engine.model), [p])
        }
        let stageLines = lines.filter { $0.contains("Training stage: ") }.map { String($0[$0.range(of: "Training stage")!.lowerBound...]) }
        let expected = [(1, 1.0, 16, 0.1), (2, 3.0, 24, 0.2), (3, 5.0, 32, 0.3)].flatMap { s, m, size, p in
            Array(repeating: "Training stage: [\(s)/3](random_aug_magnitude=\(m), train_image_size=\(size), dropout_rate=\(p))",
                  count: 2)
        }
        XCTAssertEqual(stageLines, expected)
        XCTAssertTrue(lines.contains { $0.contains("[Progressive] stage 2 trains with -o DataLoader.Train.dataset.transform_ops.1"
                                                   + ".RandCropImage.size=24 -o DataLoader.Train.dataset.transform_ops.2"
                                                   + ".RandAugmentV2.magnitude=3.0") }, lines.joined(separator: "\n"))
    }

    /// 4 epochs in 3 stages (epoch 1, epoch 2, epochs 3–4): stopping after epoch 2 (a stage boundary), after epoch 3
    /// (inside a stage) or by Ctrl-C inside epoch 3 and resuming gives the uninterrupted run's weights.
    func testResumeAtAStageBoundaryAndMidStageIsExact() throws {
        let full = try TinyRun(epochs: 4, name: "progressiveFull")
        try Trainer(engine: Engine(configPath: full.config, overrides: Self.progressive, mode: .train, quiet: true)).run()
        let expected = try full.weights("latest")
        for until in [2, 3] {
            let split = try TinyRun(epochs: 4, name: "progressiveSplit\(until)")
            try Trainer(engine: Engine(configPath: split.config, overrides: Self.progressive, mode: .train, quiet: true))
                .runEpochs(until: until)
            try Trainer(engine: Engine(configPath: split.config,
                                       overrides: Self.progressive + ["Global.checkpoints=\(split.modelDir)/latest"],
                                       mode: .train, quiet: true)).run()
            XCTAssertEqual(try split.weights("latest"), expected, "stopped after epoch \(until)")
        }
        let interrupted = try TinyRun(epochs: 4, name: "progressiveInterrupted")
        let first = try Trainer(engine: Engine(configPath: interrupted.config, overrides: Self.progressive, mode: .train,
                                               quiet: true))
        first.interruptAfterIterations = 10  // epoch 3, iteration 2 of 4
        XCTAssertThrowsError(try first.run())
        try Trainer(engine: Engine(configPath: interrupted.config,
                                   overrides: Self.progressive + ["Global.checkpoints=\(interrupted.modelDir)/latest"],
                                   mode: .train, quiet: true)).run()
        XCTAssertEqual(try interrupted.weights("latest"), expected, "interrupted inside epoch 3")
        // The stages matter: the same run at a fixed size ends elsewhere.
        let fixed = try TinyRun(epochs: 4, name: "progressiveOff")
        try Trainer(engine: Engine(configPath: fixed.config, overrides: Self.progressive + ["Global.train_mode=null"],
                                   mode: .train, quiet: true)).run()
        XCTAssertNotEqual(try fixed.weights("latest"), expected)
    }

    func testInconsistentOrMissingStagesAreErrorsAndUnusedListsANotice() throws {
        let run = try TinyRun(epochs: 2, name: "progressiveErrors")
        let engine = try Engine(configPath: run.config, overrides: Self.progressive + ["Arch.progress_dropout=[0.1, 0.2]"],
                                mode: .train, quiet: true)
        XCTAssertThrowsError(try Trainer(engine: engine)) {
            XCTAssertTrue("\($0)".contains("Arch.progress_dropout has 2 values but "
                                           + "DataLoader.Train.dataset.transform_ops.1.RandCropImage.progress_size has 3"),
                          "\($0)")
        }
        let bare = try Engine(configPath: run.config, overrides: ["Global.train_mode=progressive"], mode: .train, quiet: true)
        XCTAssertThrowsError(try Trainer(engine: bare)) {
            XCTAssertTrue("\($0)".contains("Global.train_mode: progressive needs the size of each stage"), "\($0)")
        }
        let unused = try Engine(configPath: run.config, overrides: Self.progressive + ["Global.train_mode=null"],
                                mode: .train, quiet: true)
        var lines: [String] = []
        unused.logger.capture = { lines.append($0) }
        _ = try Trainer(engine: unused)
        XCTAssertTrue(lines.contains { $0.contains("RandCropImage.progress_size is ignored: it is used with "
                                                   + "Global.train_mode: progressive") }, "\(lines)")
    }

    /// PaddleClas's EfficientNetV2-S config (bundled fixture, unmodified) trains with its progressive stages: its
    /// RandAugmentV2 magnitudes 5 → 15 and four sizes. EfficientNetV2 is not in the zoo, so the model is overridden
    /// (MobileNetV3_small_x0_35), and data, sizes (16 → 28 px instead of 171 → 300), batch and learning rate are made tiny.
    func testPaddleClasEfficientNetV2ConfigTrainsProgressively() throws {
        let config = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ClasConfigTests/Fixtures/ppcls/EfficientNetV2_S.yaml").path
        let run = try TinyRun(epochs: 4, name: "efficientnetv2Progressive")
        var overrides = ["Global.epochs=4", "Global.output_dir=\(run.dir)/output", "Global.print_batch_step=1",
                         "Arch.name=MobileNetV3_small_x0_35", "Arch.class_num=4", "Optimizer.lr.learning_rate=0.05",
                         "Infer.PostProcess.class_id_map_file=null",
                         "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=16",
                         "DataLoader.Train.dataset.transform_ops.1.RandCropImage.progress_size=[16, 20, 24, 28]",
                         "DataLoader.Train.sampler.batch_size=8", "DataLoader.Eval.sampler.batch_size=16",
                         "DataLoader.Eval.dataset.transform_ops.1.CropImageAtRatio.size=32",
                         "DataLoader.Eval.dataset.transform_ops.1.CropImageAtRatio.pad=4"]
        for split in ["Train", "Eval"] {
            overrides += ["DataLoader.\(split).dataset.name=ImageFolderDataset",
                          "DataLoader.\(split).dataset.cls_label_path=null",
                          "DataLoader.\(split).dataset.image_root=\(run.dir)/\(split == "Train" ? "train" : "val")",
                          "DataLoader.\(split).loader.num_workers=1"]
        }
        let engine = try Engine(configPath: config, overrides: overrides, mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        let trainer = try Trainer(engine: engine)
        try trainer.run()
        let stages = lines.filter { $0.contains("Training stage: ") }
        XCTAssertEqual(stages.count, 4, lines.joined(separator: "\n"))
        for (s, (m, size)) in [("5.0", 16), ("8.3333333333", 20), ("11.66666666667", 24), ("15.0", 28)].enumerated() {
            XCTAssertTrue(stages[s].contains("Training stage: [\(s + 1)/4](random_aug_magnitude=\(m), "
                                             + "train_image_size=\(size), dropout_rate=unchanged)"), stages[s])
        }
        XCTAssertEqual(try firstBatchShape(trainer, epoch: 4), [8, 28, 28, 3])
        XCTAssertTrue(lines.contains { $0.contains("[Eval][Epoch 4][EMA][Avg]") }, "EMA evaluated")
    }
}
