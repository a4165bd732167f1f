import ClasKernels
import ClasTensor

/// Sharpness-aware minimisation (Foret et al., https://arxiv.org/abs/2010.01412) wrapping any optimizer, with the
/// adaptive variant ASAM (Kwon et al., https://arxiv.org/abs/2102.11600).
///
/// One step takes two gradients of the same batch:
/// 1. at the weights w, the gradient g (computed by the caller), giving the ascent step
///    e = ρ·T²·g / ‖T·g‖ over all trainable parameters, with T = 1 (SAM) or T = |w| (ASAM);
/// 2. at w + e, the gradient g' (the `recompute` closure clears the gradients, runs forward and backward again and
///    returns the loss);
/// then the weights are restored to w exactly and the wrapped optimizer steps with g' (its momentum, weight decay
/// and learning rate apply as usual). Without a closure (`step(gradientScale:)`), SAM is the wrapped optimizer.
///
/// The state saved in checkpoints is the wrapped optimizer's, under its own names, so a run can switch SAM on or off
/// and keep its momenta.
public final class SAM: Optimizer {
    /// The optimizer taking the descent step.
    public let base: Optimizer
    /// Radius ρ of the neighbourhood (0.05 in the paper; ASAM uses larger values, e.g. 0.5–2).
    public let rho: Float
    /// ASAM: scale the neighbourhood by |w| per element.
    public let adaptive: Bool
    /// Global-norm clip of the second gradient (the trainer sets it from `Optimizer.clip_norm`); nil: no clip, the
    /// second gradient is scaled like the first (`gradientScale`).
    public var clipNorm: Float?
    /// Norm ‖T·g‖ of the last first gradient (for logs and tests).
    public private(set) var lastGradientNorm: Float = 0

    /// Keeps the wrapped optimizer's rate in step with the schedule.
    public override var learningRate: Float {
        didSet { base.learningRate = learningRate }
    }

    /// Keeps the wrapped optimizer's decay annealing in step with the schedule.
    public override var learningRateMultipliers: [Float] {
        didSet { base.learningRateMultipliers = learningRateMultipliers }
    }

    public override var weightDecayScale: Float {
        didSet { base.weightDecayScale = weightDecayScale }
    }

    /// The wrapped optimizer's decay.
    public override var weightDecay: Float { base.weightDecay }

    /// Keeps the wrapped optimizer's count in step (resume sets it).
    public override var stepCount: Int {
        didSet { base.stepCount = stepCount }
    }

    /// - Parameters:
    ///   - base: the optimizer that takes the descent step, built over the same parameters.
    ///   - rho: neighbourhood radius, > 0.
    ///   - adaptive: ASAM's scale-invariant neighbourhood.
    public init(base: Optimizer, rho: Float = 0.05, adaptive: Bool = false) {
        precondition(rho > 0, "SAM: rho must be positive, got \(rho)")
        self.base = base
        self.rho = rho
        self.adaptive = adaptive
        super.init(parameters: base.parameters.map { ($0.name, $0.tensor) }, learningRate: base.learningRate,
                   weightDecay: WeightDecayPolicy())
    }

    /// Without a way to recompute the gradient, a plain step of the wrapped optimizer.
    public override func step(gradientScale: Float = 1) {
        base.step(gradientScale: gradientScale)
        stepCount += 1
    }

    /// The loss at the perturbed weights of the last step.
    public private(set) var lastPerturbedLoss: Float = 0

    /// The two-pass SAM step; `recompute` clears the gradients, recomputes them at the current weights and returns
    /// the loss.
    public func step(gradientScale: Float, recompute: () -> Float) {
        let active = parameters.filter { $0.tensor.requiresGrad && $0.tensor.grad != nil }
        // ‖T·g‖ over all parameters (the gradient scale cancels in the direction, so it is not applied).
        var sumSquares = 0.0
        for p in active {
            guard let g = p.tensor.grad else { continue }
            if adaptive {
                let w = p.tensor.data, gd = g.data
                var s = 0.0
                for i in 0..<g.count { let v = Double(abs(w[i]) * gd[i]); s += v * v }
                sumSquares += s
            } else {
                sumSquares += clas_sum_squares(g.data, Int64(g.count))
            }
        }
        lastGradientNorm = Float(sumSquares.squareRoot())
        let factor = rho / (lastGradientNorm + 1e-12)
        // w ← w + e, keeping w to restore exactly.
        var saved: [(Tensor, Tensor)] = []
        saved.reserveCapacity(active.count)
        for p in active {
            guard let g = p.tensor.grad else { continue }
            saved.append((p.tensor, p.tensor.detachedCopy()))
            let w = p.tensor.data, gd = g.data
            if adaptive {
                for i in 0..<g.count { w[i] += w[i] * w[i] * gd[i] * factor }
            } else {
                for i in 0..<g.count { w[i] += gd[i] * factor }
            }
        }
        lastPerturbedLoss = recompute()
        for (w, original) in saved { w.copy(from: original) }
        var scale = gradientScale
        if let clipNorm {
            let norm = gradientNorm()
            scale = norm > clipNorm ? clipNorm / norm : 1
        }
        base.step(gradientScale: scale)
        stepCount += 1
    }

    /// The wrapped optimizer's update (unused: SAM steps through `base`).
    public override func update(index: Int, parameter: Tensor, gradient: Tensor, decay: Float, scale: Float) {
        base.update(index: index, parameter: parameter, gradient: gradient, decay: decay, scale: scale)
    }

    public override var state: [(String, Tensor)] { base.state }

    public override func loadState(_ tensors: [String: Tensor]) -> Int { base.loadState(tensors) }
}
