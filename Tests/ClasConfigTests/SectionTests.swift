import ClasConfig
import XCTest

/// The typed top-level sections: defaults, ranges, component specs, notices, unknown sections.
final class SectionTests: XCTestCase {
    private var decoder = ConfigDecoder()

    private func load(_ yaml: String) throws -> RunConfig {
        try decoder.decode(RunConfig.self, from: try parse(yaml))
    }

    private func fixture(_ name: String, _ overrides: [String] = []) throws -> RunConfig {
        try RunConfig.load(try Fixtures.path(name), overrides: overrides, decoder: decoder)
    }

    func testGlobalDefaults() throws {
        let global = try load(minimalConfig).global
        XCTAssertEqual(global.epochs, 2)
        XCTAssertEqual(global.outputDir, "./output/")
        XCTAssertEqual(global.device, "cpu")
        XCTAssertEqual(global.saveInterval, 1)
        XCTAssertEqual(global.printBatchStep, 10)
        XCTAssertEqual(global.evalMode, .classification)
        XCTAssertEqual(global.maxImagePixels, 89_478_485)
        XCTAssertFalse(global.skipBadImages)
        XCTAssertNil(global.seed)
        XCTAssertNil(global.imageShape)
        XCTAssertTrue(decoder.notices.isEmpty)
    }

    func testOutOfRangeValues() {
        assertConfigError("cfg.yaml:2:11: error: Global.epochs must be at least 1, got 0") {
            try load(minimalConfig.replacingOccurrences(of: "epochs: 2", with: "epochs: 0"))
        }
        assertConfigError("cfg.yaml:3:21: error: Global.print_batch_step must be at least 1, got 0") {
            try load(minimalConfig.replacingOccurrences(of: "epochs: 2", with: "epochs: 2\n  print_batch_step: 0"))
        }
        assertConfigError("cfg.yaml:3:18: error: Global.save_interval must be at least 1, got -1") {
            try load(minimalConfig.replacingOccurrences(of: "epochs: 2", with: "epochs: 2\n  save_interval: -1"))
        }
        assertConfigError(
            "cfg.yaml:3:16: error: Global.image_shape expects [channels, height, width] of positive integers, "
                + "got [224, 224]"
        ) {
            try load(minimalConfig.replacingOccurrences(of: "epochs: 2", with: "epochs: 2\n  image_shape: [224, 224]"))
        }
        assertConfigError(
            "-o #1 'DataLoader.Train.sampler.batch_size=0': error: "
                + "DataLoader.Train.sampler.batch_size must be at least 1, got 0"
        ) {
            try fixture("MobileNetV3_large_x1_0.yaml", ["DataLoader.Train.sampler.batch_size=0"])
        }
        assertConfigError("-o #1 'EMA.decay=1': error: EMA.decay must be between 0 and 1 (exclusive), got 1.0") {
            try fixture("MobileNetV3_large_x1_0.yaml", ["EMA.decay=1"])
        }
    }

    func testMissingSectionsAndKeys() {
        assertConfigError("cfg.yaml:1:1: error: missing required key 'Global' at the top level") {
            try load("Arch: {name: X}\n")
        }
        assertConfigError("cfg.yaml:2:3: error: missing required key 'epochs' in Global") {
            try load(minimalConfig.replacingOccurrences(of: "epochs: 2", with: "seed: 2"))
        }
        assertConfigError("cfg.yaml:2:3: error: unknown key 'epoch' in Global. Did you mean 'epochs'?") {
            try load(minimalConfig.replacingOccurrences(of: "epochs: 2", with: "epoch: 2"))
        }
    }

    func testUnknownSections() {
        assertConfigError("cfg.yaml:6:1: error: unknown section 'Optimiser'. Did you mean 'Optimizer'?") {
            try load(minimalConfig + "\nOptimiser: {name: SGD}\n")
        }
        assertConfigError(
            "cfg.yaml:6:1: error: unknown sections 'foo', 'bar'. Known sections: Global, Arch, Loss, "
                + "Optimizer, DataLoader, Metric, Infer, EMA, AMP, Slim, LRFinder."
        ) {
            try load(minimalConfig + "\nfoo: 1\nbar: 2\n")
        }
        assertConfigError(
            "cfg.yaml:6:1: error: section 'UnLabelLoss' is not supported: semi-supervised training is not supported"
        ) {
            try load(minimalConfig + "\nUnLabelLoss: {Train: []}\n")
        }
    }

    func testWrongEvalMode() {
        assertConfigError(
            "cfg.yaml:3:14: error: Global.eval_mode expects one of 'classification', 'retrieval', 'adaface', "
                + "got 'clasification'. Did you mean 'classification'?"
        ) {
            try load(minimalConfig.replacingOccurrences(of: "epochs: 2", with: "epochs: 2\n  eval_mode: clasification"))
        }
    }

    func testNoticesForPaddleOnlyKeys() throws {
        _ = try load(
            """
            Global:
              epochs: 1
              device: gpu
              use_dali: False
              to_static: True
              class_num: 102
            Arch: {name: ResNet50_vd}
            AMP: {use_amp: True, level: O2}
            Slim: {prune: {name: fpgm, pruned_ratio: 0.3}}
            """)
        XCTAssertEqual(
            decoder.notices.map(\.description),
            [
                "cfg.yaml:3:11: notice: Global.device 'gpu' is ignored: SwiftClas runs on the CPU",
                "cfg.yaml:5:3: notice: Global.to_static is ignored: SwiftClas has no static-graph mode",
                "cfg.yaml:8:6: notice: AMP.level O2 runs as O1: the weights stay float32",
                "cfg.yaml:9:7: notice: Slim.prune is ignored: pruning (PaddleSlim) is not supported",
                "cfg.yaml:6:3: notice: Global.class_num is deprecated; it was moved to Arch.class_num",
            ])
    }

    func testDeprecatedClassNumMovesToArch() throws {
        let moved = try load("Global: {epochs: 1, class_num: 102}\nArch: {name: ResNet50_vd}\n")
        XCTAssertEqual(moved.arch.args["class_num"]?.scalar?.text, "102")
        let kept = try load("Global: {epochs: 1, class_num: 102}\nArch: {name: ResNet50_vd, class_num: 10}\n")
        XCTAssertEqual(kept.arch.args["class_num"]?.scalar?.text, "10")
        XCTAssertEqual(
            decoder.notices.last?.message, "Global.class_num is deprecated and ignored: Arch.class_num is set")
    }

    func testReferenceRecipeSections() throws {
        let config = try fixture("MobileNetV3_large_x1_0.yaml")
        XCTAssertEqual(config.global.imageShape, [3, 224, 224])
        XCTAssertEqual(config.arch.name, "MobileNetV3_large_x1_0")
        XCTAssertEqual(config.arch.args.keys, ["class_num"])
        XCTAssertEqual(config.loss?.train?.map(\.name), ["CELoss"])
        XCTAssertEqual(config.loss?.train?.first?.path, "Loss.Train.0")
        XCTAssertEqual(config.metric?.eval?.first?.args.description, "{topk: [1, 5]}")
        let train = try XCTUnwrap(config.dataLoader?.train)
        XCTAssertEqual(train.dataset.name, "ImageNetDataset")
        XCTAssertEqual(
            train.transformOps.map(\.name),
            ["DecodeImage", "RandCropImage", "RandFlipImage", "AutoAugment", "NormalizeImage"])
        XCTAssertEqual(train.transformOps[3].args, .mapping([]))
        XCTAssertEqual(train.transformOps[4].path, "DataLoader.Train.dataset.transform_ops.4")
        XCTAssertEqual(train.sampler?.name, "DistributedBatchSampler")
        XCTAssertEqual(train.batchSize, 256)
        XCTAssertTrue(train.shuffle)
        XCTAssertFalse(train.dropLast)
        XCTAssertEqual(train.loader, LoaderOptions(numWorkers: 8, useSharedMemory: true))
        let infer = try XCTUnwrap(config.infer)
        XCTAssertEqual(infer.batchSize, 10)
        XCTAssertEqual(infer.transforms.last?.name, "ToCHWImage")
        XCTAssertEqual(infer.postProcess?.name, "Topk")
        XCTAssertEqual(config.amp?.useAmp, false)
        XCTAssertNil(config.ema)
    }

    func testOptimizerSection() throws {
        let optimizer = try XCTUnwrap(try fixture("MobileNetV3_large_x1_0.yaml").optimizer)
        XCTAssertEqual(optimizer.name, "Momentum")
        XCTAssertEqual(optimizer.args.keys, ["momentum"])
        guard case .schedule(let schedule) = optimizer.lr else { return XCTFail("expected a schedule") }
        XCTAssertEqual(schedule.name, "Cosine")
        XCTAssertEqual(schedule.path, "Optimizer.lr")
        XCTAssertEqual(optimizer.regularizer?.name, "L2")
        XCTAssertEqual(optimizer.regularizer?.args.description, "{coeff: 0.00002}")
        XCTAssertNil(optimizer.clipNorm)
    }

    /// `clip_grad` (timm's spelling, in PaddleClas's AdamW configs) is the global gradient-norm clip, like `clip_norm`.
    func testClipGradIsTheGradientNormClip() throws {
        func optimizer(_ extra: String) throws -> OptimizerConfig? {
            try load(minimalConfig + "\nOptimizer:\n  name: AdamW\n  lr: 0.001\n" + extra).optimizer
        }
        XCTAssertEqual(try optimizer("  clip_grad: 5.0\n")?.clipNorm, 5)
        XCTAssertEqual(try optimizer("  clip_norm: 2\n")?.clipNorm, 2)
        XCTAssertNil(try optimizer("  clip_grad: null\n")?.clipNorm)
        XCTAssertEqual(try optimizer("  clip_grad: null\n")?.args.keys, [])
        XCTAssertThrowsError(try optimizer("  clip_grad: 5.0\n  clip_norm: 5.0\n")) {
            XCTAssertTrue("\($0)".contains("the same setting"), "\($0)")
        }
        XCTAssertThrowsError(try optimizer("  clip_grad: -1\n")) { XCTAssertTrue("\($0)".contains("clip_grad expects"), "\($0)") }
    }

    func testDeiTYAML11StringsReachTheEngineAsNumbers() throws {
        let config = try fixture("DeiT_tiny_patch16_224.yaml")
        let optimizer = try XCTUnwrap(config.optimizer)
        XCTAssertEqual(optimizer.args["epsilon"]?.scalar?.text, "1e-8")
        guard case .schedule(let schedule) = optimizer.lr else { return XCTFail("expected a schedule") }
        let options = try decoder.decode(
            CosineOptions.self, from: schedule.args.removing(["warmup_start_lr"]),
            path: schedule.path, label: schedule.name)
        XCTAssertEqual(options.learningRate, 2e-3)
        XCTAssertEqual(options.etaMin, 2e-5)
        let erasing = try XCTUnwrap(config.dataLoader?.train?.transformOps.last)
        XCTAssertEqual(erasing.name, "RandomErasing")
        XCTAssertEqual(Scalars.double(try XCTUnwrap(erasing.args["sh"]?.scalar?.text)), 1.0 / 3.0)
        XCTAssertEqual(config.dataLoader?.train?.batchTransformOps.map(\.name), ["OpSampler"])
    }

    func testLearningRateForms() throws {
        func lr(_ text: String) throws -> OptimizerConfig.LearningRate? {
            try load(minimalConfig + "\nOptimizer:\n  name: SGD\n  lr: \(text)\n").optimizer?.lr
        }
        guard case .constant(0.1, _)? = try lr("0.1") else { return XCTFail("number") }
        guard case .constant(2e-3, _)? = try lr("{learning_rate: 2e-3}") else { return XCTFail("map without name") }
        guard case .schedule(let spec)? = try lr("{Piecewise: {decay_epochs: [30, 60], values: [0.1, 0.01, 0.001]}}")
        else {
            return XCTFail("one-key schedule")
        }
        XCTAssertEqual(spec.name, "Piecewise")
        assertConfigError(
            "cfg.yaml:8:7: error: Optimizer.lr has no `name`, so it is a constant `learning_rate` and cannot "
                + "have other keys; add `name: <Scheduler>` (e.g. Cosine) to use them"
        ) {
            try lr("{learning_rate: 0.1, warmup_epoch: 5}")
        }
        assertConfigError(
            "cfg.yaml:8:7: error: Optimizer.lr expects a number or a scheduler (`name: Cosine`, …), got 'fast'"
        ) {
            try lr("fast")
        }
        assertConfigError("cfg.yaml:7:3: error: missing required key 'lr' in Optimizer (SGD)") {
            try load(minimalConfig + "\nOptimizer:\n  name: SGD\n")
        }
        assertConfigError(
            "cfg.yaml:7:3: error: Optimizer is a list (one optimizer per scope); SwiftClas supports one "
                + "optimizer: a map with `name`, `lr`, …"
        ) {
            try load(minimalConfig + "\nOptimizer:\n  - Momentum: {scope: all, lr: 0.1}\n")
        }
    }

    func testDataLoaderWithoutSampler() throws {
        let bare = try load(
            minimalConfig + """

                DataLoader:
                  Eval:
                    dataset: {name: ImageNetDataset, image_root: x}
                    batch_size: 4
                    shuffle: false
                """)
        XCTAssertNil(bare.dataLoader?.eval?.sampler)
        XCTAssertEqual(bare.dataLoader?.eval?.batchSize, 4)
        assertConfigError(
            "cfg.yaml:10:5: error: DataLoader.Eval.batch_size has no effect when a sampler is given; "
                + "set DataLoader.Eval.sampler.batch_size"
        ) {
            try load(
                minimalConfig + """

                    DataLoader:
                      Eval:
                        dataset: {name: ImageNetDataset}
                        sampler: {name: BatchSampler, batch_size: 4}
                        batch_size: 4
                    """)
        }
        assertConfigError(
            "cfg.yaml:9:5: error: missing required key 'sampler' in DataLoader.Eval (or the bare keys "
                + "batch_size, shuffle, drop_last)"
        ) {
            try load(minimalConfig + "\n\nDataLoader:\n  Eval:\n    dataset: {name: ImageNetDataset}\n")
        }
        assertConfigError(
            "cfg.yaml:9:14: error: missing required key 'batch_size' in DataLoader.Eval.sampler (BatchSampler)"
        ) {
            try load(
                minimalConfig + "\n\nDataLoader:\n  Eval:\n    sampler: {name: BatchSampler}\n    dataset: {name: D}\n")
        }
    }

    func testUnsupportedDataLoaderForms() {
        assertConfigError(
            "cfg.yaml:9:5: error: DataLoader.Eval.Gallery/Query (retrieval evaluation) is not supported; use Eval.dataset"
        ) {
            try load(minimalConfig + "\n\nDataLoader:\n  Eval:\n    Gallery: {dataset: {name: D}}\n")
        }
        assertConfigError("cfg.yaml:8:3: error: DataLoader.UnLabelTrain (semi-supervised training) is not supported") {
            try load(minimalConfig + "\n\nDataLoader:\n  UnLabelTrain: {}\n")
        }
    }

    func testDistillationAndQuotedFixtures() throws {
        let dml = try fixture("PPLCNet_x2_5_dml.yaml")
        XCTAssertEqual(dml.arch.name, "DistillationModel")
        XCTAssertEqual(dml.arch.args.node(at: "models.1.Student.class_num")?.scalar?.text, "1000")
        let kd = try fixture("R50_vd_distill_MV3_large_x1_0_CIFAR100.yaml")
        XCTAssertEqual(kd.global.outputDir, "./output/")
        XCTAssertEqual(
            kd.arch.args.node(at: "models.0.Teacher.pretrained")?.scalar,
            .init("./pretrained/best_model", isQuoted: true))
        XCTAssertEqual(kd.dataLoader?.train?.batchSize, 512)
        XCTAssertEqual(try fixture("ResNet50_vd.yaml").arch.name, "ResNet50_vd")
    }
}
