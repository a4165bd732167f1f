import ClasConfig
import ClasNN
import ClasTensor
import Foundation

/// One pass over `DataLoader.Eval` in evaluation mode: `Loss.Eval` terms and `Metric.Eval` values, logged like
/// PaddleClas (`[Eval][Epoch e][Iter: i/M]…`, `[Eval][Epoch e][Avg]…`).
public final class Evaluator {
    public let engine: Engine
    let losses: [WeightedLoss]
    let metrics: [Metric]
    /// Called with each batch's files, logits and labels (e.g. `tools eval`'s per-image predictions).
    public var onBatch: ((_ paths: [String], _ logits: Tensor, _ labels: [Int]) -> Void)?

    /// - Parameter extraMetrics: metrics evaluated besides `Metric.Eval` (their values follow, minus names already
    ///   reported), e.g. `tools eval`'s classification summary.
    public init(engine: Engine, extraMetrics: [Metric] = []) throws {
        self.engine = engine
        let r = engine.registries, d = engine.decoder, ctx = engine.componentContext
        losses = try WeightedLoss.build(engine.config.loss?.eval ?? [], registry: r.loss, context: ctx, decoder: d)
        let specs = engine.config.metric?.eval ?? []
        let configured = specs.isEmpty ? Metrics.defaultEval(ctx) : try Metrics.build(specs, r, ctx, d)
        metrics = configured + extraMetrics
    }

    /// Every metric's values, each name once (the first metric reporting a name wins).
    private var metricValues: [(String, Double)] {
        var seen = Set<String>()
        return metrics.flatMap(\.values).filter { seen.insert($0.0).inserted }
    }

    /// The metric that decides the best model: the first value of the first metric that reports one.
    public var primaryKey: String { metricValues.first?.0 ?? "top1" }

    /// Evaluates the current weights; returns losses then metrics, averaged over the split.
    @discardableResult
    public func run(epoch: Int, label: String? = nil) throws -> [(String, Double)] {
        guard let data = engine.evalData else { throw EngineError("evaluation needs DataLoader.Eval") }
        let model = engine.model, logger = engine.logger
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let runner = InferenceRunner(model: model)
        for m in metrics { m.reset() }
        var meters: [String: AverageMeter] = [:], order: [String] = []
        let cursor = try data.start(epoch: 0, from: 0)
        defer { cursor.cancel() }
        let total = data.batchesPerEpoch
        let tag = "[Eval][Epoch \(epoch)]" + (label.map { "[\($0)]" } ?? "")
        var tick = DispatchTime.now().uptimeNanoseconds
        var batchTime = AverageMeter(), readTime = AverageMeter()
        var iteration = 0
        while let batch = try cursor.next() {
            let readDone = DispatchTime.now().uptimeNanoseconds
            try GradMode.withoutGrad {
                let outputs = runner.outputs(batch.images)
                let (sum, terms) = WeightedLoss.total(losses, outputs, batch.targets)
                let n = batch.targets.labels.count
                if !losses.isEmpty {
                    guard sum.item.isFinite else { throw EngineError("evaluation loss is \(sum.item) at iteration \(iteration)") }
                    for (name, value) in terms + [("loss", Double(sum.item))] {
                        if meters[name] == nil { order.append(name) }
                        meters[name, default: AverageMeter()].add(value, weight: n)
                    }
                }
                for m in metrics { m.update(outputs, targets: batch.targets) }
                onBatch?(batch.paths, outputs.logits, batch.targets.labels)
                let now = DispatchTime.now().uptimeNanoseconds
                batchTime.add(Double(now - tick) / 1e9)
                readTime.add(Double(readDone - tick) / 1e9)
                tick = now
                logger.progress("Eval", iteration + 1, total, "")
                if iteration % engine.config.global.printBatchStep == 0 {
                    let values = order.map { ($0, meters[$0]?.average ?? 0) } + metricValues
                    logger.info("\(tag)[Iter: \(iteration)/\(total)]" + LogFormat.pairs(values)
                                + String(format: ", batch_cost: %.5fs, reader_cost: %.5f, ips: %.5f images/sec",
                                         batchTime.average, readTime.average, Double(n) / max(batchTime.average, 1e-9)))
                    batchTime.reset()
                    readTime.reset()
                }
            }
            iteration += 1
        }
        if engine.shardedEvaluation {
            ShardedEvaluation.reduce(meters: &meters, order: order, metrics: metrics, communicator: engine.communicator)
        }
        let values = order.map { ($0, meters[$0]?.average ?? 0) } + metricValues
        logger.info("\(tag)[Avg]" + LogFormat.pairs(values))
        if cursor.skippedCount > 0 {
            logger.warning("\(tag) skipped \(cursor.skippedCount) bad image(s) "
                           + "(Global.skip_bad_images; each is named the first time)")
        }
        return values
    }
}
