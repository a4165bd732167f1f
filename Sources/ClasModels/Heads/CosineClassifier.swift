import ClasNN
import ClasTensor

/// The classifier of additive-margin softmax (AM-softmax, Wang et al., https://arxiv.org/abs/1801.05599; CosFace,
/// https://arxiv.org/abs/1801.09414): logits = s·cos θ = s·(x/‖x‖)·(W/‖W‖)ᵀ, with no bias.
///
/// The margin is not applied here: it belongs to the training loss (`AMSoftmaxLoss` subtracts s·m from the target
/// class's logit), so inference and evaluation see plain scaled cosines and softmax scores stay meaningful.
/// The weight is named `weight` ([classes, features], a linear classifier's shape), so a pretrained linear
/// classifier's weight loads into it.
public final class CosineClassifier: Module {
    /// [classes, features].
    public let weight: Tensor
    /// The scale s (AM-softmax paper: 30).
    public let scale: Float

    /// - Parameters:
    ///   - inFeatures: feature width.
    ///   - outFeatures: classes.
    ///   - scale: s, > 0.
    public init(_ inFeatures: Int, _ outFeatures: Int, scale: Float = 30) {
        precondition(scale > 0, "CosineClassifier: scale must be positive, got \(scale)")
        weight = Tensor(uninitializedShape: [outFeatures, inFeatures])
        weight.requiresGrad = true
        Init.uniform(weight, bound: 1 / Float(inFeatures).squareRoot())
        self.scale = scale
        super.init()
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// Cosines between each row of `x` [N, features] and each class weight: [N, classes] in [−1, 1].
    public func cosines(_ x: Tensor) -> Tensor {
        Tensor.linear(x.l2Normalized(), weight: weight.l2Normalized(), bias: nil)
    }

    /// s·cos θ.
    public override func forward(_ x: Tensor) -> Tensor { cosines(x) * scale }
}
