import ClasTensor
import XCTest
import _ClasTestSupport

/// Synchronised batch norm (the `reducer` of `Tensor.batchNorm`) over two simulated processes must equal plain
/// batch norm over the concatenated batch: outputs, running statistics and all gradients.
final class SyncBatchNormTests: XCTestCase {
    struct Result {
        var y: [Float], dx: [Float], dgamma: [Float], dbeta: [Float], runningMean: [Float], runningVar: [Float]
    }

    /// Forward and backward of batch norm on `x` with upstream gradient `w` (loss = Σ y·w).
    func run(_ x: [Float], _ w: [Float], rows: Int, channels c: Int, gamma: [Float], beta: [Float],
             activation: Activation, reducer: CrossProcessReducer?) -> Result {
        let xt = Tensor(shape: [rows, c], values: x, requiresGrad: true)
        let g = Tensor(shape: [c], values: gamma, requiresGrad: true), b = Tensor(shape: [c], values: beta, requiresGrad: true)
        let rm = Tensor(shape: [c], values: (0..<c).map { Float($0) * 0.3 }), rv = Tensor.ones([c])
        let y = Tensor.batchNorm(xt, gamma: g, beta: b, runningMean: rm, runningVar: rv, training: true, momentum: 0.1,
                                 activation: activation, reducer: reducer)
        (y * Tensor(shape: [rows, c], values: w)).sum().backward()
        return Result(y: y.scalars, dx: xt.grad?.scalars ?? [], dgamma: g.grad?.scalars ?? [], dbeta: b.grad?.scalars ?? [],
                      runningMean: rm.scalars, runningVar: rv.scalars)
    }

    func testTwoProcessesEqualOneProcessOnTheConcatenatedBatch() {
        let c = 5, rowsA = 6, rowsB = 10  // unequal shards: the counts are reduced too
        for activation in [Activation.none, .hardswish] {
            let xa = randn([rowsA, c], seed: 1, std: 2).affine(1, 3).scalars, xb = randn([rowsB, c], seed: 2, std: 3).scalars
            let wa = randn([rowsA, c], seed: 3).scalars, wb = randn([rowsB, c], seed: 4).scalars
            let gamma = randn([c], seed: 5).scalars, beta = randn([c], seed: 6).scalars
            let whole = run(xa + xb, wa + wb, rows: rowsA + rowsB, channels: c, gamma: gamma, beta: beta,
                            activation: activation, reducer: nil)
            let ra = PairedReducer(), rb = PairedReducer()
            ra.partner = rb
            rb.partner = ra
            var a: Result?, b: Result?
            for _ in 0..<3 {
                ra.beginRound()
                rb.beginRound()
                a = run(xa, wa, rows: rowsA, channels: c, gamma: gamma, beta: beta, activation: activation, reducer: ra)
                b = run(xb, wb, rows: rowsB, channels: c, gamma: gamma, beta: beta, activation: activation, reducer: rb)
            }
            guard let a, let b else { return XCTFail("no result") }
            XCTAssertEqual(ra.recorded.count, 2, "one reduction in the forward pass, one in the backward pass")
            assertClose(a.y + b.y, whole.y, tol: 1e-5, "\(activation) output")
            assertClose(a.dx + b.dx, whole.dx, tol: 1e-5, "\(activation) input gradient")
            // Parameter gradients are each process's share; the gradient all-reduce adds them.
            assertClose(zip(a.dgamma, b.dgamma).map { $0 + $1 }, whole.dgamma, tol: 1e-4, "\(activation) dgamma")
            assertClose(zip(a.dbeta, b.dbeta).map { $0 + $1 }, whole.dbeta, tol: 1e-4, "\(activation) dbeta")
            for r in [a, b] {
                assertClose(r.runningMean, whole.runningMean, tol: 1e-6, "\(activation) running mean")
                assertClose(r.runningVar, whole.runningVar, tol: 1e-5, "\(activation) running variance")
            }
        }
    }

    func testStatisticsStayPreciseWhenTheMeanDwarfsTheSpread() {
        // Mean 1000, spread 0.01, running mean 0 (far from the batch mean): the variance must still be exact.
        let c = 4, rows = 64
        let xa = randn([rows, c], seed: 1).affine(0.01, 1000).scalars, xb = randn([rows, c], seed: 2).affine(0.01, 1000).scalars
        let w = randn([rows, c], seed: 3).scalars, gamma = [Float](repeating: 1, count: c), beta = [Float](repeating: 0, count: c)
        let whole = run(xa + xb, w + w, rows: 2 * rows, channels: c, gamma: gamma, beta: beta, activation: .none, reducer: nil)
        let ra = PairedReducer(), rb = PairedReducer()
        ra.partner = rb
        rb.partner = ra
        var a: Result?
        for _ in 0..<3 {
            ra.beginRound()
            rb.beginRound()
            a = run(xa, w, rows: rows, channels: c, gamma: gamma, beta: beta, activation: .none, reducer: ra)
            _ = run(xb, w, rows: rows, channels: c, gamma: gamma, beta: beta, activation: .none, reducer: rb)
        }
        guard let a else { return XCTFail("no result") }
        // running var = 0.9 + 0.1·σ²·N/(N−1) with σ² ≈ 1e-4: compare the σ² part with 1 % tolerance.
        for i in 0..<c {
            XCTAssertEqual((a.runningVar[i] - 0.9) / (whole.runningVar[i] - 0.9), 1, accuracy: 0.01, "channel \(i)")
        }
        // Outputs agree up to the float rounding of a mean near 1000 (3e-5, i.e. 3e-3 of σ).
        assertClose(a.y, Array(whole.y.prefix(rows * c)), tol: 1e-2, "outputs")
    }

    func testLocalStatisticsDifferFromGlobalOnes() {
        // The same shards without a reducer normalise with each shard's own statistics: the check above can fail.
        let c = 3
        let xa = randn([8, c], seed: 1).scalars, xb = randn([8, c], seed: 2, std: 4).affine(1, 5).scalars
        let w = randn([8, c], seed: 3).scalars, gamma = [Float](repeating: 1, count: c), beta = [Float](repeating: 0, count: c)
        let whole = run(xa + xb, w + w, rows: 16, channels: c, gamma: gamma, beta: beta, activation: .none, reducer: nil)
        let a = run(xa, w, rows: 8, channels: c, gamma: gamma, beta: beta, activation: .none, reducer: nil)
        XCTAssertGreaterThan(zip(a.y, whole.y.prefix(8 * c)).map { abs($0 - $1) }.max() ?? 0, 0.1)
    }
}
