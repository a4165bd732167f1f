import ClasConfig
import ClasTensor
import Foundation

/// PaddleClas's `MultiLabelAsymmetricLoss` (ASL, Ben-Baruch et al., https://arxiv.org/abs/2009.14119): with
/// p = σ(x), a positive costs −(1 − p)^γ₊·log p and a negative −p_m^γ₋·log(1 − p_m), where the negative's
/// probability is shifted by `clip` (p_m = max(p − clip, 0)), which discards easy negatives.
///
/// In PaddleClas's form: pt = p for a positive and min(1 − p + clip, 1) for a negative, loss
/// = −log(max(pt, ε))·(1 − pt)^(γ₊·y + γ₋·(1 − y)), summed (`reduction: sum`, the default) or averaged (`mean`).
/// With `disable_focal_loss_grad` (default) the focusing weight is a constant in the backward pass, as PaddleClas.
public struct MultiLabelAsymmetricLoss: MultiLabelLossFunction {
    public var gammaPositive: Float = 1, gammaNegative: Float = 4, clip: Float = 0.05, epsilon: Float = 1e-8
    public var disableFocalLossGrad = true
    public var mean = false

    public init(gammaPositive: Float = 1, gammaNegative: Float = 4, clip: Float = 0.05, epsilon: Float = 1e-8,
                disableFocalLossGrad: Bool = true, mean: Bool = false) {
        self.gammaPositive = gammaPositive
        self.gammaNegative = gammaNegative
        self.clip = clip
        self.epsilon = epsilon
        self.disableFocalLossGrad = disableFocalLossGrad
        self.mean = mean
    }

    public func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        guard let y = targets.multiHot?.detached() else {
            preconditionFailure("MultiLabelAsymmetricLoss needs multi-label targets (MultiLabelDataset)")
        }
        return [("MultiLabelAsymmetricLoss", loss(outputs.logits, y))]
    }

    /// The loss of `logits` against 0/1 `target` of the same shape.
    public func loss(_ logits: Tensor, _ target: Tensor) -> Tensor {
        precondition(logits.shape == target.shape, "MultiLabelAsymmetricLoss: logits \(logits.shape), targets \(target.shape)")
        let p = logits.sigmoid()
        // min(1 − p + clip, 1) = 1 − max(p − clip, 0)
        let negative = clip > 0 ? 1 - (p - clip).relu() : 1 - p
        let pt = negative * (1 - target) + p * target
        let exponent = target.affine(gammaPositive - gammaNegative, gammaNegative)
        let weight: Tensor
        if disableFocalLossGrad {
            weight = Tensor(uninitializedShape: pt.shape)
            for i in 0..<pt.count { weight.data[i] = Float(Foundation.pow(Double(1 - pt.data[i]), Double(exponent.data[i]))) }
        } else {
            // (1 − pt)^e = exp(e·log(1 − pt)); the base is kept above 1e-30 so the gradient stays finite at pt = 1.
            weight = ((1 - pt).clamped(min: 1e-30).log() * exponent).exp()
        }
        let each = -pt.clamped(min: epsilon).log() * weight
        return mean ? each.mean() : each.sum()
    }

    struct Options: ConfigOptions {
        var loss: MultiLabelAsymmetricLoss
        enum CodingKeys: String, CodingKey, CaseIterable {
            case gammaPos = "gamma_pos", gammaNeg = "gamma_neg", clip, epsilon
            case disable = "disable_focal_loss_grad", reduction
        }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let gp = try c.decode(.gammaPos, default: 1.0), gn = try c.decode(.gammaNeg, default: 4.0)
            let clip = c.contains(.clip) ? try c.decodeIfPresent(Double.self, forKey: .clip) ?? 0 : 0.05  // null: none
            let eps = try c.decode(.epsilon, default: 1e-8)
            try decoder.configCheck(gp >= 0, CodingKeys.gammaPos, "must be ≥ 0, got \(gp)")
            try decoder.configCheck(gn >= 0, CodingKeys.gammaNeg, "must be ≥ 0, got \(gn)")
            try decoder.configCheck(clip >= 0 && clip < 1, CodingKeys.clip, "must be in [0, 1), got \(clip)")
            try decoder.configCheck(eps > 0, CodingKeys.epsilon, "must be positive, got \(eps)")
            let reduction = try c.decode(.reduction, default: "sum")
            try decoder.configCheck(reduction == "sum" || reduction == "mean", CodingKeys.reduction,
                                    "must be 'sum' or 'mean' (a training loss is one number), got '\(reduction)'")
            loss = MultiLabelAsymmetricLoss(gammaPositive: Float(gp), gammaNegative: Float(gn), clip: Float(clip),
                                            epsilon: Float(eps), disableFocalLossGrad: try c.decode(.disable, default: true),
                                            mean: reduction == "mean")
        }
    }

    /// `MultiLabelAsymmetricLoss`.
    static func register(into r: inout Registries) {
        r.loss.register("MultiLabelAsymmetricLoss", summary: "asymmetric loss for multi-label data (gamma_pos, gamma_neg, clip)",
                        options: Options.self) { o, ctx in
            try ctx.requireMultiLabel("MultiLabelAsymmetricLoss")
            return o.loss
        }
    }
}
