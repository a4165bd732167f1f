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
