import ClasTensor
import Foundation

/// What `tools eval` adds on multi-label data: each class's (attribute's) counts at σ(x) > 0.5 and average
/// precision, the images' predictions for `predictions.csv`, and macro averages as values (`mAP`,
/// `label_accuracy`, `macro_precision`, `macro_recall`, `macro_f1`).
public final class MultiLabelSummaryMetric: MultiLabelMetric {
    public private(set) var counts = AttributeCounts(classCount: 0)
    public let ranking = MultiLabelMAP()
    /// Per image (in evaluation order): targets and σ scores.
    public private(set) var images: [(targets: [Float], scores: [Float])] = []

    public init() {}

    public func reset() {
        counts = AttributeCounts(classCount: 0)
        ranking.reset()
        images = []
    }

    public func update(logits: Tensor, targets: Tensor) {
        let classes = logits.shape[logits.rank - 1], rows = logits.count / max(classes, 1)
        if counts.classCount != classes { counts = AttributeCounts(classCount: classes) }
        ranking.update(logits: logits, targets: targets)
        for r in 0..<rows {
            let t = Array(UnsafeBufferPointer(start: targets.data + r * classes, count: classes))
            let s = (0..<classes).map { sigmoid32(logits.data[r * classes + $0]) }
            for c in 0..<classes { counts.add(predicted: s[c] > 0.5, target: t[c], class: c) }
            images.append((t, s))
        }
    }

    public var values: [(String, Double)] {
        let k = counts.classCount
        func mean(_ f: (Int) -> Double) -> Double { k > 0 ? (0..<k).map(f).reduce(0, +) / Double(k) : 0 }
        return [("mAP", ranking.values[0].1), ("label_accuracy", mean(counts.accuracy)),
                ("macro_precision", mean(counts.precision)), ("macro_recall", mean(counts.recall)), ("macro_f1", mean(counts.f1))]
    }

    /// `metrics.yaml` lines: one map per class.
    func yamlLines(names: [String]) -> [String] {
        func f(_ v: Double) -> String { String(format: "%.6f", v) }
        let ap = ranking.perClass
        var lines = ["per_attribute:  # prediction: sigmoid > 0.5; accuracy = (TP + TN) / images with a known target"]
        for c in 0..<counts.classCount {
            lines.append("  - {index: \(c), name: \(ClassificationReport.quoted(name(c, names))), "
                         + "precision: \(f(counts.precision(c))), recall: \(f(counts.recall(c))), "
                         + "negative_recall: \(f(counts.negativeRecall(c))), accuracy: \(f(counts.accuracy(c))), "
                         + "f1: \(f(counts.f1(c))), ap: \(ap.indices.contains(c) ? ap[c].map(f) ?? "null" : "null"), "
                         + "positives: \(counts.positives(c)), negatives: \(counts.negatives(c))}")
        }
        return lines
    }

    /// An aligned text table, one line per class.
    func table(names: [String]) -> String {
        let width = max(9, (0..<counts.classCount).map { name($0, names).count }.max() ?? 0)
        func pad(_ s: String) -> String { s + String(repeating: " ", count: max(0, width + 6 - s.count)) }
        func num(_ v: Double?) -> String { v.map { String(format: "%9.4f", $0) } ?? "        -" }
        let ap = ranking.perClass
        var lines = [pad("attribute") + "precision    recall  accuracy        f1        AP  positives"]
        for c in 0..<counts.classCount {
            lines.append(pad(String(format: "%4d  ", c) + name(c, names))
                         + [num(counts.precision(c)), num(counts.recall(c)), num(counts.accuracy(c)), num(counts.f1(c)),
                            num(ap.indices.contains(c) ? ap[c] : nil)].joined(separator: " ")
                         + String(format: " %10d", counts.positives(c)))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `predictions.csv`: file, targets, predictions at σ > 0.5 and σ scores (space-separated), all correct 1/0.
    func predictionsCSV(paths: [String]) -> String {
        var rows = ["file_name,targets,predicted,scores,exact"]
        for (path, image) in zip(paths, images) {
            let predicted = image.scores.map { $0 > 0.5 ? 1 : 0 }
            let exact = zip(predicted, image.targets).allSatisfy { $1 == -1 || Float($0) == $1 }
            let file = path.contains(where: { ",\"\n".contains($0) })
                ? "\"" + path.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : path
            rows.append([file, image.targets.map { String(Int($0)) }.joined(separator: " "),
                         predicted.map(String.init).joined(separator: " "),
                         image.scores.map { String(format: "%.5f", $0) }.joined(separator: " "), exact ? "1" : "0"]
                .joined(separator: ","))
        }
        return rows.joined(separator: "\n") + "\n"
    }

    private func name(_ c: Int, _ names: [String]) -> String { c < names.count ? names[c] : "attr_\(c)" }
}
