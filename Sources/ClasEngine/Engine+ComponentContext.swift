import ClasModels
import ClasNN

extension Engine {
    /// What this run's loss, metric and post-process factories receive: the class count, the model names of a
    /// `DistillationModel`, and the scale of every AM-softmax head (by model name, "" for a single model).
    public var componentContext: ComponentContext {
        let distillation = model as? DistillationModel
        let parts = distillation?.models.map { ($0.name, $0.model) } ?? [("", model)]
        var scales: [String: Float] = [:]
        for (name, m) in parts {
            if let head = (m as? CosineHeadModel)?.classifier { scales[name] = head.scale }
        }
        return ComponentContext(classCount: classCount, modelNames: distillation?.models.map(\.name) ?? [],
                                cosineHeadScales: scales,
                                outputNames: distillation?.returnPatterns.mapValues { $0.sorted() } ?? [:],
                                multiLabel: multiLabelTraits)
    }
}
