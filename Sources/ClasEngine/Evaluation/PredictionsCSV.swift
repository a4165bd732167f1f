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
        let probs = GradMode.withoutGrad { logits.softmax() }
        let classes = probs.shape[1]
        for (row, path) in paths.enumerated() where row < labels.count {
            let p = UnsafeBufferPointer(start: probs.data + row * classes, count: classes)
            var best = 0
            for k in 1..<classes where p[k] > p[best] { best = k }
            let label = labels[row]
            let fields = [Self.field(path), "\(label)", Self.field(name(label)), "\(best)", Self.field(name(best)),
                          String(format: "%.5f", Double(p[best])), label == best ? "1" : "0"]
            rows.append(fields.joined(separator: ","))
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
