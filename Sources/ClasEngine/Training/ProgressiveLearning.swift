import ClasConfig
import ClasData
import ClasKernels
import ClasNN

/// Progressive learning (`Global.train_mode: progressive`), PaddleClas's `train_epoch_progressive`
/// (EfficientNetV2, https://arxiv.org/abs/2104.00298; MobileOne's recipe): training runs in stages, and each stage
/// trains on larger images with stronger regularisation.
///
/// With `n` stages (the length of the `progress_*` lists, 4 in PaddleClas's configs) and `E = Global.epochs`, the
/// milestones are `⌊E·(i+1)/n⌋`, and epoch `e` (1-based) belongs to the stage counting the milestones below it
/// (E = 8: epochs 1–2 stage 1, 3–4 stage 2, …). Per stage:
/// - `RandCropImage.progress_size[s]` replaces `size` (the image size; evaluation keeps its own);
/// - `RandAugmentV2.progress_magnitude[s]` replaces `magnitude`;
/// - `Arch.progress_dropout[s]` (SwiftClas; PaddleClas lists it in EfficientNetV2's head) sets the probability of
///   every `Dropout` module of the model.
///
/// A new stage rebuilds the training loader from the config with the stage's values as `-o` overrides (logged, so
/// a stage can be reproduced as a plain run) and releases the cached buffers of the previous size. BatchNorm
/// statistics are per channel and carry over unchanged. Batches and augmentations remain functions of
/// (seed, epoch, index) and the stage of a function of the epoch, so resuming — at a stage boundary or in the
/// middle of a stage — gives the weights of an uninterrupted run.
struct ProgressiveLearning {
    struct Stage {
        /// `-o` texts that give the stage's training data.
        var overrides: [String] = []
        var size: SizeOption?
        var magnitude: Double?
        var dropout: Double?
    }

    let stages: [Stage]
    let epochs: Int

    /// The `Arch` key holding the dropout of each stage.
    static let dropoutKey = "progress_dropout"

    /// Takes `Arch.progress_dropout` out of the spec the model family sees.
    static func readDropout(_ spec: ComponentSpec) throws -> ([Double]?, ComponentSpec) {
        guard let node = spec.args[dropoutKey] else { return (nil, spec) }
        let values = node.items?.compactMap { $0.scalar.flatMap { Scalars.double($0.text) } }
        guard let values, values.count == node.items?.count, !values.isEmpty, values.allSatisfy({ $0 >= 0 && $0 < 1 })
        else {
            throw ConfigError("\(spec.path).\(dropoutKey) expects a list of probabilities in [0, 1), one per stage, "
                              + "got \(node.summary)", at: node)
        }
        return (values, spec.removingArgs([dropoutKey]))
    }

    /// The plan of a progressive run, nil for standard training. Without `Global.train_mode: progressive`, any
    /// `progress_*` list is reported through `notice` as unused.
    init?(config: RunConfig, dropout: [Double]?, decoder: ConfigDecoder, notice: (String) -> Void) throws {
        let ops = config.dataLoader?.train?.transformOps ?? []
        var lists: [(what: String, count: Int, location: SourceLocation)] = []
        var sizes: (ComponentSpec, [SizeOption])?, magnitudes: (ComponentSpec, [Double])?
        for op in ops {
            if op.name == RandCropImage.name, op.args["progress_size"] != nil {
                let o = try decoder.decode(RandCropImage.Options.self, from: op.args, path: op.path, label: op.name)
                if let p = o.progressSize { sizes = (op, p) }
            } else if op.name == RandAugmentV2.name, op.args["progress_magnitude"] != nil {
                let o = try decoder.decode(RandAugmentV2.Options.self, from: op.args, path: op.path, label: op.name)
                if let p = o.progressMagnitude { magnitudes = (op, p) }
            }
        }
        if case let (op, p)? = sizes { lists.append(("\(op.path).\(op.name).progress_size", p.count, op.nameLocation)) }
        if case let (op, p)? = magnitudes { lists.append(("\(op.path).\(op.name).progress_magnitude", p.count, op.nameLocation)) }
        if let dropout {
            lists.append(("Arch.\(Self.dropoutKey)", dropout.count, config.arch.args[Self.dropoutKey]?.location ?? .unknown))
        }
        guard config.global.trainMode == "progressive" else {
            for l in lists { notice("\(l.what) is ignored: it is used with Global.train_mode: progressive") }
            return nil
        }
        guard let first = lists.first else {
            throw ConfigError("Global.train_mode: progressive needs the size of each stage: add progress_size to "
                              + "DataLoader.Train's RandCropImage (e.g. progress_size: [128, 160, 192, 224])",
                              at: config.root.node(at: "Global.train_mode")?.location ?? .unknown)
        }
        for l in lists.dropFirst() where l.count != first.count {
            throw ConfigError("\(l.what) has \(l.count) values but \(first.what) has \(first.count); progressive "
                              + "learning needs one value per stage in each", at: l.location)
        }
        epochs = config.global.epochs
        stages = (0..<first.count).map { s in
            var stage = Stage()
            if case let (op, p)? = sizes {
                stage.size = p[s]
                let v = p[s].width == p[s].height ? "\(p[s].width)" : "[\(p[s].width), \(p[s].height)]"
                stage.overrides.append("\(Self.keyPath(op)).size=\(v)")
            }
            if case let (op, p)? = magnitudes {
                stage.magnitude = p[s]
                stage.overrides.append("\(Self.keyPath(op)).magnitude=\(p[s])")
            }
            stage.dropout = dropout?[s]
            return stage
        }
    }

    /// The `-o` path of an op's options: `….transform_ops.1.RandCropImage` (one-key form) or `….transform_ops.1`.
    private static func keyPath(_ op: ComponentSpec) -> String {
        op.node["name"] != nil ? op.path : "\(op.path).\(op.name)"
    }

    /// The 0-based stage of a 1-based epoch.
    func stage(ofEpoch epoch: Int) -> Int {
        let n = stages.count
        return min(n - 1, (0..<n).filter { epoch > epochs * ($0 + 1) / n }.count)
    }

    /// PaddleClas's line, e.g. `Training stage: [2/4](random_aug_magnitude=8.3333, train_image_size=214, dropout_rate=0.2)`.
    func describe(_ s: Int) -> String {
        let st = stages[s]
        let size = st.size.map { $0.width == $0.height ? "\($0.width)" : "\($0.width)x\($0.height)" } ?? "unchanged"
        return "Training stage: [\(s + 1)/\(stages.count)](random_aug_magnitude=\(st.magnitude.map { "\($0)" } ?? "none"), "
            + "train_image_size=\(size), dropout_rate=\(st.dropout.map { "\($0)" } ?? "unchanged"))"
    }

    /// Sets the stage's dropout on every `Dropout` module.
    func applyDropout(_ s: Int, to model: Module) {
        guard let p = stages[s].dropout else { return }
        for case let (_, d as Dropout) in model.namedModules() { d.p = Float(p) }
    }
}

extension Engine {
    /// The training loader of `config` (a progressive stage's), like ``trainData`` for the engine's own config.
    func trainStream(for config: RunConfig) throws -> BatchStream {
        var data = try DataBuilder(config: config, registries: registries.data, decoder: decoder, seed: seed, splits: [.train])
        data.rank = communicator.rank
        data.worldSize = communicator.worldSize
        guard let stream = try data.stream(.train, classCount: classCount, log: { [logger] in logger.warning($0) }) else {
            throw EngineError("training needs DataLoader.Train")
        }
        clas_buffer_trim()
        return stream
    }
}
