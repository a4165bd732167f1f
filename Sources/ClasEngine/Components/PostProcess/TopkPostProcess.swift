import ClasConfig
import ClasData
import ClasTensor
import Foundation

/// Turns logits into per-image results for `tools infer` (PaddleClas's `PostProcess`).
public protocol PostProcessor {
    /// One JSON-ready dictionary per row of `logits`, for the given file names.
    func results(logits: Tensor, files: [String]) -> [[String: Any]]
}

/// PaddleClas's `Topk`: softmax, the k best classes with scores (5 decimals) and their names from the class map.
public struct TopkPostProcess: PostProcessor {
    public let k: Int
    public let labelNames: [Int: String]

    public init(k: Int, labelNames: [Int: String]) {
        self.k = k
        self.labelNames = labelNames
    }

    public func results(logits: Tensor, files: [String]) -> [[String: Any]] {
        let probs = GradMode.withoutGrad { logits.softmax() }
        let classes = probs.shape[1]
        return files.enumerated().map { row, file in
            let p = Array(UnsafeBufferPointer(start: probs.data + row * classes, count: classes))
            let order = p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }.prefix(min(k, classes))
            return ["file_name": file, "class_ids": Array(order),
                    "scores": order.map { (Double(p[$0]) * 1e5).rounded() / 1e5 },
                    "label_names": order.map { labelNames[$0] ?? "" }]
        }
    }
}

/// A post-process that reads a chosen output of a multi-output model (``DistillationPostProcess``).
public protocol OutputSelectingPostProcessor: PostProcessor {
    func results(outputs: ModelOutputs, files: [String]) -> [[String: Any]]
}

extension PostProcessor {
    /// The results from a forward pass's outputs: selecting post-processes pick theirs, others take the logits.
    public func results(_ outputs: ModelOutputs, files: [String]) -> [[String: Any]] {
        (self as? OutputSelectingPostProcessor)?.results(outputs: outputs, files: files)
            ?? results(logits: outputs.logits, files: files)
    }
}

struct TopkPostOptions: ConfigOptions {
    var topk: Int, classIdMapFile: String?, delimiter: String
    enum CodingKeys: String, CodingKey, CaseIterable {
        case topk, classIdMapFile = "class_id_map_file", delimiter
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        topk = try c.decode(.topk, default: 1)
        classIdMapFile = try c.decodeIfPresent(String.self, forKey: .classIdMapFile)
        delimiter = try c.decode(.delimiter, default: " ")
        try decoder.configCheck(topk >= 1, CodingKeys.topk, "must be at least 1, got \(topk)")
    }
}

extension TopkPostProcess {
    /// `Topk`, reading class names from `class_id_map_file`.
    static func register(into r: inout Registries) {
        r.postProcess.register("Topk", summary: "softmax and the k best classes with names", options: TopkPostOptions.self) { o, _ in
            let names = try o.classIdMapFile.map { try ClassIDMap.read($0, delimiter: o.delimiter).names } ?? [:]
            return TopkPostProcess(k: o.topk, labelNames: names)
        }
    }
}
