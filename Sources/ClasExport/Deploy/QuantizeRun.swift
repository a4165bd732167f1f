import ClasEngine
import ClasNN
import ClasTensor
import Foundation

/// `tools quantize`: post-training static quantisation of `Global.pretrained_model`.
///
/// Calibrates activation ranges on `Slim.quant.calibration_images` training images (min/max or percentile), then
/// evaluates the float and the simulated-int8 model on `DataLoader.Eval` (when present), saves the quantised
/// checkpoint `Global.output_dir/<Arch.name>/quant_model.safetensors` (the float weights plus `quant.*.range`; `tools
/// eval`/`infer`/`export` run it as int8) and exports the QDQ ONNX model and `inference.yml` to
/// `Global.save_inference_dir`. A summary goes to `quantization.yaml` in the output folder.
public struct QuantizeRun {
    /// The engine holding the float model (its `Global.pretrained_model`).
    public let engine: Engine

    /// What quantisation gave.
    public struct Report {
        public var calibrationImages: Int
        public var method: CalibrationMethod
        /// Top-1 of the float and the simulated int8 model on `DataLoader.Eval` (nil without one).
        public var floatTop1: Double?
        public var int8Top1: Double?
        /// Sizes of the float and int8 ONNX models in bytes.
        public var floatBytes: Int
        public var int8Bytes: Int
        public var checkpoint: String
        public var onnxPath: String
    }

    /// A run for `engine` (built in `.eval` mode to compare accuracies, or `.export` without `DataLoader.Eval`).
    public init(engine: Engine) { self.engine = engine }

    /// Calibrates, evaluates, saves and exports; returns the figures (also written to `quantization.yaml`).
    @discardableResult
    public func run() throws -> Report {
        guard engine.config.global.pretrainedModel != nil else {
            throw ExportError("tools quantize needs the float weights: -o Global.pretrained_model=output/<Arch>/best_model")
        }
        guard !(engine.model is QuantizedModel) else {
            throw ExportError("Global.pretrained_model is already quantised (it holds quant.*.range); give the float weights")
        }
        let options = try QuantizationOptions.from(engine.config, decoder: engine.decoder)
        let log = engine.logger
        let (c, h, w) = ExportInput.shape(for: engine.config, models: engine.registries.arch)
        let base = engine.model
        let calibration = try CalibrationData(engine: engine, images: options.calibrationImages, batchSize: options.batchSize)
        let quantized = try QuantizedModel(base, height: h, width: w, channels: c, weightBits: options.weightBits)
        log.info("Calibrating \(quantized.quantizers.count) activation ranges on \(calibration.imageCount) training images "
                 + "(\(options.calibration.rawValue)\(options.calibration == .percentile ? " \(options.percentile)" : ""))")
        try quantized.calibrate(method: options.calibration, percentile: options.percentile, batches: calibration.forEach)

        var floatTop1: Double?, int8Top1: Double?
        if let data = engine.evalData {
            floatTop1 = try Accuracy.top1(base, data)
            int8Top1 = try Accuracy.top1(quantized, data)
            log.info(String(format: "[Eval] top1 float32: %.5f, int8 (simulated): %.5f, drop: %.2f points",
                            floatTop1 ?? 0, int8Top1 ?? 0, 100 * ((floatTop1 ?? 0) - (int8Top1 ?? 0))))
        }
        let checkpoint = (engine.runDir as NSString).appendingPathComponent("quant_model")
        try QuantizeRun.save(quantized, engine: engine, to: checkpoint, metric: int8Top1)
        log.info("Saved \(Checkpoint.path(for: checkpoint))")

        let floatBytes = try OnnxExporter.serialize(OnnxExporter.export(base, height: h, width: w, channels: c)).count
        let exported = try ExportRun(engine: engine).export(quantized)
        log.info(String(format: "ONNX size: float32 %.2f MB, int8 %.2f MB (%.2f×)", Double(floatBytes) / 1e6,
                        Double(exported.bytes) / 1e6, Double(floatBytes) / Double(max(exported.bytes, 1))))
        let report = Report(calibrationImages: calibration.imageCount, method: options.calibration, floatTop1: floatTop1,
                            int8Top1: int8Top1, floatBytes: floatBytes, int8Bytes: exported.bytes,
                            checkpoint: Checkpoint.path(for: checkpoint), onnxPath: exported.onnxPath)
        try report.write(to: (engine.runDir as NSString).appendingPathComponent("quantization.yaml"), arch: engine.config.arch.name)
        return report
    }

    /// Saves a quantised model as a checkpoint: its state dict (float weights and `quant.*.range`) and the class
    /// names, with `quantization` in the metadata.
    static func save(_ model: QuantizedModel, engine: Engine, to prefix: String, metric: Double?) throws {
        var extra = ["arch": engine.config.arch.name, "class_num": String(engine.classCount),
                     "quantization": QuantizedModel.description]
        if let names = engine.classNames { extra["class_names"] = names.joined(separator: "\n") }
        try Checkpoint.save(prefix: prefix, model: model, optimizer: nil, ema: nil,
                            state: .init(epoch: 0, step: 0, bestMetric: metric ?? 0, bestEpoch: 0, extra: extra))
    }
}

extension QuantizeRun.Report {
    /// Writes the report as YAML.
    func write(to path: String, arch: String) throws {
        func f(_ v: Double?) -> String { v.map { String(format: "%.5f", $0) } ?? "null" }
        let lines = [
            "# tools quantize: post-training int8 quantisation of \(arch)",
            "calibration: \(method.rawValue)", "calibration_images: \(calibrationImages)",
            "top1_float32: \(f(floatTop1))", "top1_int8_simulated: \(f(int8Top1))",
            "top1_drop_points: \(floatTop1.flatMap { a in int8Top1.map { b in String(format: "%.2f", 100 * (a - b)) } } ?? "null")",
            "onnx_bytes_float32: \(floatBytes)", "onnx_bytes_int8: \(int8Bytes)",
            String(format: "size_ratio: %.2f", Double(floatBytes) / Double(max(int8Bytes, 1))),
            "checkpoint: \(checkpoint)", "onnx: \(onnxPath)",
        ]
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
    }
}

/// Top-1 accuracy of a model over a split (evaluation mode, no graph).
enum Accuracy {
    static func top1(_ model: Module, _ data: BatchStream) throws -> Double {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let cursor = try data.start(epoch: 0, from: 0)
        defer { cursor.cancel() }
        var correct = 0, total = 0
        while let batch = try cursor.next() {
            let logits = GradMode.withoutGrad { model.outputs(batch.images).logits }
            let classes = logits.shape[1]
            for (row, label) in batch.targets.labels.enumerated() {
                let p = logits.data + row * classes
                var best = 0
                for j in 1..<classes where p[j] > p[best] { best = j }
                if best == label { correct += 1 }
                total += 1
            }
        }
        return total == 0 ? 0 : Double(correct) / Double(total)
    }
}
