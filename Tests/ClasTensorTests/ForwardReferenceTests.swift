import ClasKernels
import ClasTensor
import XCTest
import _ClasTestSupport

/// Forward results of convolution, batch norm and pooling against straightforward reference loops.
final class ForwardReferenceTests: XCTestCase {
    /// Direct convolution over NHWC input and OHWI weights.
    func referenceConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: (Int, Int), pad: Padding2D, dilation: (Int, Int),
                       groups: Int) -> [Float] {
        let (n, h, wd, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, kh, kw, cg) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let oh = (h + pad.top + pad.bottom - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (wd + pad.left + pad.right - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        let coutg = cout / groups
        var out = [Float](repeating: 0, count: n * oh * ow * cout)
        for b0 in 0..<n { for i in 0..<oh { for j in 0..<ow { for o in 0..<cout {
            var s: Double = Double(b?[o] ?? 0)
            let g = o / coutg
            for p in 0..<kh { for q in 0..<kw {
                let ih = i * stride.0 - pad.top + p * dilation.0, iw = j * stride.1 - pad.left + q * dilation.1
                if ih < 0 || ih >= h || iw < 0 || iw >= wd { continue }
                for c in 0..<cg { s += Double(x[b0, ih, iw, g * cg + c]) * Double(w[o, p, q, c]) }
            } }
            out[((b0 * oh + i) * ow + j) * cout + o] = Float(s)
        } } } }
        _ = cin
        return out
    }

    func testConvolutionMatchesReference() {
        let cases: [([Int], Int, (Int, Int), (Int, Int), Padding2D, (Int, Int), Int)] = [
            ([2, 9, 8, 5], 7, (1, 1), (1, 1), .zero, (1, 1), 1),
            ([2, 9, 8, 5], 7, (3, 3), (2, 2), Padding2D(1), (1, 1), 1),
            ([1, 10, 10, 6], 4, (3, 3), (1, 1), Padding2D(2), (2, 2), 2),
            ([3, 11, 9, 19], 19, (5, 5), (2, 2), Padding2D(2), (1, 1), 19),
            ([2, 8, 8, 130], 130, (3, 3), (1, 1), Padding2D(1), (1, 1), 130),
            ([1, 7, 7, 16], 16, (3, 3), (2, 2), Padding2D(top: 0, bottom: 1, left: 0, right: 1), (1, 1), 16),
            ([2, 12, 12, 3], 16, (3, 3), (2, 2), Padding2D(1), (1, 1), 1),
            // Direct kernel for few input channels: a ResNet-like 7×7 stem, an odd output count, 4 channels.
            ([2, 15, 13, 3], 20, (7, 7), (2, 2), Padding2D(3), (1, 1), 1),
            ([1, 9, 9, 4], 33, (3, 3), (1, 1), Padding2D(top: 0, bottom: 1, left: 2, right: 0), (1, 1), 1),
            // More than 96 outputs from 3 channels (a patch embedding): im2col + GEMM instead.
            ([2, 16, 16, 3], 100, (4, 4), (4, 4), .zero, (1, 1), 1),
            // im2col + GEMM over several blocks of output pixels per thread, with groups.
            ([3, 40, 60, 6], 8, (3, 3), (1, 1), Padding2D(1), (1, 1), 2),
        ]
        for (i, c) in cases.enumerated() {
            let x = randn(c.0, seed: UInt64(i)), w = randn([c.1, c.2.0, c.2.1, c.0[3] / c.6], seed: UInt64(50 + i))
            let b = randn([c.1], seed: UInt64(90 + i))
            let y = Tensor.conv2d(x, weight: w, bias: b, stride: c.3, padding: c.4, dilation: c.5, groups: c.6)
            let ref = referenceConv(x, w, b, stride: c.3, pad: c.4, dilation: c.5, groups: c.6)
            assertClose(y.scalars, ref, tol: 1e-3, "case \(i)")
        }
    }

    /// `clas_sgemm` on the two shapes it cuts specially, against sums in double, with alpha and beta: a deep product
    /// (a weight gradient Aᵀ·B summed over 20,000 rows, split over K with per-chunk partials) and a tall one (5,000 rows
    /// in BLAS calls of at most 2048, the last one partial; A·Bᵀ).
    func testDeepAndTallProductsMatchReference() {
        let cases: [(ta: Bool, tb: Bool, m: Int, n: Int, k: Int)] = [(true, false, 24, 40, 20_000), (false, true, 5000, 24, 9)]
        for (i, c) in cases.enumerated() {
            let a = randn(c.ta ? [c.k, c.m] : [c.m, c.k], seed: UInt64(500 + i))
            let b = randn(c.tb ? [c.n, c.k] : [c.k, c.n], seed: UInt64(510 + i))
            let out = randn([c.m, c.n], seed: UInt64(520 + i))
            var ref = [Float](repeating: 0, count: c.m * c.n)
            for r in 0..<c.m {
                for col in 0..<c.n {
                    var s = 0.0
                    for q in 0..<c.k {
                        let av = a.data[c.ta ? q * c.m + r : r * c.k + q], bv = b.data[c.tb ? col * c.k + q : q * c.n + col]
                        s += Double(av) * Double(bv)
                    }
                    ref[r * c.n + col] = Float(0.5 * s + 0.25 * Double(out.data[r * c.n + col]))
                }
            }
            clas_sgemm(c.ta, c.tb, Int64(c.m), Int64(c.n), Int64(c.k), 0.5, a.data, Int64(c.ta ? c.m : c.k), b.data,
                       Int64(c.tb ? c.k : c.n), 0.25, out.data, Int64(c.n))
            let scale = Swift.max(1, ref.map(Swift.abs).max() ?? 0)
            assertClose(out.scalars, ref, tol: 2e-6 * scale * Float(c.k).squareRoot(), "case \(i)")
        }
    }

    /// Few rows (batch-1 layers, the classifier): A·Bᵀ by the small-M kernel rather than OpenBLAS, with and
    /// without a bias (beta = 1), K off the vector width, and enough rows and columns for a parallel split.
    func testLinearWithFewRowsMatchesReference() {
        for (i, (m, k, n)) in [(1, 100, 64), (3, 161, 96), (16, 960, 1280), (17, 64, 128)].enumerated() {
            let x = randn([m, k], seed: UInt64(300 + i)), w = randn([n, k], seed: UInt64(310 + i))
            let b = randn([n], seed: UInt64(320 + i))
            for bias in [nil, b] {
                let y = GradMode.withoutGrad { Tensor.linear(x, weight: w, bias: bias) }
                var ref = [Float](repeating: 0, count: m * n)
                for r in 0..<m {
                    for c in 0..<n {
                        var s = Double(bias?.data[c] ?? 0)
                        for q in 0..<k { s += Double(x.data[r * k + q]) * Double(w.data[c * k + q]) }
                        ref[r * n + c] = Float(s)
                    }
                }
                assertClose(y.scalars, ref, tol: 1e-3, "m \(m) k \(k) n \(n) bias \(bias != nil)")
            }
        }
    }

    func testBatchNormMatchesFormula() {
        let x = randn([3, 4, 4, 6], std: 3)
        let gamma = randn([6], seed: 2), beta = randn([6], seed: 3)
        let rm = Tensor.zeros([6]), rv = Tensor.ones([6])
        let y = Tensor.batchNorm(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, training: true,
                                 momentum: 0.1, eps: 1e-5)
        let rows = 3 * 4 * 4
        for c in 0..<6 {
            var mean = 0.0, sq = 0.0
            for r in 0..<rows { mean += Double(x.data[r * 6 + c]) }
            mean /= Double(rows)
            for r in 0..<rows { sq += pow(Double(x.data[r * 6 + c]) - mean, 2) }
            let variance = sq / Double(rows)
            for r in 0..<rows {
                let expect = (Double(x.data[r * 6 + c]) - mean) / (variance + 1e-5).squareRoot() * Double(gamma[c]) + Double(beta[c])
                XCTAssertEqual(Double(y.data[r * 6 + c]), expect, accuracy: 1e-4)
            }
            XCTAssertEqual(Double(rm[c]), 0.1 * mean, accuracy: 1e-5, "running mean")
            XCTAssertEqual(Double(rv[c]), 0.9 + 0.1 * variance * Double(rows) / Double(rows - 1), accuracy: 1e-4, "running var")
        }
        // Evaluation uses the running statistics.
        let e = Tensor.batchNorm(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, training: false)
        let expect0 = (Double(x.data[0]) - Double(rm[0])) / (Double(rv[0]) + 1e-5).squareRoot() * Double(gamma[0]) + Double(beta[0])
        XCTAssertEqual(Double(e.data[0]), expect0, accuracy: 1e-5)
    }

    func testBatchNormStatisticsWithLargeOffset() {
        // Shifted sums keep the variance exact even when the mean dwarfs the spread.
        let x = randn([64, 8, 8, 4]).affine(0.01, 1000)
        let rm = Tensor.zeros([4]), rv = Tensor.zeros([4])
        _ = Tensor.batchNorm(x, gamma: nil, beta: nil, runningMean: rm, runningVar: rv, training: true, momentum: 1)
        for c in 0..<4 { XCTAssertEqual(rv[c], 1e-4, accuracy: 1e-5) }
    }

    func testPoolingMatchesReference() {
        let x = randn([2, 7, 6, 3])
        let m = Tensor.maxPool2d(x, kernel: (3, 3), stride: (2, 2), padding: Padding2D(1))
        let a = Tensor.avgPool2d(x, kernel: (3, 3), stride: (2, 2), padding: Padding2D(1), countIncludePad: false)
        XCTAssertEqual(m.shape, [2, 4, 3, 3])
        for n in 0..<2 { for i in 0..<4 { for j in 0..<3 { for c in 0..<3 {
            var mx = -Float.infinity, sum: Float = 0, cnt: Float = 0
            for p in 0..<3 { for q in 0..<3 {
                let ih = i * 2 - 1 + p, iw = j * 2 - 1 + q
                if ih < 0 || ih >= 7 || iw < 0 || iw >= 6 { continue }
                mx = max(mx, x[n, ih, iw, c]); sum += x[n, ih, iw, c]; cnt += 1
            } }
            XCTAssertEqual(m[n, i, j, c], mx)
            XCTAssertEqual(a[n, i, j, c], sum / cnt, accuracy: 1e-5)
        } } } }
        let g = Tensor.globalAvgPool(x, keepDims: false)
        XCTAssertEqual(g.shape, [2, 3])
        var s: Float = 0
        for i in 0..<7 { for j in 0..<6 { s += x[1, i, j, 2] } }
        XCTAssertEqual(g[1, 2], s / 42, accuracy: 1e-5)
    }

    func testActivationValues() {
        let x = Tensor(shape: [6], values: [-4, -1, 0, 1, 4, 7])
        assertClose(x.relu().scalars, [0, 0, 0, 1, 4, 7], "relu")
        assertClose(x.relu6().scalars, [0, 0, 0, 1, 4, 6], "relu6")
        assertClose(x.hardswish().scalars, [0, -1.0 / 3, 0, 2.0 / 3, 4, 7], "hardswish")
        assertClose(x.hardsigmoid().scalars, [0, 1.0 / 3, 0.5, 2.0 / 3, 1, 1], "hardsigmoid")
        let s = x.sigmoid().scalars
        for (i, v) in x.scalars.enumerated() { XCTAssertEqual(s[i], 1 / (1 + exp(-v)), accuracy: 1e-6) }
        let si = x.silu().scalars
        for (i, v) in x.scalars.enumerated() { XCTAssertEqual(si[i], v / (1 + exp(-v)), accuracy: 1e-5) }
        let t = x.tanh().scalars
        for (i, v) in x.scalars.enumerated() { XCTAssertEqual(t[i], Foundation.tanh(v), accuracy: 1e-6) }
        let e = Tensor(shape: [5], values: [-80, -10, 0, 10, 80]).exp().scalars
        for (i, v) in [-80, -10, 0, 10, 80].enumerated() { XCTAssertEqual(e[i] / expf(Float(v)), 1, accuracy: 2e-6) }
    }

    func testCrossEntropyValue() {
        let logits = Tensor(shape: [2, 3], values: [1, 2, 3, 0, 0, 0])
        let loss = Tensor.crossEntropy(logits, labels: [2, 0]).item
        let l0 = -log(exp(3.0) / (exp(1.0) + exp(2.0) + exp(3.0))), l1 = -log(1.0 / 3)
        XCTAssertEqual(Double(loss), (l0 + l1) / 2, accuracy: 1e-5)
        let smooth = Tensor.crossEntropy(logits, labels: [2, 0], labelSmoothing: 0.3).item
        let lsm0 = [1.0, 2, 3].map { $0 - log(exp(1.0) + exp(2.0) + exp(3.0)) }
        let expect0 = -(0.8 * lsm0[2] + 0.1 * lsm0[0] + 0.1 * lsm0[1])
        XCTAssertEqual(Double(smooth), (expect0 + l1) / 2, accuracy: 1e-5)
    }
}
