import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// SyncBN through a whole model: two simulated processes (each with half the batch) must produce the gradients
/// and running statistics of one process on the whole batch.
final class SyncBatchNormModelTests: XCTestCase {
    func model() throws -> MobileNetV3 {
        Randomness.seed(3)
        let m = try MobileNetV3(size: .small, widthMultiplier: 0.35, dropRate: 0)
        return m
    }

    /// One forward and backward pass with loss Σ logits·w / 8; returns gradients and buffers by name.
    func pass(_ m: MobileNetV3, _ x: Tensor, _ w: Tensor) -> [String: [Float]] {
        for p in m.parameters() { p.grad = nil }
        (m(x) * w).sum().affine(1.0 / 8, 0).backward()
        var out: [String: [Float]] = [:]
        for (name, p) in m.namedParameters() { out[name] = p.grad?.scalars ?? [] }
        for (name, b) in m.namedBuffers() { out[name] = b.scalars }
        return out
    }

    func testTwoHalvesEqualTheWholeBatch() throws {
        let xa = randn([4, 32, 32, 3], seed: 11), xb = randn([4, 32, 32, 3], seed: 12, std: 2)
        let wa = randn([4, 1000], seed: 13), wb = randn([4, 1000], seed: 14)
        let whole = pass(try model(), Tensor(shape: [8, 32, 32, 3], values: xa.scalars + xb.scalars),
                         Tensor(shape: [8, 1000], values: wa.scalars + wb.scalars))
        let ma = try model(), mb = try model()
        let initial = ma.stateDict().map { ($0.0, $0.1.detachedCopy()) }
        let ra = PairedReducer(), rb = PairedReducer()
        ra.partner = rb
        rb.partner = ra
        for case let (_, bn as BatchNorm) in ma.namedModules() { bn.statisticsReducer = ra }
        for case let (_, bn as BatchNorm) in mb.namedModules() { bn.statisticsReducer = rb }
        var a: [String: [Float]] = [:], b: [String: [Float]] = [:], previous: [[Double]] = []
        for round in 0..<400 {
            for m in [ma, mb] {
                for ((_, t), (_, s)) in zip(m.stateDict(), initial) { t.copy(from: s) }
            }
            ra.beginRound()
            rb.beginRound()
            a = pass(ma, xa, wa)
            b = pass(mb, xb, wb)
            if round > 0 && ra.recorded == previous { break }
            previous = ra.recorded
        }
        XCTAssertEqual(ra.recorded, previous, "the simulated reductions did not settle")
        for (name, expected) in whole {
            guard let ga = a[name], let gb = b[name] else { return XCTFail("missing \(name)") }
            let combined = name.hasSuffix("running_mean") || name.hasSuffix("running_var") ? ga : zip(ga, gb).map { $0 + $1 }
            if name.contains("running") { assertClose(ga, gb, tol: 0, "\(name): both processes hold the same statistics") }
            let scale = expected.map(abs).max() ?? 1
            assertClose(combined, expected, tol: max(1e-4 * scale, 1e-5), name)
        }
    }
}
