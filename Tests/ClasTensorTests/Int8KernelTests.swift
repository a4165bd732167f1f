import ClasKernels
import XCTest

/// The integer kernels (ClasInt8.h) against scalar references, on every instruction set this CPU has (AVX512-VNNI,
/// the 256-bit VNNI kernel, portable): accumulators are exact, so outputs must be equal, not close.
final class Int8KernelTests: XCTestCase {
    private var rng = SystemRandomNumberGenerator()
    private struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Runs `body` once per instruction set available here, restoring the default afterwards.
    private func forEachISA(_ body: (String) throws -> Void) rethrows {
        defer { clas_q8_set_isa(-1) }
        var ran = 0
        for isa in [CLAS_Q8_PORTABLE, CLAS_Q8_AVXVNNI, CLAS_Q8_AVX512VNNI] where clas_q8_set_isa(Int32(isa)) != 0 {
            ran += 1
            try body(String(cString: clas_q8_isa_name(Int32(isa))))
        }
        XCTAssertGreaterThanOrEqual(ran, 1)
    }

    /// A random epilogue for `n` channels and the scalar rule it stands for.
    private struct Epilogue {
        var zx: Int32, zy: Int32, relu: Bool
        /// The float output's activation: hard-swish instead of ReLU (when `relu`).
        var hardswish = false
        var scale: [Float], bias: [Float], biasQ: [Int32], requant: [Float], rowsum: [Int32]
        /// The chained quantisation of the float output: scale and activation (none, ReLU, hard-swish by turns).
        var qScale: Float, qAct: Int32

        init(n: Int, zx: Int32, relu: Bool, rowsum: [Int32], rng: inout Seeded) {
            self.zx = zx
            self.relu = relu
            self.rowsum = rowsum
            zy = Int32.random(in: 0...255, using: &rng)
            scale = (0..<n).map { _ in Float.random(in: 1e-4...2e-2, using: &rng) }
            bias = (0..<n).map { _ in Float.random(in: -2...2, using: &rng) }
            biasQ = (0..<n).map { _ in Int32.random(in: -3000...3000, using: &rng) }
            requant = scale.map { $0 * Float.random(in: 0.5...4, using: &rng) }
            qScale = Float.random(in: 0.005...0.05, using: &rng)
            qAct = [0, Int32(CLAS_ACT_RELU), Int32(CLAS_ACT_HARDSWISH)][Int.random(in: 0...2, using: &rng)]
        }

        /// With `residual`: a fused residual `Add` (before the ReLU).
        func float(_ acc: Int32, _ j: Int, residual: Float = 0) -> Float {
            let f = Float(acc) * scale[j] + bias[j] + residual
            if relu && hardswish { return f * Swift.min(Swift.max(f + 3, 0), 6) * (1 / 6) }
            return relu && f < 0 ? 0 : f
        }
        func uint8(_ acc: Int32, _ j: Int) -> UInt8 {
            var f = Float(acc + biasQ[j]) * requant[j]
            f = Swift.min(Swift.max(f, relu ? 0 : Float(-zy)), Float(255 - zy))
            return UInt8(Int32(f.rounded(.toNearestOrEven)) + zy)
        }
        /// A chained scale that maps the float outputs of `acc` to about ±150 steps (some clamped, most rounded).
        mutating func fitChainedScale(_ acc: [Int32], channels: Int) {
            let largest = acc.enumerated().map { abs(float($1, $0 % channels)) }.max() ?? 0
            qScale = Swift.max(largest / 150, 1e-3)
        }
        /// The chained uint8 output: `clas_q8_quantize` of the float output with activation `qAct`.
        func chained(_ acc: Int32, _ j: Int, residual: Float = 0) -> UInt8 {
            var y = float(acc, j, residual: residual)
            var q: UInt8 = 0
            clas_q8_quantize(&y, &q, 1, qScale, zy, qAct)
            return q
        }
        /// Calls `body` with the C struct (pointers valid inside); `chained`: no integer requantisation, so uint8
        /// output is the quantised float (``chained(_:_:)``).
        func withC<R>(useRowsum: Bool = true, chained: Bool = false, residual: UnsafePointer<Float>? = nil,
                      _ body: (UnsafePointer<clas_q8_epilogue>) -> R) -> R {
            scale.withUnsafeBufferPointer { s in bias.withUnsafeBufferPointer { b in
                biasQ.withUnsafeBufferPointer { bq in requant.withUnsafeBufferPointer { rq in
                    rowsum.withUnsafeBufferPointer { rs in
                        var e = clas_q8_epilogue(a_zero: zx, rowsum: useRowsum ? rs.baseAddress : nil,
                                                 relu: relu ? (hardswish ? Int32(CLAS_ACT_HARDSWISH) : 1) : 0, scale: s.baseAddress, bias: b.baseAddress, residual: residual,
                                                 bias_q: bq.baseAddress, requant: chained ? nil : rq.baseAddress,
                                                 y_zero: zy, q_scale: qScale, q_act: qAct)
                        return body(&e)
                    }
                }}
            }}
        }
    }

    /// Packs `w` [n, k] and returns (packed, row sums).
    private func pack(_ w: [Int8], n: Int, k: Int) -> ([Int8], [Int32]) {
        var packed = [Int8](repeating: 0, count: Int(clas_q8_packed_size(Int64(n), Int64(k))))
        var rowsum = [Int32](repeating: 0, count: n)
        clas_q8_pack(w, Int64(n), Int64(k), &packed, &rowsum)
        return (packed, rowsum)
    }

    func testGemmEqualsScalarReference() {
        var g = Seeded(state: 20)
        let shapes = [(1, 1, 1), (7, 5, 3), (13, 16, 4), (6, 33, 27), (100, 70, 64), (37, 129, 130), (2, 48, 1000)]
        for (m, n, k) in shapes {
            let kp = (k + 3) / 4 * 4, lda = kp + 4
            let a = (0..<(m * lda)).map { _ in UInt8.random(in: 0...255, using: &g) }
            let w = (0..<(n * k)).map { _ in Int8.random(in: -128...127, using: &g) }
            let (packed, rowsum) = pack(w, n: n, k: k)
            let zx = Int32.random(in: 0...255, using: &g)
            for relu in [false, true] {
                var e = Epilogue(n: n, zx: zx, relu: relu, rowsum: rowsum, rng: &g)
                var acc = [Int32](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        var s: Int32 = 0
                        for t in 0..<k { s += (Int32(a[i * lda + t]) - zx) * Int32(w[j * k + t]) }
                        acc[i * n + j] = s
                    }
                }
                e.fitChainedScale(acc, channels: n)
                let residual = (0..<(m * n)).map { _ in Float.random(in: -1...1, using: &g) * 50 * e.qScale }
                forEachISA { isa in
                    var yf = [Float](repeating: .nan, count: m * n)
                    var yq = [UInt8](repeating: 0, count: m * n)
                    var yf2 = [Float](repeating: .nan, count: m * n)
                    var yc = [UInt8](repeating: 0, count: m * n), yc2 = yc
                    e.withC { c in
                        clas_q8_gemm(a, Int64(lda), Int64(m), packed, Int64(n), Int64(k), c, &yf, nil, Int64(n))
                        clas_q8_gemm(a, Int64(lda), Int64(m), packed, Int64(n), Int64(k), c, nil, &yq, Int64(n))
                    }
                    // Float and chained uint8 at once (with a residual added), and uint8 alone.
                    e.withC(chained: true, residual: residual) { c in
                        clas_q8_gemm(a, Int64(lda), Int64(m), packed, Int64(n), Int64(k), c, &yf2, &yc, Int64(n))
                    }
                    e.withC(chained: true) { c in
                        clas_q8_gemm(a, Int64(lda), Int64(m), packed, Int64(n), Int64(k), c, nil, &yc2, Int64(n))
                    }
                    for i in 0..<(m * n) {
                        guard yf[i] == e.float(acc[i], i % n), yq[i] == e.uint8(acc[i], i % n) else {
                            return XCTFail("\(isa) m \(m) n \(n) k \(k) relu \(relu) at \(i): \(yf[i]) vs "
                                           + "\(e.float(acc[i], i % n)), \(yq[i]) vs \(e.uint8(acc[i], i % n))")
                        }
                        guard yf2[i] == e.float(acc[i], i % n, residual: residual[i]),
                              yc[i] == e.chained(acc[i], i % n, residual: residual[i]),
                              yc2[i] == e.chained(acc[i], i % n) else {
                            return XCTFail("\(isa) chained m \(m) n \(n) k \(k) act \(e.qAct) at \(i): \(yc[i]), "
                                           + "\(yc2[i]) vs \(e.chained(acc[i], i % n))")
                        }
                    }
                }
            }
        }
    }

    /// (n, h, w, c, kh, kw, stride, pad (t, l, b, r), dilation, cout)
    private let convCases = [
        (2, 5, 6, 3, 3, 3, 1, (1, 1, 1, 1), 1, 8), (1, 9, 7, 16, 3, 3, 2, (1, 1, 1, 1), 1, 24),
        (2, 7, 7, 5, 5, 5, 2, (2, 2, 2, 2), 1, 17), (1, 8, 8, 12, 3, 3, 1, (2, 2, 2, 2), 2, 40),
        (3, 4, 4, 8, 1, 1, 2, (0, 0, 0, 0), 1, 33), (1, 6, 5, 4, 3, 1, 1, (0, 1, 2, 0), 1, 5),
        (2, 6, 13, 40, 3, 3, 1, (1, 1, 1, 1), 1, 40), (1, 9, 11, 32, 5, 5, 2, (2, 2, 2, 2), 1, 16),
        // Rows wide enough for the depthwise sliding kernels' 8-pixel blocks inside and at both borders, channel
        // counts with an overlapping last vector, and a 3-channel stride-2 stem (16-byte im2col row copies).
        (2, 5, 19, 24, 3, 3, 1, (1, 1, 1, 1), 1, 24), (1, 7, 23, 16, 3, 3, 2, (1, 1, 1, 1), 1, 16),
        (1, 6, 21, 40, 5, 5, 1, (2, 2, 2, 2), 1, 8), (2, 9, 29, 17, 5, 5, 2, (2, 2, 2, 2), 1, 16),
        (2, 10, 21, 3, 3, 3, 2, (1, 1, 1, 1), 1, 16), (1, 1, 18, 16, 3, 3, 1, (1, 1, 1, 1), 1, 16),
    ]

    private func geometry(_ t: (Int, Int, Int, Int, Int, Int, Int, (Int, Int, Int, Int), Int, Int)) -> clas_q8_conv_geom {
        let (n, h, w, c, kh, kw, s, p, d, _) = t
        let oh = (h + p.0 + p.2 - d * (kh - 1) - 1) / s + 1, ow = (w + p.1 + p.3 - d * (kw - 1) - 1) / s + 1
        return clas_q8_conv_geom(n: Int64(n), h: Int64(h), w: Int64(w), c: Int64(c), kh: Int64(kh), kw: Int64(kw),
                                 sh: Int64(s), sw: Int64(s), pt: Int64(p.0), pl: Int64(p.1), dh: Int64(d), dw: Int64(d),
                                 oh: Int64(oh), ow: Int64(ow))
    }

    /// Σ over taps inside the image of (x − zx)·w for output pixel (b, oy, ox), channel weights from `weight(tap, ci)`.
    private func reference(_ x: [UInt8], _ g: clas_q8_conv_geom, _ zx: Int32, b: Int, oy: Int, ox: Int,
                           channels: some Sequence<Int>, weight: (Int, Int) -> Int8) -> Int32 {
        var s: Int32 = 0
        for ky in 0..<Int(g.kh) {
            let iy = oy * Int(g.sh) - Int(g.pt) + ky * Int(g.dh)
            for kx in 0..<Int(g.kw) {
                let ix = ox * Int(g.sw) - Int(g.pl) + kx * Int(g.dw)
                guard iy >= 0, iy < Int(g.h), ix >= 0, ix < Int(g.w) else { continue }
                for ci in channels {
                    let v = x[((b * Int(g.h) + iy) * Int(g.w) + ix) * Int(g.c) + ci]
                    s += (Int32(v) - zx) * Int32(weight(ky * Int(g.kw) + kx, ci))
                }
            }
        }
        return s
    }

    func testDenseConvEqualsDirectReference() {
        var r = Seeded(state: 21)
        for t in convCases {
            var g = geometry(t)
            let cout = t.9, c = Int(g.c), k = Int(g.kh * g.kw) * c
            let x = (0..<Int(g.n * g.h * g.w * g.c)).map { _ in UInt8.random(in: 0...255, using: &r) }
            let w = (0..<(cout * k)).map { _ in Int8.random(in: -128...127, using: &r) }  // OHWI
            let (packed, rowsum) = pack(w, n: cout, k: k)
            var e = Epilogue(n: cout, zx: Int32.random(in: 0...255, using: &r), relu: cout % 2 == 1, rowsum: rowsum, rng: &r)
            let pixels = Int(g.n * g.oh * g.ow)
            var acc = [Int32](repeating: 0, count: pixels * cout)
            for p in 0..<pixels {
                let ox = p % Int(g.ow), oy = (p / Int(g.ow)) % Int(g.oh), b = p / Int(g.ow * g.oh)
                for j in 0..<cout {
                    acc[p * cout + j] = reference(x, g, e.zx, b: b, oy: oy, ox: ox, channels: 0..<c) { tap, ci in
                        w[j * k + tap * c + ci]
                    }
                }
            }
            e.fitChainedScale(acc, channels: cout)
            let residual = (0..<acc.count).map { _ in Float.random(in: -1...1, using: &r) * 50 * e.qScale }
            forEachISA { isa in
                var yf = [Float](repeating: .nan, count: pixels * cout)
                var yq = [UInt8](repeating: 0, count: pixels * cout)
                var yc = [UInt8](repeating: 0, count: pixels * cout)
                e.withC { e in
                    clas_q8_conv(x, &g, packed, Int64(cout), e, &yf, nil)
                    clas_q8_conv(x, &g, packed, Int64(cout), e, nil, &yq)
                }
                e.withC(chained: true, residual: residual) { e in clas_q8_conv(x, &g, packed, Int64(cout), e, nil, &yc) }
                for i in 0..<acc.count where yf[i] != e.float(acc[i], i % cout) || yq[i] != e.uint8(acc[i], i % cout)
                    || yc[i] != e.chained(acc[i], i % cout, residual: residual[i]) {
                    return XCTFail("\(isa) conv \(t) at \(i): \(yf[i]) vs \(e.float(acc[i], i % cout)), chained "
                                   + "\(yc[i]) vs \(e.chained(acc[i], i % cout))")
                }
            }
        }
    }

    func testDepthwiseEqualsDirectReference() {
        var r = Seeded(state: 22)
        for t in convCases {
            var g = geometry(t)
            let c = Int(g.c), taps = Int(g.kh * g.kw)
            // 16 bytes of padding: the kernel reads channel blocks 16 at a time.
            let x = (0..<Int(g.n * g.h * g.w * g.c)).map { _ in UInt8.random(in: 0...255, using: &r) } + [UInt8](repeating: 7, count: 16)
            let w = (0..<(taps * c)).map { _ in Int8.random(in: -128...127, using: &r) }  // [tap, c]
            var e = Epilogue(n: c, zx: Int32.random(in: 0...255, using: &r), relu: c % 2 == 0 || c % 3 == 0,
                             rowsum: [Int32](repeating: 0, count: c), rng: &r)
            e.hardswish = c % 3 == 0  // MobileNetV3's depthwise activation, applied in registers
            let pixels = Int(g.n * g.oh * g.ow)
            var acc = [Int32](repeating: 0, count: pixels * c)
            for p in 0..<pixels {
                let ox = p % Int(g.ow), oy = (p / Int(g.ow)) % Int(g.oh), b = p / Int(g.ow * g.oh)
                for ch in 0..<c {
                    acc[p * c + ch] = reference(x, g, e.zx, b: b, oy: oy, ox: ox, channels: [ch]) { tap, ci in w[tap * c + ci] }
                }
            }
            e.fitChainedScale(acc, channels: c)
            var yf = [Float](repeating: .nan, count: pixels * c)
            var yq = [UInt8](repeating: 0, count: pixels * c)
            var yc = [UInt8](repeating: 0, count: pixels * c)
            e.withC(useRowsum: false) { e in
                clas_q8_depthwise(x, &g, w, e, &yf, nil)
                clas_q8_depthwise(x, &g, w, e, nil, &yq)
            }
            let residual = (0..<acc.count).map { _ in Float.random(in: -1...1, using: &r) * 50 * e.qScale }
            e.withC(useRowsum: false, chained: true, residual: residual) { e in clas_q8_depthwise(x, &g, w, e, nil, &yc) }
            for i in 0..<acc.count where yf[i] != e.float(acc[i], i % c) || yq[i] != e.uint8(acc[i], i % c)
                || yc[i] != e.chained(acc[i], i % c, residual: residual[i]) {
                return XCTFail("depthwise \(t) at \(i): \(yf[i]) vs \(e.float(acc[i], i % c)), chained \(yc[i]) vs "
                               + "\(e.chained(acc[i], i % c))")
            }
        }
    }

    func testQuantizeMatchesOnnxQuantizeLinear() {
        var r = Seeded(state: 23)
        let x = (0..<5000).map { _ in Float.random(in: -4...4, using: &r) } + [0.5, 1.5, 2.5, -0.5, 1e9, -1e9]
        for (scale, zero) in [(Float(0.02), Int32(128)), (1, 0), (0.5, 3)] {
            var q = [UInt8](repeating: 0, count: x.count)
            clas_q8_quantize(x, &q, Int64(x.count), scale, zero, 0)
            for i in 0..<x.count {
                let v = Swift.min(Swift.max((x[i] / scale).rounded(.toNearestOrEven) + Float(zero), 0), 255)
                XCTAssertEqual(q[i], UInt8(v), "x \(x[i]) scale \(scale) zero \(zero)")
            }
            // With a fused activation: the quantisation of the activation's float output.
            let activations: [(Int32, (Float) -> Float)] = [
                (Int32(CLAS_ACT_RELU), { $0 > 0 ? $0 : 0 }),
                (Int32(CLAS_ACT_HARDSWISH), { $0 * Swift.min(Swift.max($0 + 3, 0), 6) * (1 / 6) }),
            ]
            for (act, f) in activations {
                clas_q8_quantize(x, &q, Int64(x.count), scale, zero, act)
                for i in 0..<x.count {
                    let v = Swift.min(Swift.max((f(x[i]) / scale).rounded(.toNearestOrEven) + Float(zero), 0), 255)
                    XCTAssertEqual(q[i], UInt8(v), "act \(act) x \(x[i]) scale \(scale) zero \(zero)")
                }
            }
        }
    }
}
