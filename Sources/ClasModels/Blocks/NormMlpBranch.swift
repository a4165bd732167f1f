import ClasNN
import ClasTensor

/// `scale ⊙ mlp(norm(x))`, the MLP branch of pre-norm transformer blocks and ConvNeXt blocks.
///
/// While a graph is recorded for training, runs as the fused
/// ``ClasTensor/Tensor/normMlp(_:norm:fc1:_:fc2:_:activation:scale:)`` op, which keeps less for the backward pass
/// (fc1's pre-activation instead of four tensors) and makes fewer passes over memory. Otherwise the modules run one by
/// one: without a graph (evaluation, inference), so the eager forward stays bit for bit the one an exporter traces;
/// while an exporter traces (the graph records the modules, as the ONNX export and QAT need); and when the MLP's
/// dropout is active.
func normMlpBranch(_ x: Tensor, norm: LayerNorm, mlp: Module, scale: Tensor?) -> Tensor {
    if GradMode.isEnabled, OpTrace.current == nil, let f = FusedMlpParts(mlp),
       [x, norm.weight, norm.bias, scale, f.w1, f.b1, f.w2, f.b2].contains(where: { $0?.requiresGrad ?? false }) {
        MACCounter.add(2 * x.count * f.w1.shape[0])
        return Profiler.measure("NormMlp forward") {
            Tensor.normMlp(x, norm: .init(weight: norm.weight, bias: norm.bias, eps: norm.eps), fc1: f.w1, f.b1,
                           fc2: f.w2, f.b2, activation: f.activation, scale: scale)
        }
    }
    let y = mlp(norm(x))
    return scale.map { y * $0 } ?? y
}

/// The weights of an ``Mlp`` or ``ConvMlp`` in the fused op's terms; nil for other modules and for an ``Mlp``
/// with dropout.
private struct FusedMlpParts {
    let w1: Tensor, b1: Tensor?, w2: Tensor, b2: Tensor?, activation: Activation

    init?(_ m: Module) {
        if let m = m as? Mlp, m.drop.p == 0 {
            (w1, b1, w2, b2, activation) = (m.fc1.weight, m.fc1.bias, m.fc2.weight, m.fc2.bias, m.activation)
        } else if let m = m as? ConvMlp {
            (w1, b1, w2, b2, activation) = (m.fc1.weight, m.fc1.bias, m.fc2.weight, m.fc2.bias, .gelu)
        } else {
            return nil
        }
    }
}
