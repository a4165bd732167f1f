import ClasTensor

/// A fully connected layer: y = x·Wᵀ + b with weight [out, in] (PyTorch's layout).
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    /// Initialised as timm's EfficientNet-family classifiers: weight ~ U(−1/√out, 1/√out), bias 0.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        weight = Tensor(uninitializedShape: [outFeatures, inFeatures])
        weight.requiresGrad = true
        Init.uniform(weight, bound: 1 / Float(outFeatures).squareRoot())
        self.bias = bias ? Tensor.zeros([outFeatures], requiresGrad: true) : nil
        super.init()
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public override func forward(_ x: Tensor) -> Tensor {
        let y = Tensor.linear(x, weight: weight, bias: bias)
        MACCounter.add(y.count * inFeatures)
        return y
    }
}
