import ClasNN
import ClasProto
import ClasTensor
import Foundation
import SwiftProtobuf

/// Settings of an ONNX export.
public struct OnnxExportOptions: Sendable {
    /// Name of the image input, `[N, C, H, W]` float32 with a dynamic `N` (PaddleClas's is `x`).
    public var inputName = "x"
    /// Name of the output, `[N, classes]`.
    public var outputName = "logits"
    /// Append a `Softmax` so the output is probabilities (PaddleClas's `infer_add_softmax`). Default false: logits,
    /// which SwiftClas's `Topk` post-processing turns into probabilities.
    public var appendSoftmax = false
    /// The graph's name.
    public var modelName = "swiftclas"
    /// Key/value pairs stored in the model's `metadata_props`.
    public var metadata: [String: String] = [:]

    /// The operator set written (HardSwish needs 14; 17 is read by onnxruntime ≥ 1.12 and OpenVINO ≥ 2022.1).
    public static let opset: Int64 = 17
    /// ONNX IR version matching opset 17.
    public static let irVersion: Int64 = 8

    /// The defaults above.
    public init() {}
}

/// Exports models to ONNX: trace, fold batch norms into convolutions, fold constants, lower to standard operators.
///
/// ```swift
/// let onnx = try OnnxExporter.export(model, height: 224, width: 224)
/// try OnnxExporter.write(onnx, to: "inference/inference.onnx")
/// ```
/// The model runs in evaluation mode (dropout and drop path are gone), MobileOne is re-parameterized, and a
/// ``QuantizedModel`` is written as a QDQ model (int8 weights, `QuantizeLinear`/`DequantizeLinear` on the inputs of
/// convolutions and linear layers).
public enum OnnxExporter {
    /// Traces `model` on `height`×`width`×`channels` images and returns the ONNX model.
    public static func export(_ model: Module, height: Int, width: Int, channels: Int = 3,
                              options: OnnxExportOptions = OnnxExportOptions()) throws -> Onnx_ModelProto {
        if let quantized = model as? QuantizedModel { return try export(quantized.graph, options: options) }
        return try export(ExportGraph.trace(model, height: height, width: width, channels: channels), options: options)
    }

    /// Lowers a traced graph (which is left unchanged) to an ONNX model.
    public static func export(_ graph: ExportGraph, options: OnnxExportOptions = OnnxExportOptions()) throws
        -> Onnx_ModelProto
    {
        let g = inferenceGraph(graph)
        var lowering = OnnxLowering(graph: g, options: options)
        var model = Onnx_ModelProto()
        model.irVersion = OnnxExportOptions.irVersion
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = OnnxExportOptions.opset
        model.opsetImport = [opset]
        model.producerName = "SwiftClas"
        model.producerVersion = "0.1.0"
        model.graph = try lowering.lower()
        model.metadataProps = options.metadata.sorted { $0.key < $1.key }.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return model
    }

    /// The graph as exported, in SwiftClas semantics: batch norms folded, identities removed, constants folded.
    /// Running it with ``GraphExecutor`` shows what the ONNX model computes.
    public static func inferenceGraph(_ graph: ExportGraph) -> ExportGraph {
        let g = graph.copy()
        g.foldBatchNorms()
        g.removeIdentities()
        g.foldConstants()
        return g
    }

    /// The serialised model.
    public static func serialize(_ model: Onnx_ModelProto) throws -> Data {
        try model.serializedData()
    }

    /// Writes the model to `path` atomically (creating the folder).
    public static func write(_ model: Onnx_ModelProto, to path: String) throws {
        try AtomicFile.write(serialize(model), to: path)
    }
}
