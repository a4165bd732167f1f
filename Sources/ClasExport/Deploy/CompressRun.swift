import ClasConfig
import ClasEngine
import ClasNN
import Foundation

/// `tools compress`: quantisation-aware fine-tuning (QAT) of `Global.pretrained_model`, then export.
///
/// The float model is wrapped in a ``QuantizedModel`` (batch norms folded with their running statistics, int8 fake
/// quantisation of weights and activations, straight-through gradients), activation ranges are calibrated as in
/// `tools quantize` and then tracked by a moving average, and the ordinary trainer fine-tunes for `Global.epochs`
/// with the config's optimizer (use a low learning rate). Evaluation during training is the simulated int8
/// accuracy. Checkpoints go to `Global.output_dir/compress/<Arch.name>/` (so the float checkpoints are not
/// overwritten); the best one is exported to `Global.save_inference_dir` as a QDQ ONNX model.
public enum CompressRun {
    /// Runs the whole flow from a config; returns the best int8 top-1 (simulated) and the export.
    @discardableResult
    public static func run(config: RunConfig, registries: Registries, quiet: Bool = false)
        throws -> (bestMetric: Double, export: ExportRun.Result)
    {
        guard config.global.pretrainedModel != nil || config.global.checkpoints != nil else {
            throw ExportError("tools compress fine-tunes trained weights: -o Global.pretrained_model=output/<Arch>/best_model")
        }
        let outputDir = (config.global.outputDir as NSString).appendingPathComponent("compress")
        var r = registries
        r.modelAdapters.append(quantizationAwareTraining)
        let engine = try Engine(config: config.overriding(["Global.output_dir=\(outputDir)"]), mode: .train, registries: r,
                                quiet: quiet)
        guard let model = engine.model as? QuantizedModel else {
            throw ExportError("the model was not wrapped for quantisation-aware training")
        }
        let trainer = try Trainer(engine: engine)
        trainer.observers.append(QuantizationMarker())
        let best = try trainer.run()
        for name in ["best_model", "latest"] {
            let prefix = (engine.outputDir as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: Checkpoint.path(for: prefix)) else { continue }
            let report = model.load(try Checkpoint.read(prefix: prefix).model)
            engine.logger.info("Exporting \(Checkpoint.path(for: prefix)) (\(report))")
            break
        }
        return (best, try ExportRun(engine: engine).export(model))
    }

    /// Wraps the loaded model for quantisation-aware training (train mode only): ranges from the weights when they
    /// are a quantised checkpoint, else calibrated on training images (`Slim.quant`).
    static let quantizationAwareTraining: ModelAdapter = { model, context in
        guard context.mode == .train, !(model is QuantizedModel) else { return nil }
        let (c, h, w) = ExportInput.shape(for: context.config, models: context.registries.arch)
        let options = try QuantizationOptions.from(context.config, decoder: context.decoder)
        let quantizedWeights = context.weights.flatMap {
            $0.model.keys.contains(where: QuantizationAdapters.isRangeName) ? $0 : nil
        }
        let bits = quantizedWeights.map { QuantizedModel.weightBits(of: $0.model) } ?? options.weightBits
        let quantized = try QuantizedModel(model, height: h, width: w, channels: c, weightBits: bits)
        quantized.train()
        if let weights = quantizedWeights {
            quantized.load(weights.model)
            context.logger.info("Quantisation-aware training from quantised weights (ranges included)")
            return quantized
        }
        guard context.config.global.checkpoints == nil else { return quantized }  // the resumed checkpoint has ranges
        let data = try CalibrationData(config: context.config, registries: context.registries, decoder: context.decoder,
                                       seed: UInt64(truncatingIfNeeded: context.config.global.seed ?? 0),
                                       images: options.calibrationImages, batchSize: options.batchSize)
        try quantized.calibrate(method: options.calibration, percentile: options.percentile, batches: data.forEach)
        context.logger.info("Quantisation-aware training: \(quantized.quantizers.count) activation ranges calibrated on "
                            + "\(data.imageCount) training images (\(options.calibration.rawValue)), then tracked by a moving average")
        return quantized
    }
}

/// Marks every checkpoint of a quantisation-aware run as quantised (metadata `observer.QuantizationMarker.quantization`).
final class QuantizationMarker: TrainingObserver {
    var checkpointState: [String: String] { ["quantization": QuantizedModel.description] }
}
