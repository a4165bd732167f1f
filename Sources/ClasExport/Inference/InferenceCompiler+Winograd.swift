import ClasKernels
import ClasTensor

/// When the inference plan runs a 3×3 stride-1 dense convolution by Winograd F(4×4, 3×3) (`clas_conv_winograd`)
/// instead of im2col + the packed GEMM.
enum WinogradPolicy {
    /// Where it measured faster: at least 32 input and output channels, outputs of at least 7×7 pixels (ResNet18 at
    /// 224 px, docs/design.md: the 7×7 stage too, despite its padded tiles and 4× larger transformed weights);
    /// smaller outputs (not measured) keep im2col.
    case auto
    /// Every eligible convolution (tests).
    case always
    /// None.
    case never
}

extension InferenceCompiler {
    /// The policy of plans compiled from now on (tests switch it).
    nonisolated(unsafe) static var winogradPolicy = WinogradPolicy.auto
    /// Smallest input and output channel counts, and output side, for `.auto`.
    static let winogradMinChannels = 32, winogradMinSide = 7

    /// The Winograd step for node k (its epilogue `e` already absorbed), when the policy chooses it.
    func winograd(_ k: Int, _ a: ConvAttributes, weight w: Tensor, bias: Tensor?,
                  epilogue e: (output: Int, residual: Int?, act: Activation, fused: String)) -> InferenceStep? {
        let node = graph.nodes[k]
        let cin = graph.values[node.inputs[0]].shape[3], cout = w.shape[0], out = graph.values[node.output].shape
        guard a.kernel == (3, 3), a.stride == (1, 1), a.dilation == (1, 1), w.shape == [cout, 3, 3, cin] else {
            return nil
        }
        switch Self.winogradPolicy {
        case .never: return nil
        case .always: break
        case .auto:
            let m = Self.winogradMinChannels
            guard cin >= m, cout >= m, min(out[1], out[2]) >= Self.winogradMinSide else { return nil }
        }
        let packed = PackedWeights(count: Int(clas_winograd_packed_size(Int64(cout), Int64(cin)))) {
            clas_winograd_pack(w.data, bias?.data, Int64(cout), Int64(cin), $0)
        }
        return InferenceStep(kernel: .winograd(a, weights: packed, cout: cout, residual: e.residual != nil, act: e.act),
                             inputs: [node.inputs[0]] + (e.residual.map { [$0] } ?? []), output: e.output,
                             fused: "3×3 winograd conv" + e.fused)
    }
}
