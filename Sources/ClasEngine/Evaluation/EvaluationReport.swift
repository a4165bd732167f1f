import ClasModels
import ClasNN
import ClasTensor
import Foundation

/// `tools eval`: evaluates the weights and writes into the output folder `metrics.yaml` (loss, the configured
/// metrics, mAP, balanced accuracy, macro precision/recall/F1, sample count, parameters, MACs, per-class figures
/// and the confusion matrix), `per_class.txt` (the per-class table), `confusion_matrix.png` and `predictions.csv`
/// (one row per image: file, label, top-1 prediction, score, correct; or at `predictionsPath`), and with
/// `mistakes` > 0 `mistakes.png`, a grid of the most confident wrong predictions (``MistakesGrid``). On multi-label
/// data (``MultiLabelDataset``) it writes per-attribute figures instead: see ``MultiLabelSummaryMetric``.
public final class EvaluationReport {
    public let engine: Engine
    public let predictionsPath: String
    /// How many of the most confident mistakes to show in `mistakes.png` (0: no grid).
    public let mistakes: Int

    public init(engine: Engine, predictionsPath: String? = nil, mistakes: Int = 0) {
        self.engine = engine
        self.predictionsPath = predictionsPath ?? (engine.outputDir as NSString).appendingPathComponent("predictions.csv")
        self.mistakes = mistakes
    }

    /// Evaluates and writes the report; returns the values.
    @discardableResult
    public func run() throws -> [(String, Double)] {
        if let m = engine.model as? Reparameterizable { m.reparameterize() }
        if engine.isMultiLabel { return try runMultiLabel() }
        let summary = ClassificationSummaryMetric(classCount: engine.classCount)
        let evaluator = try Evaluator(engine: engine, extraMetrics: [summary])
        let names = ClassificationReport.classNames(for: engine)
        let predictions = PredictionsCSV(classNames: names)
        let grid = mistakes > 0 ? MistakesGrid(limit: mistakes, classNames: names) : nil
        evaluator.onBatch = {
            predictions.add(paths: $0, logits: $1, labels: $2)
            grid?.add(paths: $0, logits: $1, labels: $2)
        }
        let values = try evaluator.run(epoch: 0)
        let report = ClassificationReport(matrix: summary.tally.confusion, averagePrecision: summary.tally.averagePrecision,
                                          classNames: names)
        let lines = headerLines(values) + report.yamlLines
        let path = (engine.outputDir as NSString).appendingPathComponent("metrics.yaml")
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
        let tablePath = (engine.outputDir as NSString).appendingPathComponent("per_class.txt")
        try AtomicFile.write(report.table, to: tablePath)
        for line in report.table.split(separator: "\n") { engine.logger.info(String(line)) }
        let imagePath = (engine.outputDir as NSString).appendingPathComponent("confusion_matrix.png")
        try report.confusionMatrixImage(title: "\(engine.config.arch.name): confusion matrix").writePNG(to: imagePath)
        try predictions.write(to: predictionsPath)
        engine.logger.info("Wrote \(path), \(tablePath), \(imagePath) and \(predictionsPath) (\(predictions.count) images)")
        if let grid {
            let gridPath = (engine.outputDir as NSString).appendingPathComponent("mistakes.png")
            try grid.render(title: "\(engine.config.arch.name): most confident mistakes", evaluated: predictions.count)
                .writePNG(to: gridPath)
            engine.logger.info("Wrote \(gridPath) (\(grid.mistakes.count) mistakes)")
        }
        return values
    }

    /// The lines `metrics.yaml` starts with: model, weights, samples, the values, parameters and MACs.
    private func headerLines(_ values: [(String, Double)]) -> [String] {
        let resolution = engine.config.global.imageShape.map { ($0[1], $0[2]) } ?? (224, 224)
        let macs = ModelCost.macs(engine.model, height: resolution.0, width: resolution.1)
        var lines = ["# tools eval: \(engine.config.arch.name)",
                     "model: \(engine.config.arch.name)",
                     "weights: \(engine.config.global.pretrainedModel.map { Checkpoint.path(for: $0) } ?? "none (random initialisation)")",
                     "samples: \(engine.evalData?.sampleCount ?? 0)"]
        for (k, v) in values { lines.append("\(k): \(String(format: "%.6f", v))") }
        lines.append("params: \(engine.model.parameterCount)")
        lines.append("macs: \(macs)  # at \(resolution.0)x\(resolution.1)")
        return lines
    }

    /// Multi-label data: `metrics.yaml` with per-attribute precision, recall, accuracy, F1 and AP,
    /// `per_attribute.txt` and `predictions.csv` (targets, predictions and σ scores per image).
    private func runMultiLabel() throws -> [(String, Double)] {
        let summary = MultiLabelSummaryMetric()
        let evaluator = try Evaluator(engine: engine, extraMetrics: [summary])
        var paths: [String] = []
        evaluator.onBatch = { batchPaths, _, _ in paths += batchPaths }
        let values = try evaluator.run(epoch: 0)
        let names = ClassificationReport.classNames(for: engine)
        let path = (engine.outputDir as NSString).appendingPathComponent("metrics.yaml")
        try AtomicFile.write((headerLines(values) + summary.yamlLines(names: names)).joined(separator: "\n") + "\n", to: path)
        let table = summary.table(names: names)
        let tablePath = (engine.outputDir as NSString).appendingPathComponent("per_attribute.txt")
        try AtomicFile.write(table, to: tablePath)
        for line in table.split(separator: "\n") { engine.logger.info(String(line)) }
        try AtomicFile.write(summary.predictionsCSV(paths: paths), to: predictionsPath)
        engine.logger.info("Wrote \(path), \(tablePath) and \(predictionsPath) (\(paths.count) images)")
        return values
    }
}

/// Model cost at a resolution.
public enum ModelCost {
    /// Multiply-accumulates of one forward pass of one image (convolutions and linear layers).
    public static func macs(_ model: Module, height: Int, width: Int, channels: Int = 3) -> Int {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        return MACCounter.count { _ = GradMode.withoutGrad { model(Tensor.zeros([1, height, width, channels])) } }
    }
}
