import ClasConfig
import ClasEngine
import ClasTensor
import Foundation

/// `inference.yml` next to `inference.onnx`, in PaddleClas's deployment format (what `export_model.py` writes for
/// FastDeploy/PaddleX), so PaddleClas-style deployment tools can read it:
///
/// ```yaml
/// Global:        {model_name, input_name, input_shape: [-1, 3, H, W], input_layout: NCHW, color_order, output_name, output}
/// PreProcess:    {transform_ops: Infer.transforms without DecodeImage, NormalizeImage.scale as a number, ToCHWImage last}
/// PostProcess:   {Topk: {topk, label_list}}
/// ```
/// The transforms come from `Infer.transforms` (else `DataLoader.Eval.transform_ops`).
public struct InferenceConfig {
    /// The YAML document.
    public let root: ConfigNode

    /// Builds the document for the engine's config.
    /// - Parameters:
    ///   - inputShape: (channels, height, width) of the exported input.
    ///   - outputIsProbability: whether the ONNX output went through a softmax.
    ///   - quantization: a line describing the quantisation, for int8 models.
    public init(engine: Engine, inputShape: (Int, Int, Int), onnx options: OnnxExportOptions,
                quantization: String? = nil) throws {
        let config = engine.config
        let transforms = config.infer?.transforms ?? config.dataLoader?.eval?.transformOps ?? []
        let decode = transforms.first { $0.name == "DecodeImage" }
        let toRGB = decode?.args["to_rgb"]?.scalar.flatMap { Scalars.bool($0.text) } ?? true
        var global: [ConfigNode.Entry] = [
            .init(key: "model_name", value: .plain(config.arch.name)),
            .init(key: "input_name", value: .plain(options.inputName)),
            .init(key: "input_shape", value: .list([-1, inputShape.0, inputShape.1, inputShape.2].map { .plain(String($0)) })),
            .init(key: "input_layout", value: .plain("NCHW")),
            .init(key: "color_order", value: .plain(toRGB ? "RGB" : "BGR")),
            .init(key: "output_name", value: .plain(options.outputName)),
            .init(key: "output", value: .plain(options.appendSoftmax ? "probabilities" : "logits")),
        ]
        if let quantization { global.append(.init(key: "quantization", value: .quoted(quantization))) }

        var ops: [ConfigNode] = []
        for spec in transforms where spec.name != "DecodeImage" {
            var args = spec.args
            if spec.name == "NormalizeImage" {
                if let text = args["scale"]?.scalar?.text, let scale = Scalars.double(text) {
                    args = args.setting("scale", to: .plain(String(scale)))
                }
                if args["channel_num"] == nil { args = args.setting("channel_num", to: .plain(String(inputShape.0))) }
            }
            let empty = args.entries?.isEmpty ?? true
            ops.append(.mapping([.init(key: spec.name, value: empty ? .null() : args)]))
        }
        if !transforms.contains(where: { $0.name == "ToCHWImage" }) {
            ops.append(.mapping([.init(key: "ToCHWImage", value: .null())]))
        }

        var topk: [ConfigNode.Entry] = []
        var k = min(5, engine.classCount)
        var names = engine.classNames
        if let spec = config.infer?.postProcess {
            let post = try engine.registries.postProcess.build(
                spec, context: ComponentContext(classCount: engine.classCount), decoder: engine.decoder)
            if let t = post as? TopkPostProcess {
                k = t.k
                if !t.labelNames.isEmpty {
                    names = (0..<engine.classCount).map { t.labelNames[$0] ?? "" }
                }
            }
        }
        topk.append(.init(key: "topk", value: .plain(String(k))))
        if let names { topk.append(.init(key: "label_list", value: .list(names.map { .quoted($0) }))) }

        root = .mapping([
            .init(key: "Global", value: .mapping(global)),
            .init(key: "PreProcess", value: .mapping([.init(key: "transform_ops", value: .list(ops))])),
            .init(key: "PostProcess", value: .mapping([.init(key: "Topk", value: .mapping(topk))])),
        ])
    }

    /// The YAML text.
    public func yaml() throws -> String {
        try ConfigDump.yaml(root, header: "SwiftClas inference config for inference.onnx (PaddleClas deployment format)")
    }

    /// Writes the YAML to `path` atomically.
    public func write(to path: String) throws {
        try AtomicFile.write(yaml(), to: path)
    }
}

extension ConfigNode {
    static func plain(_ text: String) -> ConfigNode { .scalar(text, quoted: false) }
    static func quoted(_ text: String) -> ConfigNode { .scalar(text, quoted: true) }
    static func list(_ items: [ConfigNode]) -> ConfigNode { .sequence(items) }
}
