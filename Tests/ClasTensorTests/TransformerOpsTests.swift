import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// The operations vision transformers and ConvNeXt need: forward results against double-precision reference
/// loops, gradients against finite differences.
final class TransformerOpsTests: XCTestCase {
    /// Layer norm over the last dimension in double precision.
    func referenceLayerNorm(_ x: Tensor, _ gamma: Tensor?, _ beta: Tensor?, eps: Double) -> [Float] {
        let c = x.shape.last!, rows = x.count / c
        var out = [Float](repeating: 0, count: x.count)
        for r in 0..<rows {
            let row = (0..<c).map { Double(x.data[r * c + $0]) }
            let mean = row.reduce(0, +) / Double(c)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
            for i in 0..<c {
                let xhat = (row[i] - mean) / (variance + eps).squareRoot()
                out[r * c + i] = Float(xhat * Double(gamma?.data[i] ?? 1) + Double(beta?.data[i] ?? 0))
            }
        }
        return out
    }

    func testLayerNormForwardMatchesReference() {
        // Last-dim normalisation of tokens [B, N, C], channels-last maps [N, H, W, C], and a row with a large mean
        // (two-pass variance), C off the vector width.
        for (i, shape) in [[2, 5, 24], [2, 3, 3, 19], [4, 768]].enumerated() {
            let x = randn(shape, seed: UInt64(i), std: 2) + Float(i == 2 ? 1000 : 0)
            let c = shape.last!
            let g = randn([c], seed: 10 + UInt64(i)), b = randn([c], seed: 20 + UInt64(i))
            assertClose(Tensor.layerNorm(x, gamma: g, beta: b, eps: 1e-6).scalars,
                        referenceLayerNorm(x, g, b, eps: 1e-6), tol: 2e-3, "shape \(shape)")
            assertClose(Tensor.layerNorm(x, gamma: nil, beta: nil).scalars,
                        referenceLayerNorm(x, nil, nil, eps: 1e-5), tol: 2e-3, "shape \(shape), no affine")
        }
    }

    func testLayerNormGradients() {
        let g = randn([6], seed: 3) + 1, b = randn([6], seed: 4)
        checkGradients([randn([3, 6], std: 2), g, b]) { Tensor.layerNorm($0[0], gamma: $0[1], beta: $0[2]) }
        checkGradients([randn([2, 3, 2, 6], seed: 5), g, b]) {
            Tensor.layerNorm($0[0], gamma: $0[1], beta: $0[2], eps: 1e-6)
        }
        checkGradients([randn([2, 4, 5], seed: 6)]) { Tensor.layerNorm($0[0], gamma: nil, beta: nil) }
    }

    func testGELUForwardMatchesFormulas() {
        let xs: [Float] = stride(from: -6, through: 6, by: 0.37).map { Float($0) }
        let x = Tensor(shape: [xs.count], values: xs)
        let exact = xs.map { v -> Float in let d = Double(v); return Float(0.5 * d * (1 + erf(d / 2.0.squareRoot()))) }
        let approx = xs.map { v -> Float in
            let d = Double(v)
            return Float(0.5 * d * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d))))
        }
        assertClose(x.gelu().scalars, exact, tol: 1e-5, "exact GELU")
        assertClose(x.gelu(approximate: true).scalars, approx, tol: 1e-5, "tanh GELU")
        XCTAssertEqual(Activation(name: "gelu_tanh"), .geluTanh)
        checkGradients([randn([3, 7], std: 2)]) { $0[0].gelu(approximate: true) }
        checkGradients([randn([3, 7], std: 2)]) { $0[0].gelu() }
    }

    func testBatchedMatmulMatchesPerMatrixProducts() {
        // [B, heads, M, K] · [B, heads, K, N] in every stored orientation, against one matmul per matrix.
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let a = randn(ta ? [2, 3, 4, 5] : [2, 3, 5, 4], seed: 1), b = randn(tb ? [2, 3, 6, 4] : [2, 3, 4, 6], seed: 2)
            let y = Tensor.batchedMatmul(a, b, transposeA: ta, transposeB: tb)
            XCTAssertEqual(y.shape, [2, 3, 5, 6])
            var ref: [Float] = []
            for i in 0..<6 {
                var am = a.reshaped([6, a.shape[2], a.shape[3]]).narrowed(axis: 0, start: i, length: 1).reshaped([a.shape[2], a.shape[3]])
                var bm = b.reshaped([6, b.shape[2], b.shape[3]]).narrowed(axis: 0, start: i, length: 1).reshaped([b.shape[2], b.shape[3]])
                if ta { am = am.transposed() }
                if tb { bm = bm.transposed() }
                ref += Tensor.matmul(am, bm).scalars
            }
            assertClose(y.scalars, ref, tol: 1e-5, "transposeA \(ta) transposeB \(tb)")
            checkGradients([a, b]) { Tensor.batchedMatmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
        }
        // Fewer matrices than threads: each product is split instead.
        checkGradients([randn([1, 7, 3]), randn([1, 3, 5], seed: 4)]) { Tensor.batchedMatmul($0[0], $0[1]) }
    }


    func testFusedAttentionMatchesCompositionAndGradients() {
        let qkv = randn([4, 5, 3 * 6], seed: 3, std: 1.5), bias = randn([2, 2, 5, 5], seed: 4)
        assertClose(Tensor.multiHeadAttention(qkv, heads: 2).scalars, composedAttention(qkv, heads: 2, bias: nil).scalars,
                    tol: 1e-5, "attention")
        assertClose(Tensor.multiHeadAttention(qkv, heads: 2, bias: bias).scalars,
                    composedAttention(qkv, heads: 2, bias: bias).scalars, tol: 1e-5, "attention with bias")
        // A score row dominated by one key (large logits): the max subtraction keeps it finite.
        let big = (qkv * 40).detachedCopy()
        XCTAssertTrue(Tensor.multiHeadAttention(big, heads: 3).scalars.allSatisfy(\.isFinite))
        checkGradients([randn([2, 4, 3 * 4], seed: 5)]) { Tensor.multiHeadAttention($0[0], heads: 2) }
        checkGradients([randn([2, 3, 3 * 6], seed: 6), randn([1, 3, 3, 3], seed: 7)]) {
            Tensor.multiHeadAttention($0[0], heads: 3, bias: $0[1])
        }
        checkGradients([randn([4, 3, 3 * 2], seed: 8), randn([2, 1, 3, 3], seed: 9)]) {
            Tensor.multiHeadAttention($0[0], heads: 1, bias: $0[1])
        }
    }
}

extension TransformerOpsTests {
    /// Head widths and token counts that take the row-panel kernels' own paths where the CPU has them (gemm_rows.c:
    /// d a multiple of 8 as N of P·V and dS·K, scores padded to 32 and 48 columns, 6- and 8-row blocks with tails):
    /// the fused op's output and its gradients (qkv, bias) equal the composition's.
    func testFusedAttentionAtKernelShapesMatchesComposition() {
        for (n, heads, d, groups) in [(21, 2, 8, 0), (37, 1, 16, 2), (9, 3, 24, 1)] {
            let qkv = randn([2, n, 3 * heads * d], seed: UInt64(20 + n))
            let up = randn([2, n, heads * d], seed: UInt64(21 + n))
            let bias = groups > 0 ? randn([groups, heads, n, n], seed: UInt64(22 + n)) : nil
            func run(_ f: (Tensor, Tensor?) -> Tensor) -> ([Float], [Float], [Float]) {
                let q = qkv.detachedCopy(), b = bias?.detachedCopy()
                q.requiresGrad = true
                b?.requiresGrad = true
                let out = f(q, b)
                (out * up).sum().backward()
                return (out.scalars, q.grad!.scalars, b?.grad?.scalars ?? [])
            }
            let fused = run { Tensor.multiHeadAttention($0, heads: heads, bias: $1) }
            let composed = run { composedAttention($0, heads: heads, bias: $1) }
            assertClose(fused.0, composed.0, tol: 1e-5, "n \(n) d \(d): output")
            assertClose(fused.1, composed.1, tol: 1e-5, "n \(n) d \(d): dqkv")
            assertClose(fused.2, composed.2, tol: 1e-5, "n \(n) d \(d): dbias")
            XCTAssertEqual(fused.2.count, bias?.count ?? 0)
        }
    }
}

/// Attention composed from separately checked ops: split heads, scores (+ bias), softmax, the probabilities times
/// `mask` ([B, heads, N, N], attention dropout) when given, weighted sum, join heads.
func composedAttention(_ qkv: Tensor, heads: Int, bias: Tensor?, mask: Tensor? = nil) -> Tensor {
    let (b, n, c) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
    let parts = qkv.reshaped([b, n, 3, heads, c / heads]).permuted([2, 0, 3, 1, 4])
    let q = parts.narrowed(axis: 0, start: 0, length: 1).reshaped([b, heads, n, c / heads])
    let k = parts.narrowed(axis: 0, start: 1, length: 1).reshaped([b, heads, n, c / heads])
    let v = parts.narrowed(axis: 0, start: 2, length: 1).reshaped([b, heads, n, c / heads])
    var scores = Tensor.batchedMatmul(q, k, transposeB: true) * (1 / Float(c / heads).squareRoot())
    if let bias {
        let g = bias.shape[0]
        scores = (scores.reshaped([b / g, g, heads, n, n]) + bias).reshaped([b, heads, n, n])
    }
    let probabilities = mask.map { scores.softmax() * $0 } ?? scores.softmax()
    return Tensor.batchedMatmul(probabilities, v).permuted([0, 2, 1, 3]).reshaped([b, n, c])
}
