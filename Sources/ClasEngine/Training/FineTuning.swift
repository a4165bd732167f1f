import ClasConfig
import ClasModels
import ClasNN

/// Fine-tuning switches read from `Arch` (any model):
/// - `freeze_backbone: True` trains only the classifier; `freeze_bn: True` keeps every BatchNorm in inference mode
///   (running statistics, never updated) — the usual advice when fine-tuning on a small dataset.
/// - `lr_mult_list: [...]` (PaddleClas): one learning-rate multiplier per stage, stem first (``StagePlan``); the
///   classifier and head keep 1.
/// - `freeze_stages: N`: the first N stages (stem included) get no gradient and no update, and their BatchNorm
///   statistics stay fixed.
/// - `freeze_backbone_epochs: E` (the Keras two-phase recipe): epochs 1…E train only the classifier, later epochs
///   everything, or only the top `unfreeze_stages: K` stages and the head; BatchNorm stays frozen throughout unless
///   `freeze_bn: False`.
/// Without them all layers train.
public struct FineTuning: Equatable {
    public var freezeBackbone = false
    public var freezeBatchNorm = false
    public var lrMultList: [Double]?
    public var freezeStages: Int?
    public var freezeBackboneEpochs: Int?
    public var unfreezeStages: Int?
    /// The nodes of the keys given (for errors with file:line).
    var nodes: [String: ConfigNode] = [:]
    /// Resolved by `apply`: the model's stages, the classifier's prefixes, the parameters trainable before any freeze.
    var plan: StagePlan?
    var classifier: [String] = []
    var initiallyTrainable: Set<String> = []

    /// The keys this reads; they are removed from `Arch` before the model's own options are decoded.
    static let keys: Set<String> = ["freeze_backbone", "freeze_bn", "lr_mult_list", "freeze_stages",
                                    "freeze_backbone_epochs", "unfreeze_stages"]

    /// Reads the switches from `Arch` and returns them with the spec the model factory should see.
    static func read(_ spec: ComponentSpec) throws -> (FineTuning, ComponentSpec) {
        var f = FineTuning()
        for key in keys.sorted() {
            guard let node = spec.args[key], !node.isNull else { continue }
            f.nodes[key] = node
            switch key {
            case "freeze_backbone", "freeze_bn":
                guard let value = node.scalar.flatMap({ Scalars.bool($0.text) }) else {
                    throw ConfigError("\(spec.path).\(key) expects a boolean, got \(node.summary)", at: node)
                }
                if key == "freeze_backbone" { f.freezeBackbone = value } else { f.freezeBatchNorm = value }
            case "lr_mult_list":
                let values = node.items?.map { $0.scalar.flatMap { Scalars.double($0.text) } }
                guard let values, !values.isEmpty, values.allSatisfy({ $0.map { $0.isFinite && $0 >= 0 } ?? false }) else {
                    throw ConfigError("\(spec.path).lr_mult_list expects a list of non-negative numbers, one per stage "
                                      + "(e.g. [0.1, 0.1, 0.2, 0.2, 0.3]), got \(node.summary)", at: node)
                }
                f.lrMultList = values.compactMap { $0 }
            default:
                guard let value = node.scalar.flatMap({ Scalars.int($0.text) }), value >= 0 else {
                    throw ConfigError("\(spec.path).\(key) expects a non-negative integer, got \(node.summary)", at: node)
                }
                switch key {
                case "freeze_stages": f.freezeStages = value
                case "freeze_backbone_epochs": f.freezeBackboneEpochs = value
                default: f.unfreezeStages = value
                }
            }
        }
        if let node = f.nodes["unfreeze_stages"] {
            guard f.freezeBackboneEpochs != nil else {
                throw ConfigError("\(spec.path).unfreeze_stages says which stages train after "
                                  + "\(spec.path).freeze_backbone_epochs; set that too", at: node)
            }
            if f.freezeStages != nil {
                throw ConfigError("\(spec.path).unfreeze_stages and freeze_stages both say which stages stay frozen; "
                                  + "give one", at: node)
            }
        }
        if f.freezeBackbone, let node = f.nodes["freeze_backbone_epochs"] {
            throw ConfigError("\(spec.path).freeze_backbone freezes the backbone for the whole run; "
                              + "freeze_backbone_epochs ends the freeze at an epoch: give one", at: node)
        }
        if f.freezeBackboneEpochs != nil && f.nodes["freeze_bn"] == nil { f.freezeBatchNorm = true }
        return (f, spec.removingArgs(keys))
    }

    /// Stages frozen for the whole run (`freeze_stages`) or after the two-phase freeze (`unfreeze_stages`).
    var frozenStageCount: Int? {
        if let freezeStages { return freezeStages }
        if let unfreezeStages, let plan { return max(0, plan.count - unfreezeStages) }
        return nil
    }

    /// Resolves the switches against a built model and applies them for the first epoch.
    mutating func apply(to model: Module, archName: String, card: ModelCard?) throws {
        if let key = ["lr_mult_list", "freeze_stages", "unfreeze_stages"].first(where: { nodes[$0] != nil }) {
            guard let card, !card.lrMultGroups.isEmpty else {
                throw ConfigError("Arch.\(key): \(archName) has no model card naming its stages", at: nodes[key]!)
            }
            plan = StagePlan(model: model, card: card)
        }
        if let plan {
            let stages = "\(archName) has \(plan.count) stages (the stem, then \(plan.count - 1) more, input to output)"
            if let list = lrMultList, list.count != plan.count {
                throw ConfigError("Arch.lr_mult_list has \(list.count) value\(list.count == 1 ? "" : "s") but expects "
                                  + "\(plan.count): \(stages)", at: nodes["lr_mult_list"]!)
            }
            for key in ["freeze_stages", "unfreeze_stages"] {
                if let n = key == "freeze_stages" ? freezeStages : unfreezeStages, n > plan.count {
                    throw ConfigError("Arch.\(key) is \(n) but \(stages)", at: nodes[key]!)
                }
            }
        }
        initiallyTrainable = Set(model.namedParameters().filter { $0.1.requiresGrad }.map(\.0))
        if freezeBackbone || freezeBackboneEpochs != nil {
            classifier = FineTuning.classifierPrefixes(of: model, card: card)
            guard !classifier.isEmpty else {
                let key = freezeBackbone ? "freeze_backbone" : "freeze_backbone_epochs"
                throw EngineError("Arch.\(key): cannot tell which layers of \(archName) are the classifier")
            }
        }
        for case let (name, bn as BatchNorm) in model.namedModules() {
            if freezeBatchNorm { bn.useRunningStatistics = true; continue }
            if let n = frozenStageCount, let plan, let stage = plan.stage(ofModule: name, bn), stage < n {
                bn.useRunningStatistics = true
            }
        }
        setTrainable(epoch: 1, model: model)
    }

    /// Whether the backbone is frozen in `epoch` (1-based).
    func backboneFrozen(epoch: Int) -> Bool {
        freezeBackbone || freezeBackboneEpochs.map { epoch <= $0 } ?? false
    }

    /// Sets which parameters train in `epoch` (1-based); the trainer calls it before every epoch, so a resumed
    /// run is in the same phase as an uninterrupted one. Parameters the model froze itself stay frozen.
    func setTrainable(epoch: Int, model: Module) {
        let frozenStages = frozenStageCount
        guard backboneFrozen(epoch: epoch) || frozenStages != nil || freezeBackboneEpochs != nil else { return }
        for (name, p) in model.namedParameters() where initiallyTrainable.contains(name) {
            if backboneFrozen(epoch: epoch) {
                p.requiresGrad = classifier.contains { name.hasPrefix($0) }
            } else if let n = frozenStages, let stage = plan?.stageOfParameter[name] {
                p.requiresGrad = stage >= n
            } else {
                p.requiresGrad = true
            }
        }
    }

    /// `lr_mult_list` as one multiplier per parameter name (empty without `lr_mult_list`).
    func learningRateMultipliers(for names: [String]) -> [Float] {
        guard let lrMultList, let plan else { return [] }
        return plan.multipliers(lrMultList, for: names)
    }

    /// The classifier's parameter prefixes: from the model's card, else the last linear layer.
    static func classifierPrefixes(of model: Module, card: ModelCard?) -> [String] {
        if let card { return card.classifier }
        guard let last = model.namedModules().last(where: { $0.1 is Linear }) else { return [] }
        return [last.0 + "."]
    }
}
