import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// The fused MLP branch (`Tensor.normMlp`) against the composition of the operations it replaces, and the
/// vectorised exact GELU against double-precision erf.
final class FusedMlpTests: XCTestCase {
    /// Inputs in the op's order: x, norm γ, norm β, fc1 weight, fc1 bias, fc2 weight, fc2 bias, scale.
    func inputs(rows: [Int], c: Int, hidden: Int, conv: Bool, seed: UInt64) -> [Tensor] {
        [randn(rows + [c], seed: seed, std: 1.5), randn([c], seed: seed + 1) + 1, randn([c], seed: seed + 2),
         randn(conv ? [hidden, 1, 1, c] : [hidden, c], seed: seed + 3, std: 0.5), randn([hidden], seed: seed + 4),
         randn(conv ? [c, 1, 1, hidden] : [c, hidden], seed: seed + 5, std: 0.5), randn([c], seed: seed + 6),
         randn([c], seed: seed + 7)]
    }

    func fused(_ t: [Tensor], norm: Bool, act: Activation, scale: Bool) -> Tensor {
        Tensor.normMlp(t[0], norm: norm ? .init(weight: t[1], bias: t[2], eps: 1e-6) : nil, fc1: t[3], t[4],
                       fc2: t[5], t[6], activation: act, scale: scale ? t[7] : nil)
    }

    /// LayerNorm → Linear (or 1×1 convolution) → activation → Linear → × scale, op by op.
    func composed(_ t: [Tensor], norm: Bool, act: Activation, scale: Bool) -> Tensor {
        var y = norm ? Tensor.layerNorm(t[0], gamma: t[1], beta: t[2], eps: 1e-6) : t[0]
        if t[3].rank == 4 {
            y = Tensor.conv2d(y, weight: t[3], bias: t[4]).activated(act)
            y = Tensor.conv2d(y, weight: t[5], bias: t[6])
        } else {
            y = Tensor.linear(Tensor.linear(y, weight: t[3], bias: t[4]).activated(act), weight: t[5], bias: t[6])
        }
        return scale ? y * t[7] : y
    }

    func testNormMlpMatchesComposition() {
        // Tokens [B, N, C] with linear weights and NHWC maps with 1×1-convolution weights; C off the vector width;
        // more rows than one tile (the kernel works in tiles of 256–1024 rows below C = 192, one tile per thread from there).
        let cases: [(rows: [Int], c: Int, hidden: Int, conv: Bool, norm: Bool, act: Activation, scale: Bool)] = [
            ([2, 5], 24, 96, false, true, .gelu, false), ([2, 3, 4], 19, 76, true, true, .gelu, true),
            ([3, 7], 16, 40, false, false, .geluTanh, true), ([1, 5, 5], 8, 32, true, true, .relu, false),
            ([2, 300], 8, 1024, false, true, .gelu, true),  // 512-row tiles: two, the second one partial
            ([2, 41], 192, 16, false, true, .gelu, true),   // wide rows: one tile per thread
        ]
        for (i, k) in cases.enumerated() {
            let a = inputs(rows: k.rows, c: k.c, hidden: k.hidden, conv: k.conv, seed: UInt64(10 * i))
            let b = a.map { $0.detachedCopy() }
            for t in a + b { t.requiresGrad = true }
            let r = randn(k.rows + [k.c], seed: 99)
            let yf = fused(a, norm: k.norm, act: k.act, scale: k.scale)
            let yc = composed(b, norm: k.norm, act: k.act, scale: k.scale)
            assertClose(yf.scalars, yc.scalars, tol: 2e-5 * Swift.max(1, yc.scalars.map(Swift.abs).max() ?? 0),
                        "case \(i) forward")
            (yf * r).sum().backward()
            (yc * r).sum().backward()
            for j in 0..<a.count where (k.norm || !(1...2).contains(j)) && (k.scale || j != 7) {
                let ga = a[j].grad?.scalars ?? [], gb = b[j].grad?.scalars ?? []
                let tol = 2e-5 * Swift.max(1, gb.map(Swift.abs).max() ?? 0)
                assertClose(ga, gb, tol: tol, "case \(i) gradient of input \(j)")
                XCTAssertEqual(a[j].grad?.shape, a[j].shape, "case \(i) gradient shape of input \(j)")
            }
        }
    }

    /// Without fc1's bias (the kernel's bias-free activation pass) and with the identity activation, more rows than one
    /// tile: against the composition.
    func testNormMlpWithoutFc1BiasMatchesComposition() {
        for (i, act) in [Activation.silu, .none].enumerated() {
            let a = inputs(rows: [2, 700], c: 12, hidden: 48, conv: false, seed: UInt64(70 + i))
            let b = a.map { $0.detachedCopy() }
            for t in a + b { t.requiresGrad = true }
            let r = randn([2, 700, 12], seed: 98)
            let yf = Tensor.normMlp(a[0], norm: .init(weight: a[1], bias: a[2], eps: 1e-6), fc1: a[3], nil, fc2: a[5],
                                    a[6], activation: act, scale: a[7])
            let yc = Tensor.linear(Tensor.linear(Tensor.layerNorm(b[0], gamma: b[1], beta: b[2], eps: 1e-6),
                                                 weight: b[3], bias: nil).activated(act), weight: b[5], bias: b[6]) * b[7]
            assertClose(yf.scalars, yc.scalars, tol: 2e-5 * Swift.max(1, yc.scalars.map(Swift.abs).max() ?? 0), "\(act) forward")
            (yf * r).sum().backward()
            (yc * r).sum().backward()
            for j in [0, 1, 2, 3, 5, 6, 7] {
                let ga = a[j].grad?.scalars ?? [], gb = b[j].grad?.scalars ?? []
                assertClose(ga, gb, tol: 2e-5 * Swift.max(1, gb.map(Swift.abs).max() ?? 0), "\(act) gradient of input \(j)")
            }
        }
    }

    /// Under AMP the pre-activation is kept in bfloat16. Products this small stay float32 even under AMP (summed in
    /// another order: float32 rounding apart), so the forward pass is the float32 one and the gradients differ from
    /// it by that rounding: less than bfloat16's 2⁻⁸, but far more than float32's. Then a shape whose products do run in bf16 (and whose backward reads h back in
    /// blocks of 16 rows, the last one partial) against the composition under AMP.
    func testNormMlpKeepsBFloat16PreActivationUnderAMP() throws {
        try XCTSkipUnless(MixedPrecision.isSupported, "this CPU has no AVX512_BF16")
        let t = inputs(rows: [1, 37], c: 8, hidden: 32, conv: false, seed: 40)
        let r = randn([1, 37, 8], seed: 41)
        func run(_ amp: Bool) -> [[Float]] {
            let u = t.map { $0.detachedCopy() }
            for v in u { v.requiresGrad = true }
            return MixedPrecision.run(enabled: amp) {
                let y = fused(u, norm: true, act: .gelu, scale: true)
                (y * r).sum().backward()
                return [y.scalars] + u.map { $0.grad!.scalars }
            }
        }
        let full = run(false), mixed = run(true)
        for j in 0..<full.count {
            let scale = full[j].map(Swift.abs).max()!, diff = zip(full[j], mixed[j]).map { Swift.abs($0 - $1) }.max()!
            // the output (j = 0) uses float32 h, fc2's bias gradient (j = 7) does not involve h
            XCTAssertLessThan(diff / scale, [0, 7].contains(j) ? 1e-6 : 1.0 / 256, "output \(j)")
            if [1, 4, 5, 6].contains(j) { XCTAssertGreaterThan(diff / scale, 1e-5, "output \(j): h was not rounded") }
        }
        let a = inputs(rows: [2, 300], c: 24, hidden: 96, conv: false, seed: 50), b = a.map { $0.detachedCopy() }
        for v in a + b { v.requiresGrad = true }
        let r2 = randn([2, 300, 24], seed: 51)
        MixedPrecision.run(enabled: true) {
            (fused(a, norm: true, act: .gelu, scale: true) * r2).sum().backward()
            (composed(b, norm: true, act: .gelu, scale: true) * r2).sum().backward()
        }
        for j in 0..<a.count {
            let ga = a[j].grad!.scalars, gb = b[j].grad!.scalars
            assertClose(ga, gb, tol: 2e-2 * Swift.max(1, gb.map(Swift.abs).max()!), "AMP gradient of input \(j)")
        }
    }

    func testNormMlpGradients() {
        checkGradients(inputs(rows: [2, 3], c: 5, hidden: 12, conv: false, seed: 1)) {
            self.fused($0, norm: true, act: .gelu, scale: true)
        }
        checkGradients(inputs(rows: [1, 2, 2], c: 4, hidden: 8, conv: true, seed: 2)) {
            self.fused($0, norm: true, act: .geluTanh, scale: true)
        }
        checkGradients(Array(inputs(rows: [3], c: 6, hidden: 10, conv: false, seed: 3).prefix(7)).enumerated()
            .filter { ![1, 2].contains($0.offset) }.map(\.element)) {
            Tensor.normMlp($0[0], norm: nil, fc1: $0[1], $0[2], fc2: $0[3], $0[4], activation: .gelu, scale: nil)
        }
    }

    /// The exact GELU and its derivative against double precision on a dense grid, in both kernels: the elementwise
    /// op (`Tensor.gelu`) and the fused MLP's own rows (gelu.c, its x² split by a fused multiply-add), the latter
    /// read through identity weights, so every product adds exact zeros. GELU within 1e-6 relative (the far
    /// negative tail included, where 1 + erf would cancel), its derivative within 1e-6 relative + 2e-7 absolute (it
    /// crosses zero near x = −0.75).
    func testExactGELUMatchesDoublePrecisionErf() {
        let width = 64
        var xs = stride(from: -10.0, through: 10.0, by: 1.0 / 1024).map { Float($0) } + [1e30, -1e30, 40, -40]
        xs += [Float](repeating: 0, count: (width - xs.count % width) % width)
        let eye = Tensor(shape: [width, width], values: (0..<width * width).map { $0 % (width + 1) == 0 ? 1 : 0 })
        let kernels: [(String, (Tensor) -> Tensor)] = [
            ("Tensor.gelu", { $0.gelu() }),
            ("normMlp", { Tensor.normMlp($0, norm: nil, fc1: eye, nil, fc2: eye, nil, activation: .gelu, scale: nil) }),
        ]
        for (name, gelu) in kernels {
            let x = Tensor(shape: [xs.count / width, width], values: xs)
            x.requiresGrad = true
            let y = gelu(x)
            y.sum().backward()
            let dx = x.grad!.scalars
            for (i, v) in xs.enumerated() {
                let d = Double(v)
                let ref = Swift.abs(d) > 1e10 ? Swift.max(d, 0) : 0.5 * d * erfc(-d / 2.0.squareRoot())
                let dref = Swift.abs(d) > 1e10 ? (d > 0 ? 1 : 0) : 0.5 * erfc(-d / 2.0.squareRoot())
                    + d * exp(-0.5 * d * d) / (2 * Double.pi).squareRoot()
                let got = Double(y.data[i]), dgot = Double(dx[i])
                XCTAssertLessThanOrEqual(Swift.abs(got - ref), 1e-6 * Swift.abs(ref) + 1e-37,
                                         "\(name): GELU(\(v)) = \(got), not \(ref)")
                XCTAssertLessThanOrEqual(Swift.abs(dgot - dref), 1e-6 * Swift.abs(dref) + 2e-7,
                                         "\(name): GELU′(\(v)) = \(dgot), not \(dref)")
            }
        }
    }
}
