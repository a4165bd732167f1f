import ClasTensor

/// How a convolution or pooling window pads its input.
public enum ConvPadding: Equatable, Sendable {
    /// PyTorch/timm's symmetric `((k − 1) / 2) · dilation` on each side.
    case symmetric
    /// Fixed padding per side.
    case explicit(Padding2D)
    /// TensorFlow's dynamic "SAME": output = ⌈input / stride⌉, the odd pixel of padding at the bottom/right.
    case same

    /// The padding for an input of size (h, w).
    func resolve(input: (Int, Int), kernel: (Int, Int), stride: (Int, Int), dilation: (Int, Int)) -> Padding2D {
        switch self {
        case .symmetric:
            return Padding2D(h: (kernel.0 - 1) / 2 * dilation.0, w: (kernel.1 - 1) / 2 * dilation.1)
        case .explicit(let p):
            return p
        case .same:
            func total(_ size: Int, _ k: Int, _ s: Int, _ d: Int) -> Int {
                max(((size + s - 1) / s - 1) * s + (k - 1) * d + 1 - size, 0)
            }
            let th = total(input.0, kernel.0, stride.0, dilation.0), tw = total(input.1, kernel.1, stride.1, dilation.1)
            return Padding2D(top: th / 2, bottom: th - th / 2, left: tw / 2, right: tw - tw / 2)
        }
    }
}

/// 2-D convolution over NHWC input. Weights are OHWI: [out, kh, kw, in/groups].
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int)
    public let dilation: (Int, Int)
    public let groups: Int
    public let padding: ConvPadding

    /// - Parameters:
    ///   - inChannels, outChannels: channel counts.
    ///   - kernelSize: square kernel side (or use `kernel:` for rectangles).
    ///   - stride, dilation, groups: as in PyTorch; `groups == inChannels == outChannels` is depthwise.
    ///   - strides: (vertical, horizontal) strides when they differ (PaddleClas's `stride_list: [[2, 1], …]`).
    ///   - padding: symmetric by default.
    ///   - bias: whether to add a learned bias.
    public init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: Int = 1, kernel: (Int, Int)? = nil, stride: Int = 1,
        strides: (Int, Int)? = nil, dilation: Int = 1, groups: Int = 1, padding: ConvPadding = .symmetric, bias: Bool = false
    ) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels)→\(outChannels) not divisible by groups \(groups)")
        let k = kernel ?? (kernelSize, kernelSize)
        weight = Tensor(uninitializedShape: [outChannels, k.0, k.1, inChannels / groups])
        weight.requiresGrad = true
        Init.kaimingNormalFanOut(weight, fanOut: k.0 * k.1 * outChannels / groups)
        self.bias = bias ? Tensor.zeros([outChannels], requiresGrad: true) : nil
        self.stride = strides ?? (stride, stride)
        self.dilation = (dilation, dilation)
        self.groups = groups
        self.padding = padding
        super.init()
    }

    public var inChannels: Int { weight.shape[3] * groups }
    public var outChannels: Int { weight.shape[0] }
    public var kernel: (Int, Int) { (weight.shape[1], weight.shape[2]) }

    /// The padding applied to an input of the given spatial size.
    public func resolvedPadding(height: Int, width: Int) -> Padding2D {
        padding.resolve(input: (height, width), kernel: kernel, stride: stride, dilation: dilation)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let y = Tensor.conv2d(x, weight: weight, bias: bias, stride: stride,
                              padding: resolvedPadding(height: x.shape[1], width: x.shape[2]), dilation: dilation,
                              groups: groups)
        MACCounter.add(y.count * weight.shape[1] * weight.shape[2] * weight.shape[3])
        return y
    }
}
