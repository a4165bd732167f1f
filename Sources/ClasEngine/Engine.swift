import ClasConfig
import ClasData
import ClasKernels
import ClasModels
import ClasNN
import ClasTensor
import Foundation

/// Builds everything a run needs from a config and runs it: training, evaluation, inference.
///
/// Construction validates the whole config first (every component of every section, even those the mode does
/// not use), so a typo is reported before any work starts and nothing is written.
public final class Engine {
    /// What the run does.
    public enum Mode: String, Sendable { case train, eval, infer, export }

    public let mode: Mode
    public let config: RunConfig
    public let registries: Registries
    public let decoder: ConfigDecoder
    /// `Global.output_dir/<Arch.name>`: the training run's folder (checkpoints, train.log, history).
    public let runDir: String
    /// Where this mode writes: ``runDir`` when training, else its `eval/`, `infer/` or `export/` sub-folder (logs,
    /// resolved config, metrics), so that evaluating or exporting never writes over the training run's files.
    public let outputDir: String
    public let logger: RunLogger
    /// The seed (`Global.seed`, default 0).
    public let seed: UInt64
    /// Classes: `Arch.class_num`, else the training data's count.
    public let classCount: Int
    /// Class names when known (folder datasets, or stored in the loaded weights by a run on one).
    public let classNames: [String]?
    /// Whether the data is multi-label (``MultiLabelDataset``), nil when the run reads no data (infer, export).
    public let multiLabelTraits: MultiLabelTraits?
    /// The training data has no labels (a `CustomLabelDataset` without `label_key`): losses must not read them.
    public let trainDataUnlabelled: Bool
    /// A multi-label or attribute task: multi-label data, or without data `Global.use_multilabel`.
    public var isMultiLabel: Bool { multiLabelTraits?.isMultiLabel ?? config.global.useMultilabel }
    /// The model (possibly replaced by a ``ModelAdapter`` after loading).
    public private(set) var model: Module
    /// Where `Arch.pretrained` took the model's weights from (repository, URL or file), nil when it was not used.
    public let pretrainedSource: String?
    public let trainData: BatchStream?
    public let evalData: BatchStream?
    /// The processes training together (``SingleProcess`` unless started by mpirun; other modes run alone).
    public let communicator: Communicator
    /// Whether BatchNorm statistics are global over the processes (`Arch.use_sync_bn` in a multi-process run).
    public let syncBatchNorm: Bool
    /// `Arch`'s fine-tuning switches, resolved against the model (the trainer applies them per epoch).
    public let fineTuning: FineTuning
    /// Whether export appends a softmax (`Arch.infer_add_softmax`).
    public let inferAddSoftmax: Bool
    /// `Arch.progress_dropout`: the dropout of each progressive-learning stage (``ProgressiveLearning``).
    public let progressDropout: [Double]?
    /// Whether each process evaluates its own part of `DataLoader.Eval` (results are combined).
    public let shardedEvaluation: Bool

    /// The most classes a model may have (a larger count is a typo or a corrupt label, and would not fit in memory).
    public static let maxClassCount = 1_000_000

    /// Loads and validates `configPath` with `overrides`, then builds what `mode` needs (see
    /// ``init(config:mode:registries:quiet:communicator:)``).
    public convenience init(configPath: String, overrides: [String] = [], mode: Mode, registries: Registries = .builtins(),
                            quiet: Bool = false, communicator: Communicator? = nil) throws {
        try self.init(config: RunConfig.load(configPath, overrides: overrides), mode: mode, registries: registries,
                      quiet: quiet, communicator: communicator)
    }

    /// Builds what `mode` needs from a loaded config, checking every component first.
    /// - Parameters:
    ///   - config: the resolved config (``RunConfig/load(_:overrides:decoder:)``; change a setting with
    ///     ``RunConfig/overriding(_:)``). Its notices are logged.
    ///   - quiet: do not print log lines (tests); they still go to the log file.
    ///   - communicator: the processes of a data-parallel run (default ``Distributed/current``); only training
    ///     uses it, other modes run in one process.
    public init(config: RunConfig, mode: Mode, registries: Registries = .builtins(), quiet: Bool = false,
                communicator: Communicator? = nil) throws {
        self.mode = mode
        let comm = mode == .train ? communicator ?? Distributed.current : SingleProcess()
        self.communicator = comm
        self.registries = registries
        decoder = ConfigDecoder()
        for notice in config.notices { decoder.notice(notice.message, at: notice.location) }
        self.config = config
        try Engine.requireSections(config, mode: mode)
        let tunedSpec: ComponentSpec
        var fineTuning: FineTuning
        (fineTuning, tunedSpec) = try FineTuning.read(config.arch)
        if comm.isDistributed, let node = fineTuning.nodes["freeze_backbone_epochs"] {
            throw ConfigError("Arch.freeze_backbone_epochs is not supported under mpirun yet (the gradient all-reduce "
                              + "is set up once); run the two phases as two runs", at: node)
        }
        let (syncRequested, syncSpec) = try SyncBatchNorm.read(tunedSpec)
        let softmaxSpec: ComponentSpec
        (inferAddSoftmax, softmaxSpec) = try InferSoftmax.read(syncSpec)
        let dropoutSpec: ComponentSpec
        (progressDropout, dropoutSpec) = try ProgressiveLearning.readDropout(softmaxSpec)
        let (archPretrained, archSpec) = try ArchPretrained.read(dropoutSpec,
                                                                 card: registries.arch.card(named: dropoutSpec.name))
        runDir = (config.global.outputDir as NSString).appendingPathComponent(archSpec.name)
        outputDir = mode == .train ? runDir : (runDir as NSString).appendingPathComponent(mode.rawValue)
        seed = UInt64(truncatingIfNeeded: config.global.seed ?? 0)
        if let n = config.global.numThreads { clas_set_num_threads(Int32(n)) }
        if comm.isDistributed, let t = config.global.collectiveTimeout { Distributed.setCollectiveTimeout(t) }
        ImageCodec.defaultMaxPixels = config.global.maxImagePixels

        // Data first: folder datasets decide the class count.
        var splits: Set<DataBuilder.Split> = []
        if mode == .train { splits.insert(.train) }
        if mode == .eval || (mode == .train && config.global.evalDuringTrain) { splits.insert(.eval) }
        var data = try DataBuilder(config: config, registries: registries.data, decoder: decoder, seed: seed, splits: splits)
        data.rank = comm.rank
        data.worldSize = comm.worldSize
        let archClassNum = config.classNum
        // Weights to load are read first: a SwiftClas checkpoint knows its class count and names.
        let usePretrained = mode != .train || config.global.checkpoints == nil
        let pretrained = try config.global.pretrainedModel.flatMap { usePretrained ? try Checkpoint.read(prefix: $0) : nil }
        let savedClassNum = pretrained?.metadata["class_num"].flatMap(Int.init)
        classCount = archClassNum ?? data.classCount ?? savedClassNum ?? 1000
        multiLabelTraits = data.multiLabelTraits
        trainDataUnlabelled = data.trainDataUnlabelled
        classNames = data.classNames ?? pretrained?.metadata["class_names"].map { $0.components(separatedBy: "\n") }
        if classCount > Engine.maxClassCount {
            let what = archClassNum != nil ? "Arch.class_num is" : data.classCount != nil ? "the data's largest label gives" : "the weights give"
            throw ConfigError("\(what) \(classCount) classes, more than \(Engine.maxClassCount); check Arch.class_num and the labels",
                              at: archSpec.args["class_num"]?.location ?? archSpec.nameLocation)
        }
        if let dataClasses = data.classCount, let archClassNum, dataClasses > archClassNum {
            throw ConfigError("Arch.class_num is \(archClassNum) but the data has \(dataClasses) classes",
                              at: archSpec.args["class_num"]?.location ?? archSpec.nameLocation)
        }
        try Engine.checkUnusedComponents(config, arch: archSpec, registries: registries, decoder: decoder)

        let logger: RunLogger
        if comm.rank == 0 {
            logger = RunLogger(path: (outputDir as NSString).appendingPathComponent("\(mode.rawValue).log"))
            logger.quiet = quiet
        } else {
            // Only rank 0 logs; the others report their warnings on stderr.
            logger = RunLogger(path: nil, progressBar: false)
            logger.quiet = true
            logger.stderrWarningPrefix = "[rank \(comm.rank)] "
        }
        self.logger = logger
        logger.headerLines = [ComputeBackend.summary] + (ComputeBackend.genericKernelWarning.map { ["WARNING: \($0)"] } ?? [])
        // Sharded evaluation only for metrics known to combine across processes (TopkAcc and the like); metrics that
        // cannot be built before the model (e.g. those naming distillation models) are evaluated whole on every rank.
        shardedEvaluation = comm.isDistributed
            && ((try? Engine.evalMetrics(config, registries, decoder, classCount, data.multiLabelTraits)).map(data.evalCanBeSharded) ?? false)
        trainData = try data.stream(.train, classCount: classCount) { logger.warning($0) }
        evalData = try data.stream(.eval, classCount: classCount, sharded: shardedEvaluation) { logger.warning($0) }
        for notice in decoder.notices { logger.warning(notice.description) }

        for notice in archPretrained.notices { logger.warning(notice) }
        let archWeights = usePretrained ? try archPretrained.contents() : nil
        pretrainedSource = archWeights == nil ? nil : archPretrained.source
        Randomness.seed(seed)
        model = try registries.arch.build(archSpec, context: ArchContext(classCount: classCount, registry: registries.arch,
                                                                          decoder: decoder), decoder: decoder)
        try fineTuning.apply(to: model, archName: archSpec.name, card: registries.arch.card(named: archSpec.name))
        self.fineTuning = fineTuning
        syncBatchNorm = syncRequested && comm.isDistributed && !fineTuning.freezeBatchNorm
        if syncBatchNorm { SyncBatchNorm.apply(to: model, communicator: comm) }
        if syncRequested && !syncBatchNorm {
            logger.info("Arch.use_sync_bn has no effect here: "
                        + (fineTuning.freezeBatchNorm ? "Arch.freeze_bn keeps the statistics fixed" : "one process trains"))
        }
        if comm.isDistributed {
            Distributed.abortHint = "Checkpoints are written atomically: the last one in \(outputDir) is intact; "
                + "resume with -o Global.checkpoints=\(outputDir)/latest"
        }
        if let archWeights { try load(archWeights.contents, from: archWeights.file) }
        if let pretrained, let prefix = config.global.pretrainedModel { try load(pretrained, from: prefix) }
        let adapterContext = ModelAdapterContext(config: config, mode: mode, weights: pretrained, classCount: classCount,
                                                 registries: registries, logger: logger, decoder: decoder)
        for adapt in registries.modelAdapters { if let adapted = try adapt(model, adapterContext) { model = adapted } }
        if mode != .train {
            try AtomicFile.write(ConfigDump.yaml(config.root, header: "resolved config of a \(mode.rawValue) run"),
                                 to: (outputDir as NSString).appendingPathComponent("config.\(mode.rawValue).yaml"))
        }
    }

    /// Loads weights (ours or timm's) into the model. When fine-tuning (train mode), a classifier whose shape
    /// differs is skipped with a message and keeps its fresh initialisation; otherwise any mismatch is an error,
    /// since predictions from a half-loaded model would be garbage.
    func load(_ contents: Checkpoint.Contents, from prefix: String) throws {
        let file = Checkpoint.path(for: prefix)
        TimmImport.prepare(model, for: contents.model.keys)
        let report = model.load(contents.model)
        logger.info("Loaded \(file)\(contents.isForeign ? " (PyTorch layout, converted)" : ""): \(report)")
        if report.loaded == 0 {
            throw EngineError("\(file) has no tensor matching this \(config.arch.name) model "
                              + "(it expects e.g. \(report.missing.prefix(3).joined(separator: ", ")))")
        }
        guard !report.mismatched.isEmpty || !report.missing.isEmpty else { return }
        let shapes = report.mismatched.map { "\($0.0): file \($0.2), model \($0.1)" }.joined(separator: "; ")
        if mode == .train {
            for (name, ours, theirs) in report.mismatched {
                logger.warning("skipped \(name): the file has shape \(theirs), the model \(ours); it keeps its fresh "
                               + "initialisation (expected when fine-tuning to a different class count)")
            }
            if !report.missing.isEmpty { logger.warning("not in \(file), left initialised: \(report.missing.prefix(8).joined(separator: ", "))") }
        } else {
            throw EngineError("\(file) does not fit this model: \(shapes.isEmpty ? "missing \(report.missing.prefix(5))" : shapes). "
                              + "Set Arch.class_num to the class count the weights were trained with.")
        }
    }

    /// The evaluation metrics a run would build (TopkAcc by default), to decide whether they can be sharded.
    static func evalMetrics(_ c: RunConfig, _ r: Registries, _ d: ConfigDecoder, _ classCount: Int,
                            _ multiLabel: MultiLabelTraits? = nil) throws -> [Metric] {
        let specs = c.metric?.eval ?? []
        let ctx = ComponentContext(classCount: classCount, multiLabel: multiLabel)
        if specs.isEmpty { return Metrics.defaultEval(ctx) }
        return try specs.map { try r.metric.build($0, context: ctx, decoder: d) }
    }

    /// The sections each mode cannot run without.
    private static func requireSections(_ c: RunConfig, mode: Mode) throws {
        func missing(_ what: String) -> ConfigError {
            ConfigError("\(mode.rawValue) needs \(what) in the config", at: c.arch.node.location.fileOnly)
        }
        switch mode {
        case .train:
            guard c.dataLoader?.train != nil else { throw missing("DataLoader.Train") }
            guard c.optimizer != nil else { throw missing("an Optimizer section") }
            guard c.loss?.train?.isEmpty == false else { throw missing("Loss.Train") }
            if c.global.evalDuringTrain, c.dataLoader?.eval == nil {
                throw missing("DataLoader.Eval (or Global.eval_during_train: False)")
            }
        case .eval:
            guard c.dataLoader?.eval != nil else { throw missing("DataLoader.Eval") }
        case .infer:
            guard c.infer != nil else { throw missing("an Infer section") }
        case .export:
            break
        }
    }

    /// Decodes every component the run may not build, so `-o` typos anywhere are caught up front.
    private static func checkUnusedComponents(_ c: RunConfig, arch: ComponentSpec, registries r: Registries,
                                              decoder: ConfigDecoder) throws {
        try r.arch.check(arch, decoder: decoder)
        for spec in (c.loss?.train ?? []) + (c.loss?.eval ?? []) {
            try r.loss.check(spec.removingArgs(["weight"]), decoder: decoder)
        }
        for spec in (c.metric?.train ?? []) + (c.metric?.eval ?? []) { try r.metric.check(spec, decoder: decoder) }
        if let o = c.optimizer {
            try r.optimizer.check(o.spec, decoder: decoder)
            if case .schedule(let s) = o.lr { try r.lrScheduler.check(s, decoder: decoder) }
        }
        if let infer = c.infer {
            if let p = infer.postProcess { try r.postProcess.check(p, decoder: decoder) }
            for op in infer.transforms { try r.data.transform.check(op, decoder: decoder) }
        }
    }
}

extension SourceLocation {
    /// The file of a location, at its first line (for errors about a whole config).
    var fileOnly: SourceLocation {
        if case let .file(file, _, _) = self { return .file(file, line: 1, column: 1) }
        return self
    }
}
