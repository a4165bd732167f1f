import ClasKernels
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// AMP's bf16 GEMM (gemm_bf16.c) against a double-precision product of the bf16-rounded inputs, its routing while
/// `MixedPrecision` is on, and what it does to a training step's gradients.
final class MixedPrecisionTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(MixedPrecision.isSupported, "this CPU has no AVX512_BF16")
    }

    /// x rounded to bfloat16, to nearest even.
    private func bf16(_ x: Float) -> Float {
        let u = x.bitPattern
        return Float(bitPattern: ((u &+ 0x7fff &+ ((u >> 16) & 1)) >> 16) << 16)
    }

    private func values(_ n: Int, seed: UInt64) -> [Float] {
        var rng = RandomState(seed: seed)
        return (0..<n).map { _ in Float.random(in: -2...2, using: &rng) }
    }

    /// op(X)[i, j] of a row-major matrix stored with leading dimension ld.
    private func at(_ x: [Float], _ t: Bool, _ i: Int, _ j: Int, _ ld: Int) -> Float { t ? x[j * ld + i] : x[i * ld + j] }

    func testProductEqualsDoublePrecisionProductOfRoundedInputs() {
        // Transposes, edges off the 8 × 48 micro-tile, odd depths, depth 1, and a depth over one 1024 block.
        let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (9, 47, 33), (64, 48, 16), (70, 100, 301), (3, 130, 1500),
                                                 (129, 5, 64)]
        var seed: UInt64 = 1
        for (m, n, k) in shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    for beta: Float in [0, 0.25] {
                        seed += 3
                        let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2
                        let a = values((ta ? k : m) * lda, seed: seed), b = values((tb ? n : k) * ldb, seed: seed + 1)
                        let c0 = values(m * ldc, seed: seed + 2)
                        var c = c0
                        clas_bf16_sgemm(ta, tb, Int64(m), Int64(n), Int64(k), 0.5, a, Int64(lda), b, Int64(ldb), beta,
                                        &c, Int64(ldc))
                        var worst = 0.0
                        for i in 0..<m {
                            for j in 0..<n {
                                var sum = 0.0, magnitude = 0.0
                                for l in 0..<k {
                                    let p = Double(bf16(at(a, ta, i, l, lda))) * Double(bf16(at(b, tb, l, j, ldb)))
                                    sum += p
                                    magnitude += abs(p)
                                }
                                let expected = 0.5 * sum + Double(beta) * Double(c0[i * ldc + j])
                                let scale = 0.5 * magnitude + abs(Double(beta) * Double(c0[i * ldc + j])) + 1e-30
                                worst = max(worst, abs(Double(c[i * ldc + j]) - expected) / scale)
                            }
                            // Padding columns of C are untouched.
                            XCTAssertEqual(c[i * ldc + n], c0[i * ldc + n])
                        }
                        // float32 sums of exact bf16 products: a few float32 roundings of the magnitude, no more.
                        XCTAssertLessThan(worst, 2e-6, "m \(m) n \(n) k \(k) ta \(ta) tb \(tb) beta \(beta)")
                    }
                }
            }
        }
    }

    func testNonFiniteInputsPropagate() {
        var a: [Float] = Array(repeating: 1, count: 64 * 64), b = a
        a[5] = .infinity
        b[64 * 3 + 7] = .nan
        var c = [Float](repeating: 0, count: 64 * 64)
        clas_bf16_sgemm(false, false, 64, 64, 64, 1, a, 64, b, 64, 0, &c, 64)
        XCTAssertEqual(c[1], .infinity)          // row 0 meets the infinity, column 1 no NaN
        XCTAssertTrue(c[7].isNaN)                // column 7 meets the NaN
        XCTAssertEqual(c[64 * 2 + 1], 64)        // elsewhere untouched
    }

    func testAMPRoutesEveryLargeProductThroughBF16() {
        let m = 200, n = 96, k = 80
        let a = values(m * k, seed: 7), b = values(n * k, seed: 8)
        var single = [Float](repeating: 0, count: m * n)
        clas_bf16_sgemm(false, true, Int64(m), Int64(n), Int64(k), 1, a, Int64(k), b, Int64(k), 0, &single, Int64(n))
        func threaded() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            clas_sgemm(false, true, Int64(m), Int64(n), Int64(k), 1, a, Int64(k), b, Int64(k), 0, &c, Int64(n))
            return c
        }
        let on = MixedPrecision.run(enabled: true) { threaded() }
        XCTAssertFalse(MixedPrecision.isEnabled, "the previous setting comes back")
        // Rows and columns split over threads do not change a value: each is the same sum in the same order.
        XCTAssertEqual(on, single)
        let off = threaded()
        XCTAssertNotEqual(off, single, "without AMP the product is float32")
        let rel = zip(off, single).map { abs($0 - $1) }.max()! / off.map(abs).max()!
        XCTAssertLessThan(rel, 2e-2)
    }

    /// A transformer-shaped step (linear → GELU → linear → cross-entropy) under AMP: the loss and every gradient stay
    /// within bfloat16's rounding of float32's, and differ from them (the products really ran in bf16).
    func testTrainingGradientsStayCloseToFloat32() {
        let x = randn([64, 96], seed: 11), w1 = randn([192, 96], seed: 12, std: 0.1), b1 = randn([192], seed: 13)
        let w2 = randn([10, 192], seed: 14, std: 0.1), b2 = randn([10], seed: 15)
        let labels = (0..<64).map { $0 % 10 }
        func step(_ amp: Bool) -> [[Float]] {
            let params = [w1, b1, w2, b2].map { Tensor(shape: $0.shape, values: $0.scalars, requiresGrad: true) }
            let loss: Tensor = MixedPrecision.run(enabled: amp) {
                let h = Tensor.linear(x, weight: params[0], bias: params[1]).activated(.gelu)
                let l = Tensor.crossEntropy(Tensor.linear(h, weight: params[2], bias: params[3]), labels: labels)
                l.backward()
                return l
            }
            return [[loss.item]] + params.map { $0.grad!.scalars }
        }
        let full = step(false), mixed = step(true)
        for (i, (f, m)) in zip(full, mixed).enumerated() {
            let scale = f.map(abs).max()!
            let diff = zip(f, m).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(diff / scale, 3e-2, "output \(i)")
            XCTAssertGreaterThan(diff, 0, "output \(i) unchanged: were the products float32?")
        }
    }

    /// Under AMP the fused attention keeps qkv in bfloat16 when all its products run in bf16 (n²·d ≥ 2¹⁷): its
    /// gradient is then bit for bit the one computed from float32 qkv (the kernels called directly), with and
    /// without attention dropout.
    func testAttentionKeepsBFloat16QKVWithoutChangingGradients() {
        let (batch, n, heads, d) = (2, 64, 2, 32), c = heads * d
        let qkv = randn([batch, n, 3 * c], seed: 21), r = randn([batch, n, c], seed: 22)
        XCTAssertTrue(MixedPrecision.run(enabled: true) { clas_bf16_routes(Int64(n), Int64(n), Int64(d)) })
        for p: Float in [0, 0.1] {
            let x = qkv.detachedCopy()
            x.requiresGrad = true
            let y = MixedPrecision.run(enabled: true) {
                let y = Tensor.multiHeadAttention(x, heads: heads, dropout: p, seed: 5)
                (y * r).sum().backward()
                return y
            }
            var out = [Float](repeating: 0, count: batch * n * c), lse = [Float](repeating: 0, count: batch * heads * n)
            var dqkv = [Float](repeating: 0, count: qkv.count)
            let s = 1 / Float(d).squareRoot()
            MixedPrecision.run(enabled: true) {
                clas_attention_forward(qkv.data, nil, 1, &out, &lse, nil, Int64(batch), Int64(n), Int64(heads),
                                       Int64(d), s, p, 5)
                clas_attention_backward(qkv.data, nil, nil, 1, lse, r.data, &dqkv, nil, Int64(batch), Int64(n),
                                        Int64(heads), Int64(d), s, p, 5)
            }
            XCTAssertEqual(y.scalars, out, "p \(p): forward")
            XCTAssertEqual(x.grad!.scalars, dqkv, "p \(p): gradient from bfloat16 qkv")
            let f = qkv.detachedCopy()
            f.requiresGrad = true
            (Tensor.multiHeadAttention(f, heads: heads, dropout: p, seed: 5) * r).sum().backward()
            XCTAssertNotEqual(f.grad!.scalars, dqkv, "p \(p): the products ran in bf16")
        }
    }
}
