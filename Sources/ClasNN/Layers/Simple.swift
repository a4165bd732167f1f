import ClasTensor

/// An activation function as a layer.
public final class ActivationLayer: Module {
    public let activation: Activation
    public init(_ activation: Activation) {
        self.activation = activation
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor { x.activated(activation) }
}

/// Inverted dropout, active in training mode only.
public final class Dropout: Module {
    public var p: Float
    public init(_ p: Float) {
        precondition(p >= 0 && p < 1, "dropout probability \(p) must be in [0, 1)")
        self.p = p
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor {
        isTraining && p > 0 ? x.dropout(p, using: &Randomness.training) : x
    }
}

/// Stochastic depth on a residual branch, active in training mode only (timm's `DropPath`).
public final class DropPath: Module {
    public var p: Float
    public init(_ p: Float) {
        precondition(p >= 0 && p < 1, "drop path probability \(p) must be in [0, 1)")
        self.p = p
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor {
        isTraining && p > 0 ? x.dropPath(p, using: &Randomness.training) : x
    }
}

/// Mean over height and width: [N, H, W, C] → [N, 1, 1, C] (`flatten` gives [N, C]).
public final class GlobalAvgPool: Module {
    public let flatten: Bool
    public init(flatten: Bool = false) {
        self.flatten = flatten
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor { Tensor.globalAvgPool(x, keepDims: !flatten) }
}

/// Flattens all dimensions after the first.
public final class Flatten: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.flattened() }
}

/// Max pooling.
public final class MaxPool2d: Module {
    public let kernel: Int, stride: Int, padding: Int
    public init(kernel: Int, stride: Int, padding: Int = 0) {
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor {
        Tensor.maxPool2d(x, kernel: (kernel, kernel), stride: (stride, stride), padding: Padding2D(padding))
    }
}

/// Average pooling.
public final class AvgPool2d: Module {
    public let kernel: Int, stride: Int, padding: Int, countIncludePad: Bool
    public init(kernel: Int, stride: Int, padding: Int = 0, countIncludePad: Bool = true) {
        (self.kernel, self.stride, self.padding, self.countIncludePad) = (kernel, stride, padding, countIncludePad)
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor {
        Tensor.avgPool2d(x, kernel: (kernel, kernel), stride: (stride, stride), padding: Padding2D(padding),
                         countIncludePad: countIncludePad)
    }
}
