import ClasConfig
import ClasTensor

/// A loss entry with its weight (PaddleClas `- CELoss: {weight: 1.0, …}`).
struct WeightedLoss {
    let name: String
    let weight: Float
    let loss: LossFunction

    static func build(_ specs: [ComponentSpec], registry: Registry<LossFunction, ComponentContext>,
                      context: ComponentContext, decoder: ConfigDecoder) throws -> [WeightedLoss] {
        try specs.map { spec in
            var weight: Float = 1
            if let w = spec.args["weight"] {
                guard let v = w.scalar.flatMap({ Scalars.double($0.text) }), v >= 0 else {
                    throw ConfigError("\(spec.path).weight expects a non-negative number, got \(w.summary)", at: w)
                }
                weight = Float(v)
            }
            let loss = try registry.build(spec.removingArgs(["weight"]), context: context, decoder: decoder)
            if context.multiLabel?.isMultiLabel == true, !(loss is MultiLabelLossFunction), loss.readsLabels {
                throw ConfigError("\(spec.path) \(spec.name) needs one integer label per image, but the data is multi-label "
                                  + "(MultiLabelDataset): use MultiLabelLoss, MultiLabelAsymmetricLoss or "
                                  + "DistillationMultiLabelLoss", at: spec.nameLocation)
            }
            if let dataset = context.unlabelledData, loss.readsLabels {
                throw ConfigError("\(spec.path) \(spec.name) needs labels, but \(dataset) has none (a CustomLabelDataset "
                                  + "without label_key): set label_key, or train with losses between models only "
                                  + "(DistillationDMLLoss, DistillationKLDivLoss, DistillationCELoss, …)",
                                  at: spec.nameLocation)
            }
            return WeightedLoss(name: spec.name, weight: weight, loss: loss)
        }
    }

    /// The weighted sum and every term's value (unweighted, as PaddleClas logs them).
    static func total(_ losses: [WeightedLoss], _ outputs: ModelOutputs, _ targets: Targets) -> (Tensor, [(String, Double)]) {
        var sum: Tensor? = nil
        var terms: [(String, Double)] = []
        for l in losses {
            for (name, t) in l.loss.terms(outputs, targets) {
                terms.append((name, Double(t.item)))
                let weighted = l.weight == 1 ? t : t * l.weight
                sum = sum.map { $0 + weighted } ?? weighted
            }
        }
        return (sum ?? Tensor(0), terms)
    }
}
