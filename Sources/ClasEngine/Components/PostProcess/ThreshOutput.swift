import ClasConfig
import ClasData
import ClasTensor
import Foundation

/// Rounds a score to 5 decimals for JSON output.
func rounded5(_ v: Float) -> Double { (Double(v) * 1e5).rounded() / 1e5 }

/// The row's σ(logits) (multi-label and attribute post-processes).
func sigmoidRows(_ logits: Tensor) -> [[Float]] {
    let classes = logits.shape[logits.rank - 1], rows = logits.count / max(classes, 1)
    return (0..<rows).map { r in (0..<classes).map { sigmoid32(logits.data[r * classes + $0]) } }
}

/// PaddleClas's `ThreshOutput` for binary tasks: p = softmax probability of class 1; class 1 (`label_1`) with
/// score p when p ≥ `threshold`, else class 0 (`label_0`) with score 1 − p.
public struct ThreshOutput: PostProcessor {
    public var threshold: Float, label0: String, label1: String

    public init(threshold: Float, label0: String = "0", label1: String = "1") {
        self.threshold = threshold
        self.label0 = label0
        self.label1 = label1
    }

    public func results(logits: Tensor, files: [String]) -> [[String: Any]] {
        let probs = GradMode.withoutGrad { logits.softmax() }
        let classes = probs.shape[1]
        return files.enumerated().map { row, file in
            let p = probs.data[row * classes + 1]
            let one = p >= threshold
            return ["file_name": file, "class_ids": [one ? 1 : 0], "scores": [rounded5(one ? p : 1 - p)],
                    "label_names": [one ? label1 : label0]]
        }
    }

    struct Options: ConfigOptions {
        var threshold: Double, label0: String, label1: String
        enum CodingKeys: String, CodingKey, CaseIterable { case threshold, label0 = "label_0", label1 = "label_1" }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            threshold = try c.decode(Double.self, forKey: .threshold)
            label0 = try c.decode(.label0, default: "0")
            label1 = try c.decode(.label1, default: "1")
        }
    }
}

/// PaddleClas's `MultiLabelThreshOutput`: every class whose σ(logit) ≥ `threshold`, with its score (5 decimals) and
/// its name from `class_id_map_file` (else the run's class names, else none).
public struct MultiLabelThreshOutput: PostProcessor {
    public var threshold: Float, labelNames: [Int: String]

    public init(threshold: Float = 0.5, labelNames: [Int: String] = [:]) {
        self.threshold = threshold
        self.labelNames = labelNames
    }

    public func results(logits: Tensor, files: [String]) -> [[String: Any]] {
        zip(files, sigmoidRows(logits)).map { file, p in
            let ids = p.indices.filter { p[$0] >= threshold }
            return ["file_name": file, "class_ids": ids, "scores": ids.map { rounded5(p[$0]) },
                    "label_names": labelNames.isEmpty ? [] : ids.map { labelNames[$0] ?? "" }]
        }
    }

    struct Options: ConfigOptions {
        var threshold: Double, classIdMapFile: String?, delimiter: String
        enum CodingKeys: String, CodingKey, CaseIterable { case threshold, classIdMapFile = "class_id_map_file", delimiter }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            threshold = try c.decode(.threshold, default: 0.5)
            classIdMapFile = try c.decodeIfPresent(String.self, forKey: .classIdMapFile)
            delimiter = try c.decodeIfPresent(String.self, forKey: .delimiter) ?? " "
        }
    }
}

/// PaddleClas's `DistillationPostProcess`: applies the post-process `func` (default `Topk`, with the remaining
/// options) to one model of a `DistillationModel` (`model_name`, default `Student`).
public struct DistillationPostProcess: OutputSelectingPostProcessor {
    public var modelName: String, inner: PostProcessor

    public func results(logits: Tensor, files: [String]) -> [[String: Any]] { inner.results(logits: logits, files: files) }
    public func results(outputs: ModelOutputs, files: [String]) -> [[String: Any]] {
        inner.results(logits: outputs.output(modelName) ?? outputs.logits, files: files)
    }

    struct Options: ConfigOptions {
        var modelName: String, inner: ComponentSpec
        enum CodingKeys: String, CodingKey, CaseIterable { case modelName = "model_name", key, function = "func" }
        /// The inner post-process's options are checked when it is built.
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            modelName = try c.decode(.modelName, default: "Student")
            if let k = try c.decodeIfPresent(String.self, forKey: .key) {
                try decoder.configCheck(k == "logits", CodingKeys.key, "selects a dict output; SwiftClas models output logits only")
            }
            let function = try c.decode(.function, default: "Topk")
            guard let args = decoder.configNode else { throw EngineError("DistillationPostProcess needs the config decoder") }
            let own: Set<String> = Set(CodingKeys.allCases.map(\.stringValue))
            // The other keys are the inner post-process's options: taken as they are, checked when it is built.
            let any = try decoder.container(keyedBy: AnyKey.self)
            for key in any.allKeys where !own.contains(key.stringValue) { _ = try any.decode(ConfigNode.self, forKey: key) }
            inner = try ComponentSpec(node: args.removing(own).setting("name", to: .scalar(function)),
                                      path: decoder.configPath)
        }
    }
}

extension Registries {
    /// `ThreshOutput`, `MultiLabelThreshOutput`, the attribute post-processes and `DistillationPostProcess`.
    static func registerMultiLabelPostProcesses(into r: inout Registries) {
        r.postProcess.register("ThreshOutput", summary: "binary tasks: class 1 when its softmax score ≥ threshold",
                               options: ThreshOutput.Options.self) { o, _ in
            ThreshOutput(threshold: Float(o.threshold), label0: o.label0, label1: o.label1)
        }
        r.postProcess.register("MultiLabelThreshOutput", summary: "multi-label: every class with σ ≥ threshold, with names",
                               options: MultiLabelThreshOutput.Options.self) { o, _ in
            let names = try o.classIdMapFile.map { try ClassIDMap.read($0, delimiter: o.delimiter).names } ?? [:]
            return MultiLabelThreshOutput(threshold: Float(o.threshold), labelNames: names)
        }
        registerAttributePostProcesses(into: &r)
        let inner = r.postProcess
        r.postProcess.register("DistillationPostProcess", summary: "post-process (func) of one model of a DistillationModel",
                               options: DistillationPostProcess.Options.self) { o, ctx in
            DistillationPostProcess(modelName: o.modelName, inner: try inner.build(o.inner, context: ctx, decoder: ConfigDecoder()))
        }
    }
}
