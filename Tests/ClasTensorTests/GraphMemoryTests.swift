import ClasKernels
import ClasTensor
import XCTest

/// The autograd graph keeps only what backward rules read: rules point to the rules of their inputs, not to the
/// intermediate tensors, so a result that is only summed (MobileOne's branch outputs, partial sums) is freed as soon
/// as the forward code drops it — as in PyTorch.
final class GraphMemoryTests: XCTestCase {
    func testResultsNoBackwardReadsAreFreedBeforeBackward() {
        let n = 1 << 16  // 256 KiB per tensor
        let w = Tensor(shape: [n], repeating: 1, requiresGrad: true)
        let base = clas_buffer_live_bytes()
        var loss: Tensor
        do {
            // Nine scaled copies of w summed: scaling by a constant and adding read nothing in backward.
            var sum = w * 2
            for _ in 0..<8 { sum = sum + w * 3 }
            loss = sum.sum()
        }
        let held = clas_buffer_live_bytes() - base
        XCTAssertLessThan(held, Int64(n * 4), "the graph keeps \(held) bytes (\(Double(held) / Double(n * 4)) tensors)")
        loss.backward()
        XCTAssertEqual(w.grad?.scalars.first, 26)
        XCTAssertEqual(w.grad?.scalars.allSatisfy { $0 == 26 }, true)
    }

    /// ReLU and ReLU6 keep their output, not their input (their derivatives are functions of the output), so a
    /// residual sum before a ReLU is freed once the forward code drops it, as with PyTorch's in-place ReLU; other
    /// activations keep their input. The gradients are those of the input-side rule.
    func testReLUKeepsItsOutputAndFreesItsInput() {
        let n = 1 << 16  // 256 KiB per tensor
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = Float(i % 13) - 6 + 0.25 }  // −5.75 … 6.25: both sides of 0 and of 6
        for act in [Activation.relu, .relu6, .hardswish] {
            let a = Tensor(shape: [n], values: values, requiresGrad: true)
            let b = Tensor(shape: [n], values: values.map { $0 * 0.5 }, requiresGrad: true)
            let base = clas_buffer_live_bytes()
            var out: Tensor
            do { out = (a + b).activated(act) }
            let held = clas_buffer_live_bytes() - base
            let tensors = act == .hardswish ? 2 : 1  // the output, and for hard-swish its input too
            XCTAssertLessThan(held, Int64((tensors + 1) * n * 4), "\(act): the graph keeps \(held) bytes")
            XCTAssertGreaterThanOrEqual(held, Int64(tensors * n * 4), "\(act)")
            out.sum().backward()
            for i in [0, 5, 6, 7, 10, 11, 12] {  // x = a + b = 1.5·(i − 6 + 0.25)
                let x = 1.5 * values[i]
                let want: Float = switch act {
                case .relu: x > 0 ? 1 : 0
                case .relu6: x > 0 && x < 6 ? 1 : 0
                default: x <= -3 ? 0 : x >= 3 ? 1 : (2 * x + 3) / 6
                }
                XCTAssertEqual(a.grad!.scalars[i], want, accuracy: 1e-6, "\(act) at x = \(x)")
            }
        }
    }

    /// An intermediate tensor with `retainsGrad` still receives its gradient, and the graph is released after
    /// backward (a second backward through it is not possible, the tensor is detached).
    func testRetainedIntermediateGetsItsGradientAndIsDetachedAfterwards() {
        let w = Tensor(shape: [3], values: [1, 2, 3], requiresGrad: true)
        let h = w * w
        h.retainsGrad = true
        let loss = (h * 2).sum()
        loss.backward()
        XCTAssertEqual(h.grad?.scalars, [2, 2, 2])
        XCTAssertEqual(w.grad?.scalars, [4, 8, 12])
        XCTAssertNil(h.opName, "graph released")
    }
}
