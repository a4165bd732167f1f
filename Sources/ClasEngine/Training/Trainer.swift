import ClasConfig
import ClasNN
import ClasOptim
import ClasTensor
import Foundation

/// The training loop of `tools train`: PaddleClas's epoch/iteration flow, logs and checkpoint layout.
///
/// Per step: forward, weighted losses, backward, (every `update_freq` iterations) gradient clipping, optimizer
/// step, EMA update. Per epoch: evaluation when due, `best_model`, `latest` and `epoch_N` checkpoints. Resuming
/// (`Global.checkpoints`) is exact, including mid-epoch after Ctrl-C: batches and random draws are functions of
/// (seed, epoch, index), so the same seed gives bit-identical weights whether or not the run was interrupted.
///
/// Started by `mpirun`, every process runs a trainer on its shard of each batch (``DistributedTraining``):
/// gradients are averaged across processes, rank 0 logs and writes checkpoints, evaluation is split.
public final class Trainer {
    public let engine: Engine
    public let optimizer: Optimizer
    public let schedule: LRSchedule
    /// `Optimizer.weight_decay_schedule`, or nil for a constant decay.
    public let weightDecaySchedule: WeightDecaySchedule?
    public let ema: ModelEMA?
    /// The trainable losses' parameters (MGDLoss, PEFDLoss), optimised with the model's, saved under `loss.`.
    let lossParameters: LossParameters
    /// Forward, losses, backward, clipping and the optimizer step.
    public let step: TrainStep
    /// The stages of `Global.train_mode: progressive`, nil for standard training.
    let progressive: ProgressiveLearning?
    /// The training data of the current progressive stage (the engine's for standard training).
    public private(set) var trainData: BatchStream
    private var trainDataStage: Int?
    let metrics: [Metric]
    let evaluator: Evaluator?
    let itersPerEpoch: Int
    let updateFreq: Int
    /// Set in a multi-process run.
    let distributed: DistributedTraining?
    /// Epoch/step/best so far (restored on resume).
    public private(set) var state = Checkpoint.State(epoch: 0, step: 0, bestMetric: 0, bestEpoch: 0)
    /// Batches of the epoch after `state.epoch` already trained (mid-epoch resume).
    private var resumeIteration = 0
    /// Per-epoch history for curves: epoch → values.
    public private(set) var history: [[String: Double]] = []
    /// Event receivers (TensorBoard, curves, metric-driven schedules); their state is saved in checkpoints.
    public var observers: [TrainingObserver] = []
    /// Behave as if Ctrl-C arrived after this many iterations of this process (for tests of interruption).
    public var interruptAfterIterations: Int?
    private var iterationsThisRun = 0

    private var model: Module { engine.model }
    private var logger: RunLogger { engine.logger }
    private var global: GlobalConfig { engine.config.global }

    public init(engine: Engine) throws {
        self.engine = engine
        guard let trainData = engine.trainData, let optConfig = engine.config.optimizer else {
            throw EngineError("training needs DataLoader.Train and Optimizer")
        }
        let r = engine.registries, d = engine.decoder, ctx = engine.componentContext
        var lossContext = ctx
        if engine.trainDataUnlabelled { lossContext.unlabelledData = "DataLoader.Train.dataset" }
        let losses = try WeightedLoss.build(engine.config.loss?.train ?? [], registry: r.loss, context: lossContext, decoder: d)
        metrics = try Metrics.build(engine.config.metric?.train ?? [], r, ctx, d)
        updateFreq = engine.config.global.updateFreq
        self.trainData = trainData
        progressive = try ProgressiveLearning(config: engine.config, dropout: engine.progressDropout, decoder: d) {
            engine.logger.warning($0)
        }
        let iters = engine.config.global.iterPerEpoch ?? trainData.batchesPerEpoch
        itersPerEpoch = max(updateFreq, iters / updateFreq * updateFreq)
        guard trainData.batchesPerEpoch > 0 else {
            throw EngineError("the training data gives no batch (\(trainData.sampleCount) samples; check batch_size and drop_last)")
        }
        let scheduleContext = ScheduleContext(epochs: engine.config.global.epochs, stepsPerEpoch: itersPerEpoch / updateFreq)
        switch optConfig.lr {
        case let .constant(v, node):
            guard v.isFinite else { throw ConfigError("Optimizer.lr must be a finite number, got \(v)", at: node) }
            guard v >= 0 else { throw ConfigError("Optimizer.lr must not be negative, got \(v)", at: node) }
            schedule = ConstantLR(Float(v))
        case let .schedule(spec):
            schedule = try r.lrScheduler.build(spec, context: scheduleContext, decoder: d)
        }
        var decay: WeightDecayPolicy? = nil
        if let reg = optConfig.regularizer {
            guard reg.name == "L2" || reg.name == "L2Decay" else {
                throw ConfigError("Optimizer.regularizer '\(reg.name)' is not supported; use L2", at: reg.nameLocation)
            }
            let o = try d.decode(L2RegularizerOptions.self, from: reg.args, path: reg.path, label: reg.name)
            decay = WeightDecayPolicy(coefficient: Float(o.coeff))
        }
        let make = try r.optimizer.build(optConfig.spec, context: (), decoder: d)
        lossParameters = LossParameters(losses)
        optimizer = try make(engine.model.namedParameters() + lossParameters.namedParameters().map { ("loss.\($0.0)", $0.1) },
                             schedule.learningRate(at: 0), decay)
        let names = optimizer.parameters.map(\.name)
        optimizer.learningRateMultipliers = engine.fineTuning.learningRateMultipliers(for: names)
        if let d = engine.model as? DistillationModel, !d.learningRateMultipliers.isEmpty {  // the models' lr_mult_list
            optimizer.learningRateMultipliers = names.map { d.learningRateMultipliers[$0] ?? 1 }
        }
        weightDecaySchedule = try .build(optConfig, optimizer: optimizer, context: scheduleContext)
        let clipNorm = optConfig.clipNorm.map(Float.init)
        step = TrainStep(model: engine.model, losses: losses, optimizer: optimizer, clipNorm: clipNorm,
                         mixedPrecision: TrainStep.mixedPrecision(engine.config.amp, logger: engine.logger))
        if let sam = optimizer as? SAM {
            sam.clipNorm = clipNorm
            guard updateFreq == 1 else {
                throw ConfigError("SAM recomputes the gradient of one batch; set Global.update_freq to 1 (got \(updateFreq))",
                                  at: optConfig.spec.nameLocation)
            }
        }
        ema = engine.config.ema.map { ModelEMA(model: engine.model, decay: Float($0.decay), warmup: $0.useWarmup) }
        evaluator = engine.evalData == nil ? nil : try Evaluator(engine: engine)
        // Components that follow training (metric-driven schedules, distillation models saving their student),
        // then the curves and TensorBoard writers.
        observers = ([schedule, engine.model] as [Any]).compactMap { $0 as? TrainingObserver }
            + (engine.communicator.rank == 0 ? Trainer.standardObservers(engine) : [])
        distributed = engine.communicator.isDistributed ? DistributedTraining(engine: engine, optimizer: optimizer, ema: ema) : nil
        if let resume = engine.config.global.checkpoints { try self.resume(from: resume) }
        let batchSize = engine.config.dataLoader?.train?.batchSize ?? 0
        try distributed?.synchronizeAtStart(batchSize: batchSize)
    }

    /// Restores model, optimizer, EMA and progress from a checkpoint prefix.
    private func resume(from prefix: String) throws {
        let c = try Checkpoint.read(prefix: prefix)
        guard let saved = c.state else {
            throw EngineError("\(Checkpoint.path(for: prefix)) is a weights file, not a training checkpoint; "
                              + "use Global.pretrained_model to start from weights")
        }
        let file = Checkpoint.path(for: prefix)
        let iteration = saved.extra["iteration"].flatMap(Int.init) ?? 0
        guard (0..<(1 << 30)).contains(saved.epoch), (0..<(1 << 40)).contains(saved.step) else {
            throw EngineError("cannot resume from \(file): its training state is corrupt (epoch \(saved.epoch), step \(saved.step))")
        }
        guard (0..<itersPerEpoch).contains(iteration) else {
            throw EngineError("cannot resume from \(file): it stopped at iteration \(iteration) of an epoch, but an epoch now has "
                              + "\(itersPerEpoch) iterations (did the data or batch size change?); resume from an "
                              + "end-of-epoch checkpoint (epoch_N) instead")
        }
        let report = model.load(c.model)
        guard report.missing.isEmpty, report.mismatched.isEmpty else {
            throw EngineError("cannot resume from \(file): it does not fit this model (\(report))")
        }
        if let bad = c.model.first(where: { !$0.value.scalars.allSatisfy(\.isFinite) }) {
            throw EngineError("cannot resume from \(file): \(bad.key) holds NaN or infinite values")
        }
        if let ema, let bad = ema.shadow.first(where: { name, t in c.ema[name].map { $0.shape != t.shape } ?? false }) {
            throw EngineError("cannot resume from \(file): ema.\(bad.0) has shape \(c.ema[bad.0]?.shape ?? []), "
                              + "the model \(bad.1.shape)")
        }
        let lossReport = lossParameters.load(c.loss)
        guard lossReport.missing.isEmpty, lossReport.mismatched.isEmpty else {
            throw EngineError("cannot resume from \(file): the losses' parameters do not fit (\(lossReport))")
        }
        optimizer.loadState(c.optimizer)
        optimizer.stepCount = saved.step
        if let ema {
            for (name, t) in ema.shadow { if let s = c.ema[name] { t.copy(from: s) } }
            ema.updates = saved.extra["ema_updates"].flatMap(Int.init) ?? saved.step
        }
        state = saved
        pendingObserverState = saved.extra
        resumeIteration = iteration
        if let h = saved.extra["history"], let data = h.data(using: .utf8),
           let decoded = try? JSONDecoder().decode([[String: Double]].self, from: data) {
            history = decoded
        }
        logger.info("Resumed from \(Checkpoint.path(for: prefix)): epoch \(saved.epoch)"
                    + (resumeIteration > 0 ? ", iteration \(resumeIteration)" : "") + ", step \(saved.step)")
    }

    /// Runs the remaining epochs. Returns the best evaluation metric.
    @discardableResult
    public func run() throws -> Double { try runEpochs(until: global.epochs) }

    /// Runs epochs until `lastEpoch` (≤ `Global.epochs`) is complete, as if training stopped there.
    @discardableResult
    public func runEpochs(until lastEpoch: Int) throws -> Double {
        if distributed?.isWriter ?? true {
            try AtomicFile.write(ConfigDump.yaml(engine.config.root, header: "resolved config of this training run"),
                                 to: path("config.yaml"))
        }
        Interruption.install()
        defer { Interruption.uninstall() }
        let epochs = global.epochs
        logger.info("Train \(engine.config.arch.name): \(model.parameterCount) parameters, \(engine.classCount) classes, "
                    + "\(epochs) epochs × \(itersPerEpoch) iterations, seed \(engine.seed)")
        restoreObservers()
        for o in observers { o.trainingWillStart(self) }
        while state.epoch < min(epochs, lastEpoch) {
            let epoch = state.epoch + 1
            let epochStart = Date()
            engine.fineTuning.setTrainable(epoch: epoch, model: engine.model)
            if let e = engine.fineTuning.freezeBackboneEpochs, epoch == e + 1 {
                logger.info("Arch.freeze_backbone_epochs: the backbone trains from epoch \(epoch)")
            }
            try enterStage(epoch: epoch)
            try trainEpoch(epoch)
            distributed?.reconcile()
            var record: [String: Double] = ["epoch": Double(epoch)]
            for (k, v) in lastTrainAverages { record["train_\(k)"] = v }
            record["lr"] = Double(optimizer.learningRate)
            record["time_s"] = Date().timeIntervalSince(epochStart)
            if let evaluator, global.evalDuringTrain, epoch % global.evalInterval == 0, epoch > global.startEvalEpoch - 1 {
                let values = try evaluator.run(epoch: epoch)
                for o in observers { o.evaluationDidEnd(self, epoch: epoch, label: nil, values: values) }
                var metric = values.first(where: { $0.0 == evaluator.primaryKey })?.1 ?? 0
                for (k, v) in values { record["eval_\(k)"] = v }
                if let ema {
                    let emaValues = try ema.withAveragedWeights { try evaluator.run(epoch: epoch, label: "EMA") }
                    for o in observers { o.evaluationDidEnd(self, epoch: epoch, label: "EMA", values: emaValues) }
                    let emaMetric = emaValues.first(where: { $0.0 == evaluator.primaryKey })?.1 ?? 0
                    record["eval_ema_\(evaluator.primaryKey)"] = emaMetric
                    metric = max(metric, emaMetric)
                }
                if metric >= state.bestMetric || state.bestEpoch == 0 {
                    state.bestMetric = metric
                    state.bestEpoch = epoch
                    state.epoch = epoch
                    history.append(record)
                    try save("best_model")
                    history.removeLast()
                }
                logger.info("[Eval][Epoch \(epoch)][best metric: \(state.bestMetric)]")
            }
            history.append(record)
            state.epoch = epoch
            var stop = observers.reduce(false) { $1.epochDidEnd(self, epoch: epoch, record: record) || $0 }
            if let distributed { stop = distributed.anyRank(stop) }
            if epoch % global.saveInterval == 0 { try save("epoch_\(epoch)") }
            try save("latest")
            if stop {
                logger.info("Training stopped early after epoch \(epoch)")
                break
            }
        }
        for o in observers { o.trainingDidEnd(self) }
        return state.bestMetric
    }

    private var lastTrainAverages: [(String, Double)] = []
    /// Checkpoint metadata to hand to observers once they are attached.
    private var pendingObserverState: [String: String] = [:]

    /// Gives each observer the state it saved (called when training starts, after observers are attached).
    private func restoreObservers() {
        observers.restore(from: pendingObserverState)
        pendingObserverState = [:]
    }

    /// Progressive learning: logs the epoch's stage and, entering a stage, rebuilds the training data and sets the
    /// dropout.
    private func enterStage(epoch: Int) throws {
        guard let progressive else { return }
        let s = progressive.stage(ofEpoch: epoch)
        logger.info(progressive.describe(s))
        guard s != trainDataStage else { return }
        let overrides = progressive.stages[s].overrides
        if !overrides.isEmpty {
            logger.info("[Progressive] stage \(s + 1) trains with " + overrides.map { "-o \($0)" }.joined(separator: " "))
            trainData = try engine.trainStream(for: engine.config.overriding(overrides))
        }
        progressive.applyDropout(s, to: model)
        trainDataStage = s
    }

    /// One epoch of training (from `resumeIteration` when resuming mid-epoch).
    private func trainEpoch(_ epoch: Int) throws {
        let data = trainData
        model.train()
        for m in metrics { m.reset() }
        var meters: [String: AverageMeter] = [:], order: [String] = []
        let start = resumeIteration
        resumeIteration = 0
        let cursor = try data.start(epoch: epoch, from: start)
        defer { cursor.cancel() }
        var batchTime = AverageMeter(), readTime = AverageMeter(), samples = 0
        var tick = DispatchTime.now().uptimeNanoseconds
        let epochs = global.epochs
        for iteration in start..<itersPerEpoch {
            let signal = Interruption.pendingSignal ?? (iterationsThisRun == interruptAfterIterations ? SIGINT : nil)
            if let sig = distributed.map({ $0.agreedSignal(signal) }) ?? signal {
                try saveInterrupted(epoch: epoch, iteration: iteration, signal: sig)
            }
            iterationsThisRun += 1
            guard let batch = try cursor.next() else { break }
            let readDone = DispatchTime.now().uptimeNanoseconds
            Randomness.beginStep(seed: distributed?.stepSeed(engine.seed) ?? engine.seed,
                                 step: state.step * updateFreq + iteration % updateFreq)
            let lr = schedule.learningRate(at: state.step)
            optimizer.learningRate = lr
            let wdValue = weightDecaySchedule?.value(at: state.step)
            if let wd = weightDecaySchedule { optimizer.weightDecayScale = wd.scale(at: state.step) }
            let (outputs, total, terms) = step.forward(batch.images, batch.targets)
            let lossValue = total.item
            guard distributed?.lossIsFiniteEverywhere(lossValue) ?? lossValue.isFinite else {
                throw stopError("training stopped: the loss is \(lossValue) at epoch \(epoch), iteration \(iteration) "
                                  + "(step \(state.step), lr \(lr)); the checkpoints in \(engine.outputDir) are untouched. "
                                  + "Lower the learning rate or check the data.")
            }
            let stepping = (iteration + 1) % updateFreq == 0
            step.backward(total, averager: stepping ? distributed?.averager : nil)
            var stepped = false
            if stepping {
                let scale = 1 / Float(updateFreq)
                // A finite loss can still have non-finite gradients (an overflow in the backward pass); stepping
                // would write NaN into the weights, which activations can hide from the loss. (With several
                // processes the gradients are already averaged here, so every rank stops together.)
                let norm = step.gradientNorm(scale: scale)
                guard norm.isFinite else {
                    throw stopError("training stopped: the gradient norm is \(norm) at epoch \(epoch), iteration "
                                      + "\(iteration) (step \(state.step), lr \(lr)); the checkpoints in \(engine.outputDir) "
                                      + "are untouched. Lower the learning rate or check the data.")
                }
                step.update(scale: scale, norm: norm, images: batch.images, targets: batch.targets,
                            averager: distributed?.averager)
                ema?.update()
                state.step += 1
                stepped = true
            }
            // Metrics and running averages.
            let n = batch.targets.labels.count
            samples += n
            GradMode.withoutGrad { for m in metrics { m.update(outputs, targets: batch.targets) } }
            for (name, value) in terms + [("loss", Double(lossValue))] {
                if meters[name] == nil { order.append(name) }
                meters[name, default: AverageMeter()].add(value, weight: n)
            }
            let now = DispatchTime.now().uptimeNanoseconds
            batchTime.add(Double(now - tick) / 1e9)
            readTime.add(Double(readDone - tick) / 1e9)
            tick = now
            let values = metrics.flatMap(\.values) + order.map { ($0, meters[$0]?.average ?? 0) }
            if stepped {
                for o in observers { o.stepDidEnd(self, epoch: epoch, iteration: iteration, learningRate: lr, values: values) }
            }
            logger.progress("Epoch \(epoch)/\(epochs)", iteration + 1, itersPerEpoch,
                            String(format: "loss %.4f lr %.6f %.1f img/s", meters["loss"]?.average ?? 0, lr,
                                   Double(n) / max(batchTime.average, 1e-9)))
            if iteration % global.printBatchStep == 0 || iteration == itersPerEpoch - 1 {
                let remaining = Double((epochs - epoch + 1) * itersPerEpoch - iteration) * batchTime.average
                logger.info("[Train][Epoch \(epoch)/\(epochs)][Iter: \(iteration)/\(itersPerEpoch)]"
                            + String(format: "lr(%@): %.8f, ", schedule.displayName as NSString, lr)
                            + (weightDecaySchedule.map {
                                String(format: "wd(%@): %.8f, ", $0.shape.rawValue as NSString, wdValue ?? 0)
                            } ?? "")
                            + LogFormat.pairs(values)
                            + String(format: ", batch_cost: %.5fs, reader_cost: %.5f, ips: %.5f samples/s, eta: %@",
                                     batchTime.average, readTime.average, Double(n) / max(batchTime.average, 1e-9),
                                     LogFormat.eta(remaining) as NSString))
                batchTime.reset()
                readTime.reset()
            }
        }
        lastTrainAverages = metrics.flatMap(\.values) + order.map { ($0, meters[$0]?.average ?? 0) }
        if let distributed { lastTrainAverages = distributed.averageOverRanks(lastTrainAverages) }
        logger.info("[Train][Epoch \(epoch)/\(epochs)][Avg]" + LogFormat.pairs(lastTrainAverages))
        if cursor.skippedCount > 0 {
            logger.warning("[Train][Epoch \(epoch)/\(epochs)] skipped \(cursor.skippedCount) bad image(s) "
                           + "(Global.skip_bad_images; each is named the first time)")
        }
    }

    /// Saves a resumable checkpoint in the middle of an epoch and stops.
    private func saveInterrupted(epoch: Int, iteration: Int, signal: Int32) throws {
        let savedEpoch = state.epoch
        state.extra["iteration"] = String(iteration)
        defer { state.extra["iteration"] = nil }
        state.epoch = epoch - 1
        distributed?.reconcile()
        try save("latest")
        distributed?.barrier("checkpoint written")
        state.epoch = savedEpoch
        logger.info("Interrupted (signal \(signal)) at epoch \(epoch), iteration \(iteration); resume with "
                    + "-o Global.checkpoints=\(path("latest"))")
        throw stopError("training interrupted by signal \(signal); a resumable checkpoint is at \(path("latest")).safetensors")
    }

    private func path(_ name: String) -> String { (engine.outputDir as NSString).appendingPathComponent(name) }

    /// The error that ends training; in a multi-process run every rank throws it together and rank 0 reports it.
    private func stopError(_ message: String) -> Error {
        guard let distributed else { return EngineError(message) }
        return Distributed.AgreedStop(message: message, report: distributed.isWriter)
    }

    /// Writes a checkpoint (rank 0 only in a multi-process run; the replicas are identical).
    private func save(_ name: String) throws {
        guard distributed?.isWriter ?? true else { return }
        var s = state
        s.extra["arch"] = engine.config.arch.name
        s.extra["class_num"] = String(engine.classCount)
        if let names = engine.classNames { s.extra["class_names"] = names.joined(separator: "\n") }
        if let data = try? JSONEncoder().encode(history), let text = String(data: data, encoding: .utf8) {
            s.extra["history"] = text
        }
        // The observers' state as it is now (a resumed checkpoint's, possibly keyed by position, is not carried over).
        s.extra = s.extra.filter { !$0.key.hasPrefix("observer") }.merging(observers.checkpointState) { _, new in new }
        try Checkpoint.save(prefix: path(name), model: model, optimizer: optimizer, ema: ema, state: s,
                            losses: lossParameters.stateDict().map { ("loss.\($0.0)", $0.1) })
        logger.info("Already save model in \(path(name))")
    }
}
