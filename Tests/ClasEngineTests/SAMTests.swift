import ClasEngine
import ClasOptim
import ClasTensor
import XCTest
import _ClasTestSupport

/// SAM's perturbed step on L(w) = ½·Σ aᵢwᵢ², whose gradient a∘w is known in closed form.
final class SAMTests: XCTestCase {
    let a: [Float] = [1, 2, 3, 4]
    let start: [Float] = [1, -1, 0.5, 2]

    private func quadratic(_ w: Tensor) -> Tensor { (w * w * Tensor(shape: [4], values: a)).sum() * 0.5 }

    /// One SAM step from `start`; returns the new weights and the optimizer.
    private func samStep(rho: Float, adaptive: Bool, lr: Float = 0.1, clip: Float? = nil) -> ([Float], SAM) {
        let w = Tensor(shape: [4], values: start, requiresGrad: true)
        let sam = SAM(base: Momentum(parameters: [("w", w)], learningRate: lr, momentum: 0), rho: rho, adaptive: adaptive)
        sam.clipNorm = clip
        quadratic(w).backward()
        sam.step(gradientScale: 1) {
            sam.zeroGrad()
            let loss = quadratic(w)
            loss.backward()
            return loss.item
        }
        return (w.scalars, sam)
    }

    /// w − lr·a∘(w + e) with e = ρ·T²∘g/‖T∘g‖, T = 1 or |w|.
    private func expected(rho: Float, adaptive: Bool, lr: Float = 0.1, clip: Float? = nil) -> (weights: [Float], perturbedLoss: Float) {
        let g = zip(a, start).map { $0 * $1 }
        let t = adaptive ? start.map { Swift.abs($0) } : [1, 1, 1, 1]
        let norm = zip(t, g).map { $0 * $1 * $0 * $1 }.reduce(0, +).squareRoot()
        let e = (0..<4).map { rho * t[$0] * t[$0] * g[$0] / norm }
        let perturbed = (0..<4).map { start[$0] + e[$0] }
        let g2 = zip(a, perturbed).map { $0 * $1 }
        var scale: Float = 1
        if let clip {
            let n2 = g2.map { $0 * $0 }.reduce(0, +).squareRoot()
            scale = min(1, clip / n2)
        }
        let loss = zip(a, perturbed).map { 0.5 * $0 * $1 * $1 }.reduce(0, +)
        return ((0..<4).map { start[$0] - lr * scale * g2[$0] }, loss)
    }

    func testSAMStepUsesTheGradientAtThePerturbedWeights() {
        let (w, sam) = samStep(rho: 0.05, adaptive: false)
        let want = expected(rho: 0.05, adaptive: false)
        assertClose(w, want.weights, tol: 1e-6, "SAM")
        XCTAssertEqual(sam.lastPerturbedLoss, want.perturbedLoss, accuracy: 1e-5)
        XCTAssertEqual(sam.stepCount, 1)
        // Not the plain gradient step.
        let plain = (0..<4).map { start[$0] - 0.1 * a[$0] * start[$0] }
        XCTAssertGreaterThan(zip(w, plain).map { Swift.abs($0 - $1) }.max() ?? 0, 1e-3)
    }

    func testASAMScalesTheNeighbourhoodByTheWeights() {
        let (w, _) = samStep(rho: 0.5, adaptive: true)
        assertClose(w, expected(rho: 0.5, adaptive: true).weights, tol: 1e-6, "ASAM")
    }

    func testClipAppliesToTheSecondGradient() {
        let (w, _) = samStep(rho: 0.05, adaptive: false, clip: 0.5)
        assertClose(w, expected(rho: 0.05, adaptive: false, clip: 0.5).weights, tol: 1e-6, "clipped")
    }

    func testWeightsAreRestoredExactlyAndStateIsTheBaseOptimizers() {
        // With lr 0 the step must leave the weights bit-identical (restored, not w + e − e).
        let (w, _) = samStep(rho: 0.37, adaptive: false, lr: 0)
        XCTAssertEqual(w, start)
        let p = Tensor(shape: [4], values: start, requiresGrad: true)
        let sam = SAM(base: Momentum(parameters: [("w", p)], learningRate: 0.1, momentum: 0.9))
        quadratic(p).backward()
        sam.step(gradientScale: 1) { sam.zeroGrad(); let l = quadratic(p); l.backward(); return l.item }
        XCTAssertEqual(sam.state.map(\.0), ["velocity.w"])
        sam.learningRate = 0.02
        XCTAssertEqual(sam.base.learningRate, 0.02)
    }
}
