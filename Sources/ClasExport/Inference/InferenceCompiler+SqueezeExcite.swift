import ClasKernels
import ClasTensor

/// Squeeze-excite's broadcast multiply x ⊙ gate folded into the 1×1 convolution that reads it: the convolution scales
/// each block of input rows by the gate while it packs them (`clas_gemm_packed_scaled`), so the gated tensor is never
/// written and one pass over the activations and one thread hand-off per block go away.
extension InferenceCompiler {
    /// Gated products that only a 1×1 stride-1 convolution (constant weights, groups 1) reads: the product's value →
    /// (x [N, H, W, C], gate [N, 1, 1, C]). Their multiplies emit no step; the convolution reads x and the gate.
    func gatedInputs() -> [Int: (x: Int, gate: Int)] {
        var gated: [Int: (x: Int, gate: Int)] = [:]
        for node in graph.nodes {
            guard case .tensor(.binary(.mul)) = node.op, node.inputs.count == 2,
                  let r = soleReader(node.output), graph.nodes[r].inputs.first == node.output,
                  case .tensor(.conv2d(let stride, let padding, _, let groups)) = graph.nodes[r].op,
                  stride == (1, 1), padding == .zero, groups == 1,
                  let w = graph.constant(graph.nodes[r].inputs[1]), w.rank == 4, w.shape[1] == 1, w.shape[2] == 1,
                  graph.nodes[r].inputs.count < 3 || graph.constant(graph.nodes[r].inputs[2]) != nil
            else { continue }
            let a = graph.values[node.inputs[0]].shape, b = graph.values[node.inputs[1]].shape
            func isGate(_ g: [Int], of x: [Int]) -> Bool {
                x.count == 4 && g == [x[0], 1, 1, x[3]] && x[1] * x[2] > 1
            }
            guard graph.constant(node.inputs[0]) == nil, graph.constant(node.inputs[1]) == nil else { continue }
            if isGate(b, of: a) { gated[node.output] = (node.inputs[0], node.inputs[1]) }
            else if isGate(a, of: b) { gated[node.output] = (node.inputs[1], node.inputs[0]) }
        }
        return gated
    }

    /// The step of 1×1 convolution node k over the gated product `input` (its weights [cout, 1, 1, cin]).
    func scaledPointwise(_ k: Int, input: (x: Int, gate: Int), weight w: Tensor, bias: Tensor?,
                         consumed: inout Set<Int>) -> InferenceStep {
        let cout = w.shape[0], cin = w.shape[3]
        let e = epilogue(after: k, residualAllowed: true, consumed: &consumed)
        let packed = PackedWeights(count: Int(clas_packed_weights_size(Int64(cout), Int64(cin)))) {
            clas_pack_weights(w.data, bias?.data, Int64(cout), Int64(cin), $0)
        }
        return InferenceStep(kernel: .scaledPointwise(weights: packed, cout: cout, residual: e.residual != nil,
                                                      act: e.act),
                             inputs: [input.x, input.gate] + (e.residual.map { [$0] } ?? []), output: e.output,
                             fused: "gate × 1×1 conv" + e.fused)
    }
}
