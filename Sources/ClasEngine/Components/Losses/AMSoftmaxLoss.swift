import ClasConfig
import ClasTensor

/// Additive-margin softmax loss (AM-softmax, Wang et al., https://arxiv.org/abs/1801.05599) on the scaled cosines
/// z = s·cos θ of a model with an AM-softmax head (``HeadOptions``): cross-entropy of z − s·m·y against y, i.e.
/// the target class must beat the others by the margin m in cosine. Soft targets (mixup) take a proportional
/// margin. Key `AMSoftmaxLoss`, or `AMSoftmaxLoss_<model>` for a model of a `DistillationModel`.
///
/// ```yaml
/// Loss:
///   Train:
///     - AMSoftmaxLoss: {weight: 1.0, margin: 0.35}        # scale: the head's (30 by default)
///     - AMSoftmaxLoss: {weight: 1.0, model_name: Aux}      # in a DistillationModel
/// ```
public struct AMSoftmaxLoss: LossFunction {
    /// The margin m in cosine units (0.35 in the paper).
    public var margin: Float
    /// The head's scale s.
    public var scale: Float
    /// The model of a `DistillationModel` whose logits are used; nil for a single model.
    public var modelName: String?

    public init(margin: Float = 0.35, scale: Float = 30, modelName: String? = nil) {
        (self.margin, self.scale, self.modelName) = (margin, scale, modelName)
    }

    public func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        let logits = modelName.map { outputs.required($0) } ?? outputs.logits
        return [(modelName.map { "AMSoftmaxLoss_\($0)" } ?? "AMSoftmaxLoss",
                 Self.loss(logits, targets, margin: margin, scale: scale))]
    }

    /// Mean cross-entropy of `scaledCosines` − s·m·target against the target (one-hot labels or soft targets).
    public static func loss(_ scaledCosines: Tensor, _ targets: Targets, margin: Float, scale: Float) -> Tensor {
        let target = targets.soft?.detached() ?? Tensor.oneHot(targets.labels, classes: scaledCosines.shape[1])
        return Tensor.softCrossEntropy(scaledCosines - target * (scale * margin), target: target)
    }

    struct Options: ConfigOptions {
        var margin: Double, scale: Double?, modelName: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case margin, scale, modelName = "model_name" }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            margin = try c.decode(.margin, default: 0.35)
            scale = try c.decodeIfPresent(Double.self, forKey: .scale)
            modelName = try c.decodeIfPresent(String.self, forKey: .modelName)
            try decoder.configCheck(margin >= 0 && margin < 1, CodingKeys.margin, "must be in [0, 1), got \(margin)")
            if let s = scale { try decoder.configCheck(s > 0, CodingKeys.scale, "must be positive, got \(s)") }
        }
    }

    /// Builds the loss, taking the scale from the model's head (an explicit `scale` must agree with it).
    static func make(_ o: Options, _ ctx: ComponentContext) throws -> AMSoftmaxLoss {
        if !ctx.modelNames.isEmpty, o.modelName == nil {
            throw EngineError("AMSoftmaxLoss on a DistillationModel needs model_name (one of \(ctx.modelNames))")
        }
        if let name = o.modelName { try ctx.requireModels([name], key: "model_name") }
        guard let headScale = ctx.cosineHeadScales[o.modelName ?? ""] else {
            throw EngineError("AMSoftmaxLoss needs a model with an AM-softmax head: add `head: {name: AMSoftmax}` to "
                              + (o.modelName.map { "the Arch of model '\($0)'" } ?? "Arch"))
        }
        if let s = o.scale, Float(s) != headScale {
            throw EngineError("AMSoftmaxLoss scale \(s) differs from the head's scale \(headScale); leave it out")
        }
        return AMSoftmaxLoss(margin: Float(o.margin), scale: headScale, modelName: o.modelName)
    }
}

extension Tensor {
    /// One-hot rows [labels.count, classes].
    public static func oneHot(_ labels: [Int], classes: Int) -> Tensor {
        let t = Tensor(shape: [labels.count, classes], repeating: 0)
        for (i, label) in labels.enumerated() {
            precondition(label >= 0 && label < classes, "label \(label) out of range 0..<\(classes)")
            t.data[i * classes + label] = 1
        }
        return t
    }
}

extension ModelOutputs {
    /// A named output that the loss factories checked exists.
    func required(_ name: String) -> Tensor {
        guard let t = output(name) else { preconditionFailure("no model output named '\(name)' (have \(byName.keys.sorted()))") }
        return t
    }
}

extension ComponentContext {
    /// Throws unless every name is a model of the `DistillationModel`.
    func requireModels(_ names: [String], key: String) throws {
        guard !modelNames.isEmpty else {
            throw EngineError("\(key) names models of a DistillationModel, but Arch is a single model")
        }
        for name in names where !modelNames.contains(name) {
            throw EngineError("\(key): '\(name)' is not a model of the DistillationModel (\(modelNames.joined(separator: ", ")))")
        }
    }
}

extension AMSoftmaxLoss {
    /// `AMSoftmaxLoss` (alias `CosFaceLoss`).
    static func register(into r: inout Registries) {
        r.loss.register("AMSoftmaxLoss", aliases: ["CosFaceLoss"], summary: "additive-margin softmax (margin m) on an AMSoftmax head",
                        options: Options.self) { try make($0, $1) }
    }
}
