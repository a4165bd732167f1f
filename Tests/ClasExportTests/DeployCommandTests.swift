import ClasConfig
import ClasData
import ClasEngine
import ClasExport
import ClasModels
import ClasNN
import ClasProto
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// A 4-class image-folder dataset of 32×32 PNGs (a bright square whose place is the class) and a config around it.
struct TinyDeployRun {
    let dir: String
    let config: String
    let arch = "MobileNetV3_small_x0_35"

    init(name: String = #function) throws {
        dir = temporaryDirectory(name)
        for split in ["train", "val"] {
            for k in 0..<4 {
                let folder = "\(dir)/\(split)/class_\(k)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for i in 0..<6 {
                    var pixels = [UInt8](repeating: 20, count: 32 * 32 * 3)
                    let ox = (k % 2) * 16, oy = (k / 2) * 16
                    for y in 0..<16 { for x in 0..<16 { for c in 0..<3 {
                        pixels[((oy + y) * 32 + ox + x) * 3 + c] = UInt8(170 + (i * 11 + c * 17) % 80)
                    } } }
                    try ImageCodec.writePNG(Image(width: 32, height: 32, channels: 3, pixels: pixels),
                                            to: "\(folder)/\(i).png", durable: false)
                }
            }
        }
        config = "\(dir)/run.yaml"
        let normalize = "NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}"
        try """
        Global:
          output_dir: \(dir)/output
          save_inference_dir: \(dir)/inference
          epochs: 1
          print_batch_step: 2
          seed: 7
          image_shape: [3, 32, 32]
        Arch: {name: \(arch), class_num: 4}
        Loss:
          Train: [{CELoss: {weight: 1.0}}]
          Eval: [{CELoss: {weight: 1.0}}]
        Optimizer:
          name: Momentum
          momentum: 0.9
          lr: {name: Cosine, learning_rate: 0.01}
        DataLoader:
          Train:
            dataset:
              name: ImageFolderDataset
              image_root: \(dir)/train
              transform_ops: [{DecodeImage: {to_rgb: True}}, {RandFlipImage: {flip_code: 1}}, {\(normalize)}]
            sampler: {name: DistributedBatchSampler, batch_size: 8, shuffle: True}
            loader: {num_workers: 1}
          Eval:
            dataset:
              name: ImageFolderDataset
              image_root: \(dir)/val
              transform_ops: [{DecodeImage: {to_rgb: True}}, {ResizeImage: {size: 32}}, {\(normalize)}]
            sampler: {name: DistributedBatchSampler, batch_size: 8}
            loader: {num_workers: 0}
        Infer:
          infer_imgs: \(dir)/val/class_2
          batch_size: 4
          transforms: [{DecodeImage: {to_rgb: True}}, {ResizeImage: {size: 32}}, {\(normalize)}, {ToCHWImage: }]
          PostProcess: {name: Topk, topk: 2}
        Metric:
          Eval: [{TopkAcc: {topk: [1, 2]}}]
        """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Saves a randomly initialised model as `weights.safetensors`, with batch-norm statistics and a logit scale like a
    /// trained network's (see `randomizeBatchNorms`, `normalizeLogitScale`).
    func saveWeights() throws -> String {
        let engine = try Engine(configPath: config, mode: .train, quiet: true)
        randomizeBatchNorms(engine.model, inputSize: 32)
        let cursor = try XCTUnwrap(engine.trainData).start(epoch: 0, from: 0)
        let batch = try XCTUnwrap(try cursor.next())
        cursor.cancel()
        normalizeLogitScale(engine.model, classifierPrefixes: ["classifier."], input: batch.images)
        let prefix = "\(dir)/weights"
        try Checkpoint.save(prefix: prefix, model: engine.model, optimizer: nil, ema: nil,
                            state: .init(epoch: 1, step: 1, bestMetric: 0, bestEpoch: 1,
                                         extra: ["class_num": "4", "class_names": "class_0\nclass_1\nclass_2\nclass_3"]))
        return prefix
    }
}

final class DeployCommandTests: XCTestCase {
    /// `tools export`: both files, a PaddleClas-style inference.yml, and onnxruntime's logits on the Infer images
    /// (preprocessed as `tools infer` does) equal to SwiftClas's.
    func testExportWritesModelAndInferenceConfig() throws {
        let run = try TinyDeployRun()
        let weights = try run.saveWeights()
        let engine = try Engine(configPath: run.config, overrides: ["Global.pretrained_model=\(weights)"], mode: .export,
                                quiet: true)
        let result = try ExportRun(engine: engine).run()
        XCTAssertLessThan(result.maxDifference, 1e-3, "exported graph vs model on random images")
        let yml = try String(contentsOfFile: result.inferenceConfigPath, encoding: .utf8)
        for expected in ["model_name: \(run.arch)", "input_shape: [-1, 3, 32, 32]", "- ResizeImage:", "scale: 0.00392156862745098",
                         "- ToCHWImage: null", "Topk:", "topk: 2", "label_list: ['class_0', 'class_1', 'class_2', 'class_3']"] {
            XCTAssertTrue(yml.contains(expected), "inference.yml lacks '\(expected)':\n\(yml)")
        }
        XCTAssertFalse(yml.contains("DecodeImage"))

        // The rest runs the exported file in onnxruntime: skipped with the reason when Python lacks it (fails on CI).
        let runtime = try OnnxRuntimeRunner.find()
        let infer = try Engine(configPath: run.config, overrides: ["Global.pretrained_model=\(weights)"], mode: .infer,
                               quiet: true)
        let ops = try engine.config.infer?.transforms.map {
            try infer.registries.data.transform.build($0, context: (), decoder: infer.decoder)
        } ?? []
        let files = try ImageFiles.collect("\(run.dir)/val/class_2")
        let loader = try DataLoader(dataset: ImageListDataset(paths: files), transforms: ops,
                                    sampler: BatchSampler(datasetCount: files.count, batchSize: files.count))
        let batch = try XCTUnwrap(try loader.epoch(0).next())
        infer.model.eval()
        let expected = GradMode.withoutGrad { infer.model(batch.images) }.scalars
        let got = try runtime.run(model: result.onnxPath, input: batch.images)
        XCTAssertLessThanOrEqual(maxAbsDifference(got, expected), 1e-4)
    }

    /// `Arch.infer_add_softmax: True` appends the softmax as `tools export --softmax` does; False or absent does not.
    func testInferAddSoftmaxAppendsTheSoftmaxOnExport() throws {
        let run = try TinyDeployRun()
        let weights = try run.saveWeights()
        for (value, softmax) in [("True", true), ("False", false)] {
            let engine = try Engine(configPath: run.config, overrides: ["Global.pretrained_model=\(weights)",
                                                                        "Arch.infer_add_softmax=\(value)"],
                                    mode: .export, quiet: true)
            XCTAssertEqual(engine.inferAddSoftmax, softmax)
            XCTAssertFalse(engine.decoder.notices.contains { $0.message.contains("infer_add_softmax") })
            let result = try ExportRun(engine: engine).run()
            XCTAssertEqual(result.model.graph.node.last?.opType == "Softmax", softmax, value)
            let yml = try String(contentsOfFile: result.inferenceConfigPath, encoding: .utf8)
            XCTAssertTrue(yml.contains(softmax ? "probabilities" : "logits"), yml)
        }
    }

    /// `tools quantize` → `tools eval` of the quantised checkpoint (simulated int8) → the same accuracy;
    /// `tools export` of it writes the int8 model again. With `Slim.quant.reduce_range` the weights are 7-bit, and
    /// the checkpoint keeps that (the re-export is the same graph).
    func testQuantizeThenEvaluateAndExportTheQuantizedCheckpoint() throws {
        for reduceRange in [false, true] {
            let run = try TinyDeployRun()
            let weights = try run.saveWeights()
            let engine = try Engine(configPath: run.config,
                                    overrides: ["Global.pretrained_model=\(weights)", "Slim.quant.calibration_images=16",
                                                "Slim.quant.calibration=minmax", "Slim.quant.reduce_range=\(reduceRange)"],
                                    mode: .eval, registries: Registries.builtins().withQuantizedCheckpoints(), quiet: true)
            let report = try QuantizeRun(engine: engine).run()
            XCTAssertEqual(report.calibrationImages, 16)
            XCTAssertNotNil(report.floatTop1)
            XCTAssertLessThan(Double(report.int8Bytes), Double(report.floatBytes) / 2.5)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run.dir)/inference/inference.onnx"))
            let summary = try String(contentsOfFile: "\(engine.runDir)/quantization.yaml", encoding: .utf8)
            XCTAssertTrue(summary.contains("size_ratio:"), summary)

            let quantPrefix = "\(engine.runDir)/quant_model"
            let eval = try Engine(configPath: run.config, overrides: ["Global.pretrained_model=\(quantPrefix)"], mode: .eval,
                                  registries: Registries.builtins().withQuantizedCheckpoints(), quiet: true)
            XCTAssertEqual((eval.model as? QuantizedModel)?.weightBits, reduceRange ? 7 : 8)
            let values = try EvaluationReport(engine: eval).run()
            let top1 = try XCTUnwrap(values.first { $0.0 == "top1" }?.1)
            XCTAssertEqual(top1, try XCTUnwrap(report.int8Top1), accuracy: 1e-9)

            let again = try Engine(configPath: run.config,
                                   overrides: ["Global.pretrained_model=\(quantPrefix)", "Global.save_inference_dir=\(run.dir)/again"],
                                   mode: .export, registries: Registries.builtins().withQuantizedCheckpoints(), quiet: true)
            let exported = try ExportRun(engine: again).run()
            XCTAssertTrue(exported.model.graph.node.contains { $0.opType == "DequantizeLinear" })
            let first = try Onnx_ModelProto(serializedBytes: Data(contentsOf: URL(fileURLWithPath: report.onnxPath)))
            XCTAssertEqual(exported.model.graph, first.graph, "the quantised checkpoint exports the same int8 graph")
            let int8 = first.graph.initializer.filter { $0.dataType == 3 }.flatMap { $0.rawData.map { Int8(bitPattern: $0) } }
            XCTAssertEqual(int8.max(), reduceRange ? 63 : 127)
        }
    }

    /// `tools compress`: a quantisation-aware epoch, checkpoints with ranges in their own folder, int8 export.
    func testCompressFineTunesAndExports() throws {
        let run = try TinyDeployRun()
        let weights = try run.saveWeights()
        let (best, export) = try CompressRun.run(
            config: RunConfig.load(run.config,
                                   overrides: ["Global.pretrained_model=\(weights)", "Slim.quant.calibration_images=16",
                                               "Global.save_inference_dir=\(run.dir)/qat"]),
            registries: Registries.builtins().withQuantizedCheckpoints(), quiet: true)
        let checkpoint = try Checkpoint.read(prefix: "\(run.dir)/output/compress/\(run.arch)/best_model")
        // The best metric reported is the top-1 of the saved best model (4 classes × 6 validation images).
        let eval = try Engine(configPath: run.config,
                              overrides: ["Global.pretrained_model=\(run.dir)/output/compress/\(run.arch)/best_model"],
                              mode: .eval, registries: Registries.builtins().withQuantizedCheckpoints(), quiet: true)
        let top1 = try XCTUnwrap(try EvaluationReport(engine: eval).run().first { $0.0 == "top1" }?.1)
        XCTAssertEqual(best, top1, accuracy: 1e-9)
        XCTAssertTrue(checkpoint.model.keys.contains("quant.conv_stem.range"))
        XCTAssertNotNil(checkpoint.metadata.first { $0.key.hasSuffix("quantization") })
        XCTAssertEqual(export.onnxPath, "\(run.dir)/qat/inference.onnx")
        XCTAssertTrue(export.model.graph.node.contains { $0.opType == "QuantizeLinear" })
    }
}
