import ClasConfig
import ClasModels
import ClasNN
import ClasTensor
import Foundation

/// Several models trained together (PaddleClas's `DistillationModel`): deep mutual learning (Zhang et al.,
/// https://arxiv.org/abs/1706.00384) when all learn, knowledge distillation (Hinton et al.,
/// https://arxiv.org/abs/1503.02531) when a frozen teacher guides a student.
///
/// ```yaml
/// Arch:
///   name: DistillationModel
///   freeze_params_list: [False, False]     # True: frozen (no gradient, evaluation mode, no graph)
///   infer_model_name: Student              # the model of eval/infer/export (default Student, else the first)
///   models:
///     - Teacher: {name: MobileNetV3_small_x1_0, head: {name: AMSoftmax, scale: 30}}
///     - Student: {name: MobileNetV3_small_x1_0, pretrained: output/x/best_model}   # optional weights
/// ```
/// Parameters are named `<Key>.<name>` (`Student.conv_stem.weight`). The forward pass returns every model's
/// logits by key for the distillation losses (`DistillationGTCELoss`, `DistillationDMLLoss`, …); metrics, evaluation
/// losses and inference use the inference model's. When the best model is saved, its inference model's weights are
/// also written alone to `best_model_<key>` (PaddleClas's `best_model_student`), loadable by a config of that model.
///
/// Unlike PaddleClas, a frozen model runs in evaluation mode (running batch-norm statistics, no dropout), as
/// distillation from a fixed teacher expects.
public final class DistillationModel: Module, MultiOutputModel, Reparameterizable {
    /// The models with their keys, in config order.
    public let models: [(name: String, model: Module)]
    /// Which models are frozen.
    public let frozen: [Bool]
    /// The key of the model used for metrics, evaluation and inference.
    public let inferModelName: String
    /// Arch names of the models (for the inference model's weights file).
    public let archNames: [String]
    /// The intermediate outputs each model returns besides its logits (`return_patterns`), by model key.
    public let returnPatterns: [String: Set<String>]
    /// Learning-rate multipliers by parameter name (`Student.blocks.0.0.conv_dw.weight`) from the models'
    /// `lr_mult_list`; parameters not listed keep 1.
    public var learningRateMultipliers: [String: Float] = [:]

    /// - Precondition: keys are unique, `frozen` has one flag per model and `inferModelName` is a key.
    /// - Precondition: a model with `returnPatterns` is a ``NamedOutputsModel`` that has those names.
    public init(models: [(String, Module)], frozen: [Bool], inferModelName: String, archNames: [String] = [],
                returnPatterns: [String: Set<String>] = [:]) {
        precondition(Set(models.map(\.0)).count == models.count, "DistillationModel: model keys must be unique")
        precondition(frozen.count == models.count, "DistillationModel: one freeze flag per model")
        precondition(models.contains { $0.0 == inferModelName }, "DistillationModel: no model '\(inferModelName)'")
        self.models = models.map { (name: $0.0, model: $0.1) }
        self.frozen = frozen
        self.inferModelName = inferModelName
        self.archNames = archNames
        self.returnPatterns = returnPatterns.filter { !$0.value.isEmpty }
        for (key, names) in self.returnPatterns {
            let model = models.first { $0.0 == key }?.1
            precondition(model != nil, "DistillationModel: return_patterns for unknown model '\(key)'")
            let known = Set((model as? NamedOutputsModel)?.outputNames ?? [])
            precondition(names.isSubset(of: known), "DistillationModel: \(key) has no outputs \(names.subtracting(known))")
        }
        super.init()
        for (m, f) in zip(models, frozen) where f { m.1.freeze() }
    }

    /// The model used for evaluation, inference and export.
    public var inferenceModel: Module { models.first { $0.name == inferModelName }?.model ?? models[0].model }

    public override var namedChildren: [(String, Module)] { models.map { ($0.name, $0.model) } }

    /// The inference model's logits.
    public override func forward(_ x: Tensor) -> Tensor { forwardOutputs(x).logits }

    /// Every model's logits by key, and the intermediate outputs its `return_patterns` name; frozen models run
    /// without a graph in evaluation mode.
    public func forwardOutputs(_ x: Tensor) -> ModelOutputs {
        var byName: [String: Tensor] = [:], features: [String: [String: Tensor]] = [:]
        for ((name, model), isFrozen) in zip(models, frozen) {
            func run() -> Tensor {
                guard let names = returnPatterns[name], let tapped = model as? NamedOutputsModel else {
                    return model.outputs(x).logits
                }
                let (logits, outputs) = tapped.forward(x, returning: names)
                features[name] = outputs
                return logits
            }
            if isFrozen {
                if model.isTraining { model.eval() }
                byName[name] = GradMode.withoutGrad { run() }
            } else {
                byName[name] = run()
            }
        }
        return ModelOutputs(logits: byName[inferModelName] ?? Tensor(0), byName: byName, features: features)
    }

    public func reparameterize() {
        for (_, m) in models { (m as? Reparameterizable)?.reparameterize() }
    }

    public var reparameterizedParameterCount: Int {
        models.reduce(0) { $0 + (($1.model as? Reparameterizable)?.reparameterizedParameterCount ?? $1.model.parameterCount) }
    }
}

extension DistillationModel: TrainingObserver {
    /// After an epoch that set a new best, writes `best_model_<key>`: the inference model's weights under their
    /// own names (and its EMA weights under `ema.`), with the metadata a run of that model reads.
    public func epochDidEnd(_ trainer: Trainer, epoch: Int, record: [String: Double]) -> Bool {
        guard trainer.state.bestEpoch == epoch else { return false }
        // An AttentionModel infers with its backbone: write that alone, loadable by a config of the backbone.
        let attention = inferenceModel as? AttentionModel
        let prefix = "\(inferModelName)." + (attention.map { "\($0.backboneKey)." } ?? "")
        var tensors = (attention?.backbone ?? inferenceModel).stateDict()
        if let ema = trainer.ema {
            tensors += ema.shadow.filter { $0.0.hasPrefix(prefix) }.map { ("ema." + $0.0.dropFirst(prefix.count), $0.1) }
        }
        let engine = trainer.engine
        var meta = ["format": Checkpoint.format, "class_num": String(engine.classCount),
                    "best_metric": String(trainer.state.bestMetric), "best_epoch": String(epoch)]
        if let i = models.firstIndex(where: { $0.name == inferModelName }), i < archNames.count {
            meta["arch"] = attention?.backboneArchName ?? archNames[i]
        }
        if let names = engine.classNames { meta["class_names"] = names.joined(separator: "\n") }
        let path = (engine.outputDir as NSString).appendingPathComponent("best_model_\(inferModelName.lowercased())")
        do {
            try Safetensors.write(tensors, metadata: meta, to: Checkpoint.path(for: path))
            engine.logger.info("Already save \(inferModelName) model in \(path)")
        } catch {
            engine.logger.warning("could not write \(Checkpoint.path(for: path)): \(error)")
        }
        return false
    }
}

/// `Arch: {name: DistillationModel, models, freeze_params_list, infer_model_name, …}`.
struct DistillationOptions: ConfigOptions {
    /// Each model's key and its Arch component.
    var models: [(name: String, spec: ComponentSpec)]
    var frozen: [Bool]
    var inferModelName: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case models, freezeParamsList = "freeze_params_list", pretrainedList = "pretrained_list"
        case inferModelName = "infer_model_name", classNum = "class_num"
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    static let ignoredKeys = ["use_sync_bn": "SwiftClas keeps BatchNorm statistics per process"]

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let entries = try c.decode([ComponentSpec].self, forKey: .models)
        try decoder.configCheck(!entries.isEmpty, CodingKeys.models, "needs at least one model")
        models = try entries.map { entry in
            if entry.node["name"] != nil {
                throw ConfigError("\(entry.path) must be a one-key map such as `- Student: {name: MobileNetV3_small_x1_0}`",
                                  at: entry.node)
            }
            return (entry.name, try ComponentSpec(node: entry.args, path: "\(entry.path).\(entry.name)"))
        }
        let names = models.map(\.name)
        try decoder.configCheck(Set(names).count == names.count, CodingKeys.models, "has repeated keys: \(names)")
        frozen = try c.decodeIfPresent([Bool?].self, forKey: .freezeParamsList)?.map { $0 ?? false }
            ?? [Bool](repeating: false, count: models.count)
        try decoder.configCheck(frozen.count == models.count, CodingKeys.freezeParamsList,
                                "needs one flag per model (\(models.count)), got \(frozen.count)")
        let pretrained = try c.decodeIfPresent([ConfigNode].self, forKey: .pretrainedList) ?? []
        try decoder.configCheck(pretrained.allSatisfy { $0.isNull || $0.scalar.flatMap { Scalars.bool($0.text) } == false },
                                CodingKeys.pretrainedList, "is not supported; give each model `pretrained: <path>`")
        inferModelName = try c.decodeIfPresent(String.self, forKey: .inferModelName)
            ?? (names.contains("Student") ? "Student" : names[0])
        try decoder.configCheck(names.contains(inferModelName), CodingKeys.inferModelName,
                                "'\(inferModelName)' is not one of the models \(names)")
        _ = try c.decodeIfPresent(Int.self, forKey: .classNum)
    }
}

extension DistillationModel {
    /// `DistillationModel`: models built through the Arch registry and trained together.
    static func register(into r: inout Registries) {
        r.arch.register("DistillationModel", summary: "models trained together: mutual learning, distillation",
                        options: DistillationOptions.self) { o, ctx in
            guard let registry = ctx.registry, let decoder = ctx.decoder else {
                throw EngineError("DistillationModel builds its models through the Arch registry; build it with Engine")
            }
            var built: [(String, Module)] = []
            var patterns: [String: Set<String>] = [:]
            var multipliers: [String: Float] = [:]
            for (name, fullSpec) in o.models {
                // A model's own lr_mult_list (PaddleClas: the PULC students); other fine-tuning switches are the
                // top-level Arch's, and freeze_params_list freezes a whole model.
                let (read, spec) = try FineTuning.read(fullSpec)
                var tuning = read
                if let key = tuning.nodes.keys.sorted().first(where: { $0 != "lr_mult_list" }) {
                    throw ConfigError("\(fullSpec.path).\(key) is not read in a model of a DistillationModel (only "
                                      + "lr_mult_list is); freeze a whole model with freeze_params_list", at: tuning.nodes[key]!)
                }
                if spec.name == "DistillationModel" {
                    throw ConfigError("\(spec.path): a DistillationModel cannot contain another", at: spec.nameLocation)
                }
                let model: Module
                if spec.name == "AttentionModel" {
                    let attention = try AttentionModel.build(spec, registry: registry, classCount: ctx.classCount,
                                                             decoder: decoder)
                    (model, patterns[name]) = (attention, Set(attention.outputNames))
                } else {
                    (model, patterns[name]) = try buildMember(spec, registry: registry, classCount: ctx.classCount,
                                                              decoder: decoder)
                }
                if tuning.lrMultList != nil {
                    try tuning.apply(to: model, archName: spec.name, card: registry.card(named: spec.name))
                    let names = model.namedParameters().map(\.0)
                    for (param, m) in zip(names, tuning.learningRateMultipliers(for: names)) { multipliers["\(name).\(param)"] = m }
                }
                built.append((name, model))
            }
            let model = DistillationModel(models: built, frozen: o.frozen, inferModelName: o.inferModelName,
                                          archNames: o.models.map(\.spec.name), returnPatterns: patterns)
            model.learningRateMultipliers = multipliers
            return model
        }
    }

    /// Builds one model of a DistillationModel (or an AttentionModel's backbone) through the Arch registry, with
    /// its weights when `pretrained` is a path, and the intermediate outputs it returns.
    static func buildMember(_ spec: ComponentSpec, registry: ModelRegistry, classCount: Int,
                            decoder: ConfigDecoder) throws -> (Module, Set<String>) {
        let weights = pretrainedPath(spec)
        if let n = spec.args["class_num"]?.scalar.flatMap({ Scalars.int($0.text) }), n != classCount {
            decoder.notice("\(spec.path).class_num (\(n)) is replaced by the run's class count (\(classCount))",
                           at: spec.args["class_num"]?.location ?? spec.nameLocation)
        }
        let model = try registry.build(spec.removingArgs(weights == nil ? patternKeys : patternKeys.union(["pretrained"])),
                                       context: ArchContext(classCount: classCount), decoder: decoder)
        if let weights { try loadWeights(weights, into: model, spec: spec) }
        return (model, try returnPatterns(spec, of: model, decoder: decoder))
    }

    /// The keys naming a sub-model's intermediate outputs (PaddleClas: `return_patterns`, `return_stages`).
    private static let patternKeys: Set<String> = ["return_patterns", "return_stages"]

    /// A sub-model's `return_patterns`, each checked against the outputs the built model has; without them,
    /// `return_stages` (True: the model's PaddleClas stages, an index or a list: those stages). As in PaddleClas,
    /// `return_stages` is ignored when `return_patterns` is given.
    private static func returnPatterns(_ spec: ComponentSpec, of model: Module, decoder: ConfigDecoder) throws -> Set<String> {
        let stagesNode = spec.args["return_stages"].flatMap { $0.isNull ? nil : $0 }
        guard let node = spec.args["return_patterns"], !node.isNull else {
            guard let stagesNode else { return [] }
            return try returnStages(stagesNode, spec: spec, of: model)
        }
        if let stagesNode, stagesNode.scalar.flatMap({ Scalars.bool($0.text) }) != false {
            decoder.notice("\(spec.path).return_stages is ignored because return_patterns is given (as in PaddleClas)",
                           at: stagesNode.location)
        }
        let names: [String]
        if let one = node.scalar?.text { names = [one] } else {
            names = try (node.items ?? []).map { element in
                guard let text = element.scalar?.text else {
                    throw ConfigError("\(spec.path).return_patterns expects a list of output names", at: element.location)
                }
                return text
            }
        }
        guard let tapped = model as? NamedOutputsModel else {
            throw ConfigError("\(spec.path).return_patterns: \(spec.name) does not name its intermediate outputs",
                              at: node.location)
        }
        let known = tapped.outputNames
        for name in names where !known.contains(name) {
            throw ConfigError("\(spec.path).return_patterns: \(spec.name) has no output '\(name)'."
                              + Suggest.didYouMean(name, in: known) + " Outputs: \(known.joined(separator: ", "))",
                              at: node.location)
        }
        return Set(names)
    }

    /// `return_stages`: True (every stage), False, a stage index or a list of them, into the model's
    /// ``NamedOutputsModel/stageOutputNames``.
    private static func returnStages(_ node: ConfigNode, spec: ComponentSpec, of model: Module) throws -> Set<String> {
        let path = "\(spec.path).return_stages"
        if let flag = node.scalar.flatMap({ Scalars.bool($0.text) }), !flag { return [] }
        let stages = (model as? NamedOutputsModel)?.stageOutputNames ?? []
        guard !stages.isEmpty else {
            throw ConfigError("\(path): \(spec.name) has no PaddleClas stages; name the outputs with return_patterns",
                              at: node.location)
        }
        if node.scalar.flatMap({ Scalars.bool($0.text) }) == true { return Set(stages) }
        let texts = node.scalar.map { [$0.text] } ?? (node.items ?? []).compactMap { $0.scalar?.text }
        let indices = texts.compactMap { Int($0) }
        guard !texts.isEmpty, indices.count == texts.count, indices.allSatisfy({ stages.indices.contains($0) }) else {
            throw ConfigError("\(path) expects True, False or stage indices 0…\(stages.count - 1) of \(spec.name) "
                              + "(\(stages.joined(separator: ", ")))", at: node.location)
        }
        return Set(indices.map { stages[$0] })
    }

    /// A sub-model's `pretrained` when it is a path (True/False keep the family's notice).
    private static func pretrainedPath(_ spec: ComponentSpec) -> String? {
        guard let text = spec.args["pretrained"]?.scalar?.text, Scalars.bool(text) == nil,
              let node = spec.args["pretrained"], let scalar = node.scalar, !Scalars.isNull(scalar) else { return nil }
        return text
    }

    /// Loads a sub-model's weights strictly (a teacher that half-loads would teach garbage).
    private static func loadWeights(_ prefix: String, into model: Module, spec: ComponentSpec) throws {
        let location = spec.args["pretrained"]?.location ?? spec.nameLocation
        let contents: Checkpoint.Contents
        do { contents = try Checkpoint.read(prefix: prefix) } catch {
            throw ConfigError("\(spec.path).pretrained: \(error)", at: location)
        }
        let report = model.load(contents.model)
        guard report.missing.isEmpty, report.mismatched.isEmpty else {
            throw ConfigError("\(spec.path).pretrained: \(Checkpoint.path(for: prefix)) does not fit \(spec.name): \(report)",
                              at: location)
        }
    }
}
