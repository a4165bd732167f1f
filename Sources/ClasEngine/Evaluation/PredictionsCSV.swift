import ClasNN
import ClasTensor
import Foundation

/// `tools eval`'s per-image predictions: one CSV row per evaluated image (`file_name`, the true `label` and its
/// name, the top-1 `prediction`, its name and softmax `score`, `correct` 1/0), in evaluation order.
final class PredictionsCSV {
    private var rows: [String] = ["file_name,label,label_name,prediction,prediction_name,score,correct"]
    private let names: [String]

    init(classNames: [String]) { names = classNames }

    /// Adds a batch's rows.
    func add(paths: [String], logits: Tensor, labels: [Int]) {
        for (row, (path, top)) in zip(paths, Self.top1(logits)).enumerated() where row < labels.count {
            let label = labels[row]
            let fields = [Self.field(path), "\(label)", Self.field(name(label)), "\(top.predicted)",
                          Self.field(name(top.predicted)), String(format: "%.5f", Double(top.score)),
                          label == top.predicted ? "1" : "0"]
            rows.append(fields.joined(separator: ","))
        }
    }

    /// Each row's top-1 class and softmax score (the first of equal scores).
    static func top1(_ logits: Tensor) -> [(predicted: Int, score: Float)] {
        let probs = GradMode.withoutGrad { logits.softmax() }
        let classes = probs.shape[1]
        return (0..<probs.shape[0]).map { row in
            let p = UnsafeBufferPointer(start: probs.data + row * classes, count: classes)
            var best = 0
            for k in 1..<classes where p[k] > p[best] { best = k }
            return (best, p[best])
        }
    }

    /// Images evaluated so far.
    var count: Int { rows.count - 1 }

    func write(to path: String) throws { try AtomicFile.write(rows.joined(separator: "\n") + "\n", to: path) }

    private func name(_ k: Int) -> String { k >= 0 && k < names.count ? names[k] : "" }

    private static func field(_ s: String) -> String {
        s.contains(where: { ",\"\n".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
