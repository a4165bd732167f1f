import ClasTensor
import XCTest
import _ClasTestSupport

/// Attention dropout inside the fused attention: the mask it applies, its rate and scaling, and its gradients at a
/// fixed mask (the backward regenerates the mask from the seed).
final class AttentionDropoutTests: XCTestCase {
    func mask(_ shape: [Int], seed: UInt64, p: Float) -> Tensor {
        Tensor(shape: shape, values: Tensor.attentionDropoutMask(count: shape.reduce(1, *), seed: seed, p: p))
    }

    func testFusedDropoutIsTheCompositionWithItsMask() {
        let qkv = randn([4, 5, 3 * 6], seed: 3, std: 1.5), bias = randn([2, 2, 5, 5], seed: 4)
        let m = mask([4, 2, 5, 5], seed: 42, p: 0.3)
        XCTAssertTrue(m.scalars.contains(0) && m.scalars.contains { $0 > 1 }, "the mask drops some and scales the rest")
        assertClose(Tensor.multiHeadAttention(qkv, heads: 2, dropout: 0.3, seed: 42).scalars,
                    composedAttention(qkv, heads: 2, bias: nil, mask: m).scalars, tol: 1e-5, "dropout")
        assertClose(Tensor.multiHeadAttention(qkv, heads: 2, bias: bias, dropout: 0.3, seed: 42).scalars,
                    composedAttention(qkv, heads: 2, bias: bias, mask: m).scalars, tol: 1e-5, "dropout with bias")
        // The same seed gives the same mask; another seed another one; p = 0 is the plain attention.
        XCTAssertEqual(Tensor.multiHeadAttention(qkv, heads: 2, dropout: 0.3, seed: 42).scalars,
                       Tensor.multiHeadAttention(qkv, heads: 2, dropout: 0.3, seed: 42).scalars)
        XCTAssertNotEqual(Tensor.multiHeadAttention(qkv, heads: 2, dropout: 0.3, seed: 42).scalars,
                          Tensor.multiHeadAttention(qkv, heads: 2, dropout: 0.3, seed: 43).scalars)
        XCTAssertEqual(Tensor.multiHeadAttention(qkv, heads: 2, dropout: 0, seed: 42).scalars,
                       Tensor.multiHeadAttention(qkv, heads: 2).scalars)
    }

    /// Finite differences of the fused op at a fixed mask (fixed seed), for qkv and the bias; and the analytic
    /// gradients against the composition's.
    func testGradientsAtAFixedMask() {
        checkGradients([randn([2, 4, 3 * 4], seed: 5)]) { Tensor.multiHeadAttention($0[0], heads: 2, dropout: 0.25, seed: 7) }
        checkGradients([randn([4, 3, 3 * 6], seed: 6), randn([2, 3, 3, 3], seed: 7)]) {
            Tensor.multiHeadAttention($0[0], heads: 3, bias: $0[1], dropout: 0.4, seed: 11)
        }
        let qkv = randn([3, 6, 3 * 4], seed: 8), bias = randn([3, 2, 6, 6], seed: 9)
        let m = mask([3, 2, 6, 6], seed: 5, p: 0.5)
        let up = randn([3, 6, 4], seed: 10)
        func grads(_ f: (Tensor, Tensor) -> Tensor) -> ([Float], [Float]) {
            let (q, b) = (qkv.detachedCopy(), bias.detachedCopy())
            q.requiresGrad = true
            b.requiresGrad = true
            (f(q, b) * up).sum().backward()
            return (q.grad!.scalars, b.grad!.scalars)
        }
        let fused = grads { Tensor.multiHeadAttention($0, heads: 2, bias: $1, dropout: 0.5, seed: 5) }
        let composed = grads { composedAttention($0, heads: 2, bias: $1, mask: m) }
        assertClose(fused.0, composed.0, tol: 1e-5, "dqkv")
        assertClose(fused.1, composed.1, tol: 1e-5, "dbias")
    }

    /// With Q = K = 0 every probability is 1/N, and with V the identity the output is the dropped probabilities:
    /// each is 0 or 1/((1 − p)·N), a fraction p of them 0.
    func testRateAndScaling() {
        let (b, heads, n) = (4, 2, 32)
        var values = [Float](repeating: 0, count: b * n * 3 * heads * n)
        for s in 0..<b { for t in 0..<n { for h in 0..<heads { values[((s * n + t) * 3 + 2) * heads * n + h * n + t] = 1 } } }
        let qkv = Tensor(shape: [b, n, 3 * heads * n], values: values)
        for p: Float in [0.1, 0.25, 0.5] {
            let out = Tensor.multiHeadAttention(qkv, heads: heads, scale: 1, dropout: p, seed: 99).scalars.map { $0 * Float(n) }
            let kept = out.filter { $0 != 0 }
            XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / (1 - p)) < 1e-5 }, "kept values are scaled by 1/(1 − p) = \(1 / (1 - p))")
            let dropped = Double(out.count - kept.count) / Double(out.count)
            let sigma = (Double(p) * (1 - Double(p)) / Double(out.count)).squareRoot()
            XCTAssertEqual(dropped, Double(p), accuracy: 4 * sigma, "p \(p): dropped fraction over \(out.count)")
        }
        // The mask over a million elements: rate within 4σ, and mean 1 (the expectation is kept).
        let big = Tensor.attentionDropoutMask(count: 1 << 20, first: 12345, seed: 1, p: 0.1)
        let zeros = Double(big.filter { $0 == 0 }.count) / Double(big.count)
        XCTAssertEqual(zeros, 0.1, accuracy: 4 * (0.09 / Double(big.count)).squareRoot())
        XCTAssertEqual(big.reduce(0.0) { $0 + Double($1) } / Double(big.count), 1, accuracy: 2e-3)
    }
}
