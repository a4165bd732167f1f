import ClasEngine
import ClasNN
import ClasProto
import ClasTensor
import Foundation

/// `tools export`: writes `Global.save_inference_dir/inference.onnx` (NCHW float input `x` with a dynamic batch,
/// output `logits`) and `inference.yml` (PaddleClas deployment format) for the engine's model and weights.
///
/// Before writing, the exported graph (batch norms folded, constants folded) is run with SwiftClas's own operations
/// on a random batch and compared with the model; the difference is logged (it is rounding, ~1e-6).
public struct ExportRun {
    /// The engine whose config, model and weights are exported.
    public let engine: Engine
    /// Input/output names, softmax, metadata.
    public var options = OnnxExportOptions()

    /// What an export wrote.
    public struct Result {
        public let onnxPath: String
        public let inferenceConfigPath: String
        /// Size of `inference.onnx` in bytes.
        public let bytes: Int
        /// Largest |exported graph − model| over a random batch's logits.
        public let maxDifference: Float
        public let model: Onnx_ModelProto
    }

    /// An export of `engine`'s model; `appendSoftmax` (or `Arch.infer_add_softmax: True`) makes the output
    /// probabilities.
    public init(engine: Engine, appendSoftmax: Bool = false) {
        self.engine = engine
        options.appendSoftmax = appendSoftmax || engine.inferAddSoftmax
    }

    /// Exports the engine's model (a ``QuantizedModel`` becomes a QDQ int8 model).
    @discardableResult
    public func run() throws -> Result { try export(engine.model) }

    /// Exports `model` with the engine's config (input size, transforms, labels, output folder).
    public func export(_ model: Module) throws -> Result {
        let config = engine.config
        let (c, h, w) = ExportInput.shape(for: config, models: engine.registries.arch)
        let quantized = model as? QuantizedModel
        let graph = try quantized?.graph ?? ExportGraph.trace(model, height: h, width: w, channels: c)
        var options = self.options
        options.modelName = config.arch.name
        options.metadata["arch"] = config.arch.name
        options.metadata["input_shape"] = "[-1, \(c), \(h), \(w)]"
        options.metadata["class_num"] = String(engine.classCount)
        if let names = engine.classNames { options.metadata["class_names"] = names.joined(separator: "\n") }
        if let weights = config.global.pretrainedModel { options.metadata["weights"] = Checkpoint.path(for: weights) }
        let onnx = try OnnxExporter.export(graph, options: options)
        let difference = try ExportRun.check(graph, against: model, height: h, width: w, channels: c)

        let dir = config.global.saveInferenceDir
        let onnxPath = (dir as NSString).appendingPathComponent("inference.onnx")
        let ymlPath = (dir as NSString).appendingPathComponent("inference.yml")
        let data = try OnnxExporter.serialize(onnx)
        try AtomicFile.write(data, to: onnxPath)
        try InferenceConfig(engine: engine, inputShape: (c, h, w), onnx: options,
                            quantization: quantized.map { _ in QuantizedModel.description })
            .write(to: ymlPath)
        let log = engine.logger
        log.info("Exported \(config.arch.name)\(quantized == nil ? "" : " (int8 QDQ)") to \(onnxPath) "
                 + String(format: "(%.2f MB, opset %d): input %@ [N, %d, %d, %d] float32, output %@ [N, %d]",
                          Double(data.count) / 1e6, Int(OnnxExportOptions.opset), options.inputName, c, h, w,
                          options.outputName, engine.classCount))
        log.info("Operators: " + ExportRun.operatorSummary(onnx))
        log.info(String(format: "Exported graph vs model on a random batch: max |Δlogit| = %.3g", Double(difference)))
        log.info("Wrote \(ymlPath)")
        return Result(onnxPath: onnxPath, inferenceConfigPath: ymlPath, bytes: data.count, maxDifference: difference,
                      model: onnx)
    }

    /// Runs the exported form of `graph` (as ``OnnxExporter/inferenceGraph(_:)``, compiled by ``InferencePlan``
    /// when it is a float graph) and `model` on the same random batch of 2 and returns the largest logit difference.
    public static func check(_ graph: ExportGraph, against model: Module, height: Int, width: Int, channels: Int)
        throws -> Float
    {
        var rng = RandomState(seed: 0xC4EC)
        let x = Tensor.randomNormal([2, height, width, channels], using: &rng)
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let expected = GradMode.withoutGrad { model.outputs(x).logits }
        // Float graphs run through the inference mode (the same folded graph, with SwiftClas's fused kernels), so
        // the check covers what `tools eval`/`tools infer` run; int8 QDQ graphs with the tensor operations.
        let plan = try? InferencePlan(graph: graph)
        let actual = GradMode.withoutGrad { plan?.run(x) ?? GraphExecutor(OnnxExporter.inferenceGraph(graph)).run(x) }
        guard expected.shape == actual.shape else {
            throw ExportError("the exported graph gives shape \(actual.shape), the model \(expected.shape)")
        }
        var worst: Float = 0
        for i in 0..<expected.count { worst = max(worst, abs(expected.data[i] - actual.data[i])) }
        return worst
    }

    /// `Conv×52, HardSwish×19, …` in order of first use.
    public static func operatorSummary(_ model: Onnx_ModelProto) -> String {
        var order: [String] = [], counts: [String: Int] = [:]
        for node in model.graph.node {
            if counts[node.opType] == nil { order.append(node.opType) }
            counts[node.opType, default: 0] += 1
        }
        return order.map { "\($0)×\(counts[$0] ?? 0)" }.joined(separator: ", ")
    }
}

extension QuantizedModel {
    /// One line describing the quantisation scheme (inference.yml, metadata).
    public static let description = "int8 QDQ: weights int8 symmetric per output channel, activations uint8 per tensor"
}
