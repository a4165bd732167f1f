import ClasConfig
import ClasModels
import ClasNN

/// Fine-tuning switches read from `Arch` (any model): `freeze_backbone: True` trains only the classifier,
/// `freeze_bn: True` keeps every BatchNorm in inference mode (running statistics, never updated) — the usual
/// advice when fine-tuning on a small dataset. Without them all layers train.
public struct FineTuning: Equatable {
    public var freezeBackbone = false
    public var freezeBatchNorm = false

    /// The keys this reads; they are removed from `Arch` before the model's own options are decoded.
    static let keys: Set<String> = ["freeze_backbone", "freeze_bn"]

    /// Reads the switches from `Arch` and returns them with the spec the model factory should see.
    static func read(_ spec: ComponentSpec) throws -> (FineTuning, ComponentSpec) {
        var f = FineTuning()
        for key in keys {
            guard let node = spec.args[key], !node.isNull else { continue }
            guard let value = node.scalar.flatMap({ Scalars.bool($0.text) }) else {
                throw ConfigError("\(spec.path).\(key) expects a boolean, got \(node.summary)", at: node)
            }
            if key == "freeze_backbone" { f.freezeBackbone = value } else { f.freezeBatchNorm = value }
        }
        return (f, spec.removingArgs(keys))
    }

    /// Applies the switches to a built model.
    func apply(to model: Module, archName: String, card: ModelCard?) throws {
        if freezeBatchNorm {
            for case let (_, bn as BatchNorm) in model.namedModules() { bn.useRunningStatistics = true }
        }
        guard freezeBackbone else { return }
        let prefixes = FineTuning.classifierPrefixes(of: model, card: card)
        guard !prefixes.isEmpty else {
            throw EngineError("Arch.freeze_backbone: cannot tell which layers of \(archName) are the classifier")
        }
        for (name, p) in model.namedParameters() {
            p.requiresGrad = prefixes.contains { name.hasPrefix($0) }
        }
    }

    /// The classifier's parameter prefixes: from the model's card, else the last linear layer.
    static func classifierPrefixes(of model: Module, card: ModelCard?) -> [String] {
        if let card { return card.classifier }
        guard let last = model.namedModules().last(where: { $0.1 is Linear }) else { return [] }
        return [last.0 + "."]
    }
}
