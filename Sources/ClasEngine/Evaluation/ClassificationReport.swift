import ClasConfig
import ClasData
import ClasPlot
import Foundation

/// The per-class part of `tools eval`'s report: precision, recall, F1, average precision and support per class,
/// and the confusion matrix, as a text table, YAML lines for `metrics.yaml` and a heat-map PNG.
public struct ClassificationReport {
    /// One class's figures.
    public struct Row: Equatable {
        public var index: Int
        public var name: String
        public var precision: Double, recall: Double, f1: Double
        /// Average precision of the class's one-vs-rest ranking (nil when the split has no sample of it).
        public var averagePrecision: Double?
        public var support: Int
    }

    public let matrix: ConfusionMatrix
    public let classNames: [String]
    public let rows: [Row]

    /// - Parameters:
    ///   - classNames: names by class index; missing ones become `class_<i>`.
    public init(matrix: ConfusionMatrix, averagePrecision: [Double?], classNames: [String]) {
        self.matrix = matrix
        let names = (0..<matrix.classCount).map { $0 < classNames.count ? classNames[$0] : "class_\($0)" }
        self.classNames = names
        rows = (0..<matrix.classCount).map { c in
            Row(index: c, name: names[c], precision: matrix.precision(c), recall: matrix.recall(c), f1: matrix.f1(c),
                averagePrecision: c < averagePrecision.count ? averagePrecision[c] : nil, support: matrix.support(c))
        }
    }

    /// An aligned text table, one line per class, then the macro averages.
    public var table: String {
        let nameWidth = max(5, classNames.map(\.count).max() ?? 0)
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        func num(_ v: Double?) -> String { v.map { String(format: "%9.4f", $0) } ?? "        -" }
        var lines = [pad("class", nameWidth + 6) + "precision    recall        f1        AP   support"]
        for r in rows {
            lines.append(pad(String(format: "%4d  ", r.index) + r.name, nameWidth + 6)
                         + [num(r.precision), num(r.recall), num(r.f1), num(r.averagePrecision)].joined(separator: " ")
                         + String(format: " %9d", r.support))
        }
        lines.append(pad("macro average", nameWidth + 6)
                     + [num(matrix.macroPrecision), num(matrix.macroRecall), num(matrix.macroF1),
                        num(AveragePrecision.mean(rows.map(\.averagePrecision)))].joined(separator: " ")
                     + String(format: " %9d", matrix.total))
        return lines.joined(separator: "\n") + "\n"
    }

    /// `per_class:` (one flow map per class) and `confusion_matrix:` (rows = true classes) for `metrics.yaml`.
    public var yamlLines: [String] {
        func f(_ v: Double) -> String { String(format: "%.6f", v) }
        var lines = ["per_class:"]
        for r in rows {
            lines.append("  - {class: \(r.index), name: \(Self.quoted(r.name)), precision: \(f(r.precision)), "
                         + "recall: \(f(r.recall)), f1: \(f(r.f1)), ap: \(r.averagePrecision.map(f) ?? "null"), "
                         + "support: \(r.support)}")
        }
        lines.append("confusion_matrix:  # rows: true class, columns: predicted class, in class order")
        for row in matrix.rows { lines.append("  - [" + row.map(String.init).joined(separator: ", ") + "]") }
        return lines
    }

    /// The confusion matrix as a heat map with the class names on both axes.
    public func confusionMatrixImage(title: String) -> Canvas {
        ConfusionMatrixPlot(counts: matrix.rows, classNames: classNames, title: title).render()
    }

    /// A double-quoted YAML string.
    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Class names for reports: the engine's (folder datasets, or stored in the weights), else
    /// `Infer.PostProcess.class_id_map_file`, else none.
    public static func classNames(for engine: Engine) -> [String] {
        engine.classNames ?? engine.config.classMapNames ?? []
    }
}

extension RunConfig {
    /// Class names from `Infer.PostProcess.class_id_map_file` (PaddleClas's label list), if it is set and readable.
    var classMapNames: [String]? {
        guard let file = infer?.postProcess?.args["class_id_map_file"]?.scalar?.text,
              let map = try? ClassIDMap.read(file), let maxID = map.names.keys.max() else { return nil }
        return (0...maxID).map { map.name(for: $0) ?? "class_\($0)" }
    }
}
