import ClasModels
import ClasNN

/// The stages of a model as PaddleClas's `lr_mult_list` numbers them: stage 0 is the stem, then the model card's
/// stages input to output (``ModelCard/lrMultGroups``). The classifier and anything after the last stage (a head
/// conv) belong to no stage: they keep multiplier 1 and are never frozen by `Arch.freeze_stages`.
struct StagePlan: Equatable {
    /// Stages, stem included.
    let count: Int
    /// The stage of each parameter that has one, by parameter name.
    let stageOfParameter: [String: Int]

    /// Assigns each parameter of `model` to a stage: the longest matching prefix of the card's groups; parameters
    /// before the first staged one belong to the stem; the classifier's to none.
    init(model: Module, card: ModelCard) {
        let groups = card.lrMultGroups
        count = groups.count
        var stages: [String: Int] = [:]
        var seenStage = false
        for (name, _) in model.namedParameters() {
            if card.classifier.contains(where: { name.hasPrefix($0) }) { continue }
            var best: (length: Int, stage: Int)? = nil
            for (stage, prefixes) in groups.enumerated() {
                for p in prefixes where name.hasPrefix(p) && p.count > (best?.length ?? -1) { best = (p.count, stage) }
            }
            if let best {
                stages[name] = best.stage
                seenStage = true
            } else if !seenStage {
                stages[name] = 0
            }
        }
        stageOfParameter = stages
    }

    /// Each parameter's multiplier in `names` order: `multipliers[stage]`, 1 for parameters in no stage.
    func multipliers(_ multipliers: [Double], for names: [String]) -> [Float] {
        names.map { name in stageOfParameter[name].map { Float(multipliers[$0]) } ?? 1 }
    }

    /// The stage of a module: that of its first parameter (nil for modules without parameters or in no stage).
    func stage(ofModule name: String, _ module: Module) -> Int? {
        guard let first = module.namedParameters().first else { return nil }
        return stageOfParameter[name.isEmpty ? first.0 : name + "." + first.0]
    }
}
