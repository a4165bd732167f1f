import ClasConfig
import ClasEngine
import ClasModels
import ClasNN
import ClasTensor

/// An exported ONNX model as an `Arch`, run by SwiftClas itself (``OnnxInterpreter``): with
/// `Arch: {name: OnnxModel, path: inference/inference.onnx}` every command that runs a trained model (`infer`,
/// `eval`, `tools predict inference/`) uses the exported file instead of a checkpoint, so deployment needs no Python.
/// It has no parameters of its own: it cannot be trained or re-exported.
public final class OnnxModel: Module {
    /// The file it was read from.
    public let path: String
    /// The checked program and its interpreter.
    public let interpreter: OnnxInterpreter
    /// True when the file ends in a `Softmax` (exported with `--softmax` / `infer_add_softmax`): ``forward(_:)`` then
    /// returns the probabilities' logarithm, so the `Topk` post-processing's softmax gives them back unchanged.
    public let outputsProbabilities: Bool

    /// Reads, checks and dry-runs `path` (see ``OnnxInterpreter/init(_:)``).
    public init(path: String) throws {
        self.path = path
        interpreter = try OnnxInterpreter(OnnxProgram(path: path))
        let last = interpreter.program.nodes.last
        outputsProbabilities = last?.op == "Softmax" && last?.output == interpreter.program.output
        super.init()
    }

    /// Logits for an NHWC batch (log-probabilities for a model exported with a softmax).
    public override func forward(_ x: Tensor) -> Tensor {
        let y: Tensor
        do { y = try interpreter.run(nhwc: x) } catch { fatalError("\(path): \(error)") }
        return outputsProbabilities ? y.clamped(min: .leastNormalMagnitude).log() : y
    }

    /// `Arch` options: the file, and `class_num`, which must match the model's output.
    struct Options: ConfigOptions {
        var path: String
        enum CodingKeys: String, CodingKey, CaseIterable { case path, classNum = "class_num" }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            _ = try c.decodeIfPresent(Int.self, forKey: .classNum)
        }
    }
}

extension Registries {
    /// These registries plus the `OnnxModel` architecture (``OnnxModel``).
    public func withOnnxModels() -> Registries {
        var r = self
        guard !r.arch.contains("OnnxModel") else { return r }
        r.arch.register("OnnxModel", summary: "an exported inference.onnx run by SwiftClas (Arch.path)",
                        options: OnnxModel.Options.self) { o, context in
            let model: OnnxModel
            do { model = try OnnxModel(path: o.path) } catch let e as OnnxImportError { throw EngineError(e.message) }
            let s = model.interpreter.inputSize
            let classes = try model.interpreter.run(nhwc: Tensor.zeros([1, s.height, s.width, s.channels])).shape[1]
            guard classes == context.classCount else {
                throw EngineError("\(o.path) outputs \(classes) classes, the config \(context.classCount) "
                                  + "(set Arch.class_num: \(classes))")
            }
            return model
        }
        return r
    }
}
