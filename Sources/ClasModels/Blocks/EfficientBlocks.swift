import ClasNN
import ClasTensor

/// Squeeze-and-excitation (Hu et al., https://arxiv.org/abs/1709.01507) as timm's `SqueezeExcite`:
/// x · gate(conv_expand(act(conv_reduce(mean_hw(x))))).
public final class SqueezeExcite: Module {
    public let convReduce: Conv2d
    public let convExpand: Conv2d
    public let activation: Activation
    public let gate: Activation

    public init(channels: Int, reducedChannels: Int, activation: Activation, gate: Activation) {
        convReduce = Conv2d(channels, reducedChannels, kernelSize: 1, bias: true)
        convExpand = Conv2d(reducedChannels, channels, kernelSize: 1, bias: true)
        self.activation = activation
        self.gate = gate
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let s = convExpand(convReduce(Tensor.globalAvgPool(x)).activated(activation)).activated(gate)
        return x * s
    }
}

/// Convolution, batch norm and activation (timm's `ConvBnAct`: `conv`, `bn1`), with an optional residual.
public final class ConvBnAct: Module {
    public let conv: Conv2d
    public let bn1: BatchNorm
    public let hasSkip: Bool
    public let dropPath: DropPath?

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, groups: Int = 1,
                activation: Activation, padding: ConvPadding = .symmetric, skip: Bool = false, dropPath: Float = 0,
                bnEps: Float = 1e-5) {
        conv = Conv2d(inChannels, outChannels, kernelSize: kernel, stride: stride, groups: groups, padding: padding)
        bn1 = BatchNorm(outChannels, eps: bnEps, activation: activation)
        hasSkip = skip && stride == 1 && inChannels == outChannels
        self.dropPath = hasSkip && dropPath > 0 ? DropPath(dropPath) : nil
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let y = bn1(conv(x))
        guard hasSkip else { return y }
        return (dropPath?(y) ?? y) + x
    }
}

/// Depthwise-separable block (timm's `DepthwiseSeparableConv`): conv_dw, bn1, se, conv_pw, bn2 (with the activation
/// when `pwActivation`, timm's `dsa` blocks), residual.
public final class DepthwiseSeparable: Module {
    public let convDw: Conv2d
    public let bn1: BatchNorm
    public let se: SqueezeExcite?
    public let convPw: Conv2d
    public let bn2: BatchNorm
    public let hasSkip: Bool
    public let dropPath: DropPath?

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int, activation: Activation,
                se: SqueezeExcite?, noSkip: Bool, padding: ConvPadding, dropPath: Float, bnEps: Float,
                pwActivation: Bool = false, strides: (Int, Int)? = nil) {
        convDw = Conv2d(inChannels, inChannels, kernelSize: kernel, strides: strides ?? (stride, stride),
                        groups: inChannels, padding: padding)
        bn1 = BatchNorm(inChannels, eps: bnEps, activation: activation)
        self.se = se
        convPw = Conv2d(inChannels, outChannels, kernelSize: 1, padding: padding)
        bn2 = BatchNorm(outChannels, eps: bnEps, activation: pwActivation ? activation : .none)
        hasSkip = stride == 1 && inChannels == outChannels && !noSkip
        self.dropPath = hasSkip && dropPath > 0 ? DropPath(dropPath) : nil
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var y = bn1(convDw(x))
        if let se { y = se(y) }
        y = bn2(convPw(y))
        guard hasSkip else { return y }
        return (dropPath?(y) ?? y) + x
    }
}

/// Inverted residual (MobileNetV2/V3, EfficientNet's MBConv; timm's `InvertedResidual`): conv_pw, bn1, conv_dw,
/// bn2, se, conv_pwl, bn3, residual.
public final class InvertedResidual: Module {
    public let convPw: Conv2d
    public let bn1: BatchNorm
    public let convDw: Conv2d
    public let bn2: BatchNorm
    public let se: SqueezeExcite?
    public let convPwl: Conv2d
    public let bn3: BatchNorm
    public let hasSkip: Bool
    public let dropPath: DropPath?

    public init(_ inChannels: Int, _ outChannels: Int, midChannels: Int, kernel: Int, stride: Int,
                activation: Activation, se: SqueezeExcite?, noSkip: Bool, padding: ConvPadding, dropPath: Float,
                bnEps: Float) {
        convPw = Conv2d(inChannels, midChannels, kernelSize: 1, padding: padding)
        bn1 = BatchNorm(midChannels, eps: bnEps, activation: activation)
        convDw = Conv2d(midChannels, midChannels, kernelSize: kernel, stride: stride, groups: midChannels, padding: padding)
        bn2 = BatchNorm(midChannels, eps: bnEps, activation: activation)
        self.se = se
        convPwl = Conv2d(midChannels, outChannels, kernelSize: 1, padding: padding)
        bn3 = BatchNorm(outChannels, eps: bnEps)
        hasSkip = stride == 1 && inChannels == outChannels && !noSkip
        self.dropPath = hasSkip && dropPath > 0 ? DropPath(dropPath) : nil
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var y = bn2(convDw(bn1(convPw(x))))
        if let se { y = se(y) }
        y = bn3(convPwl(y))
        guard hasSkip else { return y }
        return (dropPath?(y) ?? y) + x
    }
}
