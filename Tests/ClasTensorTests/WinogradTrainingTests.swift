import ClasKernels
import ClasTensor
import XCTest
import _ClasTestSupport

/// Training's 3×3 stride-1 convolutions by Winograd F(4×4, 3×3) (`clas_conv_winograd_forward`, the input gradient
/// by `clas_conv_winograd_input_grad`): output and input, weight and bias gradients equal double-precision sums
/// within 2e-5 of their largest magnitude, for paddings 0, 1 and 2, channel counts off the 16- and 32-wide vectors
/// and panels, several tile groups (3 images of 40×40) and sides that are no multiple of the 4×4 tiles; the path
/// is the Winograd one (its output differs from im2col + GEMM's in the last bits) and can be turned off.
final class WinogradTrainingTests: XCTestCase {
    func testWinogradTrainingConvolutionMatchesReference() {
        let cases: [(input: [Int], cout: Int, pad: Int)] = [
            ([2, 14, 17, 32], 40, 1), ([1, 16, 18, 48], 32, 0), ([3, 12, 13, 33], 35, 2), ([3, 40, 40, 48], 48, 1),
        ]
        defer { Tensor.winogradTraining = true }
        for (i, c) in cases.enumerated() {
            let x0 = randn(c.input, seed: UInt64(500 + i))
            let w0 = randn([c.cout, 3, 3, c.input[3]], seed: UInt64(510 + i))
            let b0 = randn([c.cout], seed: UInt64(520 + i))
            func run(winograd: Bool) -> (y: Tensor, gx: [Float], gw: [Float], gb: [Float], r: Tensor) {
                Tensor.winogradTraining = winograd
                let x = x0.detachedCopy(), w = w0.detachedCopy(), b = b0.detachedCopy()
                for t in [x, w, b] { t.requiresGrad = true }
                let y = Tensor.conv2d(x, weight: w, bias: b, padding: Padding2D(c.pad))
                let r = randn(y.shape, seed: UInt64(530 + i))
                (y * r).sum().backward()
                return (y.detachedCopy(), x.grad!.scalars, w.grad!.scalars, b.grad!.scalars, r)
            }
            let fast = run(winograd: true), gemm = run(winograd: false)
            XCTAssertEqual(fast.y.shape, gemm.y.shape)
            XCTAssertGreaterThanOrEqual(fast.y.shape[1], 14, "case \(i) must be Winograd-eligible")
            XCTAssertNotEqual(fast.y.scalars, gemm.y.scalars, "case \(i): the Winograd path ran")
            XCTAssertNotEqual(fast.gx, gemm.gx, "case \(i): the Winograd input gradient ran")
            let ref = reference(x0, w0, b0, fast.r, pad: c.pad, outShape: fast.y.shape)
            for (got, want, what) in [(fast.y.scalars, ref.y, "output"), (fast.gx, ref.gx, "input gradient"),
                                      (fast.gw, ref.gw, "weight gradient"), (fast.gb, ref.gb, "bias gradient")] {
                let scale = Swift.max(1, want.map(Swift.abs).max() ?? 0)
                assertClose(got, want.map { Float($0) }, tol: Float(2e-5 * scale), "case \(i) \(what)")
            }
        }
    }

    /// y = conv(x, w) + b and the gradients of Σ y·r, summed in double.
    private func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor, _ r: Tensor, pad: Int, outShape: [Int])
        -> (y: [Double], gx: [Double], gw: [Double], gb: [Double])
    {
        let (n, h, wd, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow, cout) = (outShape[1], outShape[2], outShape[3])
        var y = [Double](repeating: 0, count: n * oh * ow * cout), gx = [Double](repeating: 0, count: x.count)
        var gw = [Double](repeating: 0, count: w.count), gb = [Double](repeating: 0, count: cout)
        for s in 0..<n { for i in 0..<oh { for j in 0..<ow { for o in 0..<cout {
            let at = ((s * oh + i) * ow + j) * cout + o, g = Double(r.data[at])
            var sum = Double(b.data[o])
            gb[o] += g
            for p in 0..<3 { for q in 0..<3 {
                let ih = i - pad + p, iw = j - pad + q
                if ih < 0 || ih >= h || iw < 0 || iw >= wd { continue }
                for ch in 0..<cin {
                    let wi = ((o * 3 + p) * 3 + q) * cin + ch, xi = ((s * h + ih) * wd + iw) * cin + ch
                    sum += Double(w.data[wi]) * Double(x.data[xi])
                    gw[wi] += g * Double(x.data[xi])
                    gx[xi] += g * Double(w.data[wi])
                }
            } }
            y[at] = sum
        } } } }
        return (y, gx, gw, gb)
    }
}
