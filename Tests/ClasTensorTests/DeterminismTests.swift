import ClasKernels
import ClasTensor
import XCTest
import _ClasTestSupport

/// The same inputs and seed give bit-identical results, and thread counts only change rounding.
final class DeterminismTests: XCTestCase {
    private func step(seed: UInt64) -> [Float] {
        var rng = RandomState(seed: seed)
        let x = Tensor.randomNormal([8, 16, 16, 24], using: &rng)
        let w1 = Tensor.randomNormal([48, 1, 1, 24], std: 0.2, using: &rng)
        let wd = Tensor.randomNormal([48, 3, 3, 1], std: 0.2, using: &rng)
        let w2 = Tensor.randomNormal([10, 48], std: 0.2, using: &rng)
        for t in [w1, wd, w2] { t.requiresGrad = true }
        let rm = Tensor.zeros([48]), rv = Tensor.ones([48])
        var h = Tensor.conv2d(x, weight: w1)
        h = Tensor.batchNorm(h, gamma: nil, beta: nil, runningMean: rm, runningVar: rv, training: true, activation: .hardswish)
        h = Tensor.conv2d(h, weight: wd, stride: (2, 2), padding: Padding2D(1), groups: 48)
        h = h.dropout(0.2, using: &rng)
        let logits = Tensor.linear(Tensor.globalAvgPool(h, keepDims: false), weight: w2, bias: nil)
        let loss = Tensor.crossEntropy(logits, labels: (0..<8).map { $0 % 10 }, labelSmoothing: 0.1)
        loss.backward()
        return [loss.item] + (w1.grad?.scalars ?? []) + (wd.grad?.scalars ?? []) + (w2.grad?.scalars ?? [])
    }

    func testSameSeedIsBitIdentical() {
        let a = step(seed: 42), b = step(seed: 42)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, step(seed: 43))
    }

    func testThreadCountChangesOnlyRounding() {
        let saved = clas_num_threads()
        defer { clas_set_num_threads(saved) }
        clas_set_num_threads(1)
        let one = step(seed: 5)
        clas_set_num_threads(2)
        let two = step(seed: 5)
        assertClose(one, two, tol: 1e-3, "1 vs 2 threads")
    }

    /// The global average pool gives the same bits whether an image's pixel blocks are split over the threads (one
    /// large image, 2 threads), summed on one thread, or summed as one image of a batch.
    func testGlobalAveragePoolDoesNotDependOnTheSplit() {
        let saved = clas_num_threads()
        defer { clas_set_num_threads(saved) }
        let (pixels, c) = (100 * 100, 40)
        var rng = RandomState(seed: 9)
        let x = Tensor.randomNormal([3, pixels, c], using: &rng)
        func pool(_ images: Int, threads: Int32) -> [Float] {
            clas_set_num_threads(threads)
            var y = [Float](repeating: 0, count: images * c)
            clas_global_avg_pool(x.data, &y, Int64(images), Int64(pixels), Int64(c))
            return y
        }
        let split = pool(1, threads: 2), alone = pool(1, threads: 1), batch = pool(3, threads: 2)
        XCTAssertEqual(split, alone)
        XCTAssertEqual(split, Array(batch[0..<c]))
        let exact = (0..<c).map { i in (0..<pixels).reduce(0.0) { $0 + Double(x.data[$1 * c + i]) } / Double(pixels) }
        assertClose(split, exact.map(Float.init), tol: 1e-6, "against a double-precision mean")
    }
}
