import ClasTensor

/// Layer normalisation over the last dimension, as PyTorch's `nn.LayerNorm(C)`: `weight` (γ, ones) and `bias`
/// (β, zeros). On NHWC feature maps it is the channels-last normalisation (timm's `LayerNorm2d` in ConvNeXt), since
/// channels are the last dimension.
public final class LayerNorm: Module {
    public let weight: Tensor?
    public let bias: Tensor?
    public var eps: Float
    public let features: Int

    /// timm's transformers use `eps: 1e-6`; PyTorch's default is 1e-5.
    public init(_ features: Int, eps: Float = 1e-5, affine: Bool = true) {
        self.features = features
        self.eps = eps
        weight = affine ? Tensor.ones([features], requiresGrad: true) : nil
        bias = affine ? Tensor.zeros([features], requiresGrad: true) : nil
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { Tensor.layerNorm(x, gamma: weight, beta: bias, eps: eps) }
}

extension ActivationLayer {
    /// GELU as a layer (PyTorch's `nn.GELU()`, or `nn.GELU(approximate="tanh")` with `approximate`).
    public static func gelu(approximate: Bool = false) -> ActivationLayer {
        ActivationLayer(approximate ? .geluTanh : .gelu)
    }
}
