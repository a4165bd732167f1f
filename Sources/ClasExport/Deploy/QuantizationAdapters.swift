import ClasEngine
import ClasNN

/// Model adapters that let every command run quantised checkpoints.
public enum QuantizationAdapters {
    /// Whether a state-dict name is an activation range (`quant.<layer>.range`).
    static func isRangeName(_ name: String) -> Bool { name.hasPrefix("quant.") && name.hasSuffix(".range") }

    /// Runs weights that hold activation ranges (from `tools quantize` or `tools compress`) as a ``QuantizedModel``
    /// (simulated int8), so `tools eval` reports the int8 accuracy, `tools infer` predicts with it and `tools export`
    /// writes the QDQ model.
    public static let quantizedCheckpoints: ModelAdapter = { model, context in
        guard let weights = context.weights, !(model is QuantizedModel),
              weights.model.keys.contains(where: isRangeName) else { return nil }
        let (c, h, w) = ExportInput.shape(for: context.config, models: context.registries.arch)
        let quantized = try QuantizedModel(model, height: h, width: w, channels: c,
                                           weightBits: QuantizedModel.weightBits(of: weights.model))
        let report = quantized.load(weights.model)
        let missing = report.missing.filter(isRangeName)
        guard missing.isEmpty else {
            throw ExportError("the quantised weights lack \(missing.count) activation ranges of this model "
                              + "(e.g. \(missing.prefix(3).joined(separator: ", "))): were they made for another architecture "
                              + "or input size (Global.image_shape)?")
        }
        context.logger.info("Quantised weights: running \(context.config.arch.name) as simulated int8 "
                            + "(\(quantized.quantizers.count) activation ranges)")
        return quantized
    }
}

extension Registries {
    /// These registries plus the adapter that runs quantised checkpoints as int8 (``QuantizationAdapters``).
    public func withQuantizedCheckpoints() -> Registries {
        var r = self
        r.modelAdapters.append(QuantizationAdapters.quantizedCheckpoints)
        return r
    }
}
