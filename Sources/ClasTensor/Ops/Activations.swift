import ClasKernels

/// The activation functions the model zoo uses; `none` is the identity. `gelu` is the exact (erf) GELU, `geluTanh`
/// its tanh approximation (PyTorch's `GELU(approximate="tanh")`, timm's `gelu_tanh`).
public enum Activation: Int32, CaseIterable, Sendable {
    case none = 0, relu = 1, relu6 = 2, hardswish = 3, hardsigmoid = 4, sigmoid = 5, silu = 6, tanh = 7, gelu = 8,
         geluTanh = 9

    /// Looks an activation up by its common names (`relu`, `hard_swish`, `swish`, …).
    public init?(name: String) {
        switch name.lowercased().replacingOccurrences(of: "_", with: "") {
        case "none", "identity", "linear": self = .none
        case "relu": self = .relu
        case "relu6": self = .relu6
        case "hardswish", "hswish": self = .hardswish
        case "hardsigmoid", "hsigmoid": self = .hardsigmoid
        case "sigmoid": self = .sigmoid
        case "silu", "swish": self = .silu
        case "tanh": self = .tanh
        case "gelu": self = .gelu
        case "gelutanh", "gelupytorchtanh", "approxgelu": self = .geluTanh
        default: return nil
        }
    }
}

extension Tensor {
    /// Applies an activation elementwise.
    public func activated(_ act: Activation) -> Tensor {
        if act == .none { return self }
        let out = Tensor(uninitializedShape: shape)
        Profiler.measure("\(act) forward") { clas_act_forward(act.rawValue, data, out.data, Int64(count)) }
        OpTrace.record(.activation(act), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        // ReLU's and ReLU6's derivatives are the same function of the output (y > 0, 0 < y < 6): keeping the output,
        // which the next layer keeps anyway, frees the input (as PyTorch's in-place ReLU does), e.g. each ResNet
        // block's sum before its final ReLU.
        let saved = act == .relu || act == .relu6 ? out.detached() : detached()
        return out.record("activation", [self]) { g in
            let dx = Tensor(uninitializedShape: saved.shape)
            clas_act_backward(act.rawValue, saved.data, g.data, dx.data, Int64(saved.count), false)
            return [dx]
        }
    }

    public func relu() -> Tensor { activated(.relu) }
    public func relu6() -> Tensor { activated(.relu6) }
    public func hardswish() -> Tensor { activated(.hardswish) }
    public func hardsigmoid() -> Tensor { activated(.hardsigmoid) }
    public func sigmoid() -> Tensor { activated(.sigmoid) }
    public func silu() -> Tensor { activated(.silu) }
    public func tanh() -> Tensor { activated(.tanh) }
    /// GELU: exact (erf) by default, the tanh approximation with `approximate`.
    public func gelu(approximate: Bool = false) -> Tensor { activated(approximate ? .geluTanh : .gelu) }
}
