import ClasConfig
import ClasData
@testable import ClasEngine
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// The augmentation ops through the config layer: the real PaddleClas configs' `transform_ops` and
/// `batch_transform_ops` decode and build, errors are located, and training runs with them.
final class AugmentPipelineTests: XCTestCase {
    /// The bundled PaddleClas fixtures of ClasConfigTests, plus the shared configs when this machine has them.
    private func realConfigs(file: StaticString = #filePath) -> [String] {
        let here = URL(fileURLWithPath: "\(file)").deletingLastPathComponent()
        let bundled = ["DeiT_tiny_patch16_224.yaml", "MobileNetV3_large_x1_0.yaml", "ResNet50_vd.yaml"].map {
            here.appendingPathComponent("../ClasConfigTests/Fixtures/ppcls/\($0)").standardized.path
        }
        let shared = "/work/shared/ppcls-configs/ppcls/configs/ImageNet"
        let extra = ["DataAugment/ResNet50_AutoAugment.yaml", "DataAugment/ResNet50_RandAugment.yaml",
                     "DataAugment/ResNet50_Mixup.yaml", "DataAugment/ResNet50_Cutmix.yaml", "EfficientNet/EfficientNetB0.yaml"]
            .map { "\(shared)/\($0)" }.filter { FileManager.default.fileExists(atPath: $0) }
        return bundled + extra
    }

    func testRealConfigsDecodeThroughTheRegistry() throws {
        let registries = Registries.builtins()
        var built: [String: Int] = [:]
        for path in realConfigs() {
            let decoder = ConfigDecoder()
            let config = try RunConfig.load(path, decoder: decoder)
            for split in [config.dataLoader?.train, config.dataLoader?.eval].compactMap({ $0 }) {
                for spec in split.transformOps {
                    _ = try registries.data.transform.build(spec, context: (), decoder: decoder)
                    built[spec.name, default: 0] += 1
                }
                for spec in split.batchTransformOps {
                    _ = try registries.data.batchTransform.build(spec, context: (), decoder: decoder)
                    built[spec.name, default: 0] += 1
                }
            }
        }
        for name in ["TimmAutoAugment", "RandomErasing", "OpSampler", "AutoAugment", "MixupOperator"] {
            XCTAssertNotNil(built[name], "\(name) was among the real configs' ops: \(built.keys.sorted())")
        }
    }

    func testDeiTOpsKeepTheirPaddleClasValues() throws {
        let decoder = ConfigDecoder()
        guard let path = realConfigs().first(where: { $0.hasSuffix("DeiT_tiny_patch16_224.yaml") }) else { return XCTFail() }
        let config = try RunConfig.load(path, decoder: decoder)
        let registries = Registries.builtins()
        guard let train = config.dataLoader?.train else { return XCTFail("no Train split") }
        let ops = try train.transformOps.map { try registries.data.transform.build($0, context: (), decoder: decoder) }
        guard let timm = ops.compactMap({ $0 as? TimmAutoAugment }).first,
              let erasing = ops.compactMap({ $0 as? RandomErasing }).first else { return XCTFail("ops missing") }
        XCTAssertEqual(timm.config, try TimmAugmentConfig.parse("rand-m9-mstd0.5-inc1"))
        XCTAssertEqual(erasing.epsilon, 0.25)
        XCTAssertEqual(erasing.areaRange.1, 1.0 / 3.0, "sh: 1.0/3.0 is evaluated")
        XCTAssertEqual(erasing.attempt, 10)
        XCTAssertEqual(erasing.mode, .pixel)
        XCTAssertTrue(erasing.useLogAspect)
        let batchOps = try train.batchTransformOps.map { try registries.data.batchTransform.build($0, context: (), decoder: decoder) }
        guard let sampler = batchOps.first as? OpSampler else { return XCTFail("OpSampler expected") }
        XCTAssertEqual(sampler.ops.map(\.prob), [0.5, 0.5])
        XCTAssertEqual((sampler.ops[0].op as? MixupOperator)?.alpha, 0.8)
        XCTAssertEqual((sampler.ops[1].op as? CutmixOperator)?.alpha, 1.0)
    }

    private func assertBuildFails(_ yaml: String, batch: Bool = false, _ needles: [String], line: UInt = #line) {
        let registries = Registries.builtins()
        do {
            let node = try ConfigLoader.parse(yaml, path: "augment.yaml")
            let spec = try ComponentSpec(node: node, path: batch ? "batch_transform_ops.0" : "transform_ops.0")
            if batch {
                _ = try registries.data.batchTransform.build(spec, context: (), decoder: ConfigDecoder())
            } else {
                _ = try registries.data.transform.build(spec, context: (), decoder: ConfigDecoder())
            }
            XCTFail("expected an error", line: line)
        } catch {
            for n in needles where !"\(error)".contains(n) { XCTFail("«\(error)» lacks «\(n)»", line: line) }
        }
    }

    func testConfigErrorsNameTheProblem() {
        assertBuildFails("TimmAutoAugment: {config_str: rand-m9-bogus2}", ["TimmAutoAugment", "'bogus2'"])
        assertBuildFails("RandAugment: {num_layer: 2}", ["num_layer", "num_layers"])
        assertBuildFails("OpSampler: {MixupOperator: {alpha: 0.8, prob: 0.7}, CutmixOperator: {alpha: 1.0, prob: 0.5}}",
                         batch: true, ["sum to 1.2", "at most 1"])
        assertBuildFails("OpSampler: {MixupOperator: {alpah: 0.8, prob: 0.5}}", batch: true, ["alpah", "alpha"])
        assertBuildFails("OpSampler: {FmixOperator: {prob: 0.5}}", batch: true, ["FmixOperator"])
        assertBuildFails("MixupOperator: {alpha: 0}", batch: true, ["alpha", "> 0"])
        assertBuildFails("CutmixOperator: {alpha: -1}", batch: true, ["alpha", "> 0"])
        assertBuildFails("AugMix: {severity: 0}", ["AugMix", "aug_severity"])
    }

    /// Every new op and the batch ops in one small training run (a few iterations).
    func testTrainingWithAugmentationsRuns() throws {
        let run = try TinyRun(classes: 4, perClass: 4, epochs: 1)
        let ops = """
        [{DecodeImage: {to_rgb: True}}, {AutoAugment: null}, {RandAugment: {num_layers: 2, magnitude: 9}}, \
        {TimmAutoAugment: {config_str: rand-m9-mstd0.5-inc1, img_size: 32}}, {AugMix: {prob: 1.0, severity: 3}}, \
        {ColorJitter: {brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1}}, {RandomRotation: {degrees: 10}}, \
        {RandomGrayscale: {p: 0.2}}, {TimmAutoAugment: {config_str: augmix-m5-w3, img_size: 32}}, \
        {NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}}, \
        {RandomErasing: {EPSILON: 0.5, sh: 1.0/3.0, mode: pixel, use_log_aspect: True}}, {Cutout: {length: 8}}, \
        {GridMask: {d1: 4, d2: 16}}]
        """
        let engine = try Engine(configPath: run.config, overrides: [
            "DataLoader.Train.dataset.transform_ops=\(ops)",
            "DataLoader.Train.dataset.batch_transform_ops=[{OpSampler: {MixupOperator: {alpha: 0.8, prob: 0.5}, "
                + "CutmixOperator: {alpha: 1.0, prob: 0.5}}}]",
            "Global.eval_during_train=False",
        ], mode: .train, quiet: true)
        guard let stream = engine.trainData else { return XCTFail("no training data") }
        let cursor = try stream.start(epoch: 1, from: 0)
        guard let first = try cursor.next() else { return XCTFail("no batch") }
        cursor.cancel()
        XCTAssertEqual(first.targets.soft?.shape, [8, 4], "OpSampler always mixes here (probabilities sum to 1)")
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        try Trainer(engine: engine).run()
        let avg = lines.first { $0.contains("[Train][Epoch 1/1][Avg]") } ?? ""
        XCTAssertTrue(avg.contains("CELoss: ") && !avg.contains("nan"), avg)
    }

    /// The Fashion-MNIST quickstart config trains a few iterations with AutoAugment, RandAugment and AugMix in
    /// `transform_ops` and Mixup in `batch_transform_ops`, all added with `-o`. Uses a 64-image conversion of the
    /// Debian Fashion-MNIST files (skipped when they are absent).
    func testQuickstartConfigWithAugmentationOverrides() throws {
        let source = FashionMNIST.defaultSource
        guard FileManager.default.fileExists(atPath: source + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("\(source) is absent (Debian package dataset-fashion-mnist)")
        }
        let here = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
        let config = here.appendingPathComponent("../../configs/quickstart_mobilenet_v3_small_fmnist.yaml").standardized.path
        let dir = temporaryDirectory("augment-fmnist")
        let data = "\(dir)/fmnist"
        _ = try FashionMNIST.convert(from: source, to: data, limit: 64)
        let overrides = [
            "Global.output_dir=\(dir)/output", "Global.epochs=1", "Global.iter_per_epoch=3", "Global.eval_during_train=False",
            "DataLoader.Train.dataset.image_root=\(data)", "DataLoader.Train.dataset.cls_label_path=\(data)/train_list.txt",
            "DataLoader.Train.sampler.batch_size=16", "DataLoader.Eval.dataset.image_root=\(data)",
            "DataLoader.Eval.dataset.cls_label_path=\(data)/test_list.txt", "Infer.infer_imgs=\(data)/images/test",
            "Infer.PostProcess.class_id_map_file=\(data)/label_list.txt",
            "DataLoader.Train.dataset.transform_ops=[{DecodeImage: {to_rgb: True}}, {RandCropImage: {size: 64}}, "
                + "{AutoAugment: null}, {RandAugment: {num_layers: 2, magnitude: 5}}, {AugMix: {prob: 0.5}}, "
                + "{NormalizeImage: {scale: 1.0/255.0, mean: [0.286, 0.286, 0.286], std: [0.353, 0.353, 0.353], order: ''}}]",
            "DataLoader.Train.dataset.batch_transform_ops=[{MixupOperator: {alpha: 0.2}}]",
        ]
        let engine = try Engine(configPath: config, overrides: overrides, mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        try Trainer(engine: engine).run()
        let avg = lines.first { $0.contains("[Train][Epoch 1/1][Avg]") } ?? ""
        XCTAssertTrue(avg.contains("CELoss: ") && !avg.contains("nan"), lines.joined(separator: "\n"))
    }
}
