import ClasConfig
import ClasNN
import ClasOptim
import ClasTensor

/// The arithmetic of one optimisation step, shared by the ``Trainer``, the ``LRFinder`` and (through the trainer)
/// `tools compress`: forward, weighted losses, backward, gradient clipping and the optimizer step, including the
/// closure sharpness-aware minimisation needs to recompute the loss at its perturbed weights.
///
/// The caller decides what happens around it: the trainer accumulates `update_freq` batches, stops on non-finite
/// values and averages gradients across processes; the LR finder sets its rate and records the loss.
public struct TrainStep {
    public let model: Module
    /// The weighted `Loss.Train` terms.
    let losses: [WeightedLoss]
    public let optimizer: Optimizer
    /// `Optimizer.clip_norm`: the largest global gradient norm applied.
    public let clipNorm: Float?
    /// `AMP`: forward and backward multiply matrices in bfloat16 (``MixedPrecision``); false on CPUs without it.
    public var mixedPrecision = false

    /// Whether the `AMP` section turns bf16 products on here: asked for and supported (logged either way).
    static func mixedPrecision(_ amp: AMPConfig?, logger: RunLogger) -> Bool {
        guard let amp, amp.useAmp else { return false }
        guard MixedPrecision.isSupported else {
            logger.warning("AMP needs a CPU with AVX512_BF16, which this one lacks; training in float32")
            return false
        }
        logger.info("AMP: matrix products in bfloat16 with float32 sums (AVX512_BF16); weights, gradients and the "
                    + "optimizer stay float32")
        return true
    }

    /// The forward pass: the outputs, the weighted sum of the losses, and every term (unweighted, as logged).
    func forward(_ images: Tensor, _ targets: Targets) -> (outputs: ModelOutputs, total: Tensor, terms: [(String, Double)]) {
        MixedPrecision.run(enabled: mixedPrecision) {
            let outputs = model.outputs(images)
            let (total, terms) = WeightedLoss.total(losses, outputs, targets)
            return (outputs, total, terms)
        }
    }

    /// Backpropagates `total` (gradients accumulate). With `averager`, each finished gradient starts its average
    /// across processes while autograd continues, and the averages are complete on return.
    func backward(_ total: Tensor, averager: GradientAverager? = nil) {
        MixedPrecision.run(enabled: mixedPrecision) {
            if let averager {
                total.backward(onLeafGradient: averager.gradientReady)
                averager.finish()
            } else {
                total.backward()
            }
        }
    }

    /// The global norm of the accumulated gradients times `scale`.
    func gradientNorm(scale: Float) -> Float { optimizer.gradientNorm() * scale }

    /// Steps with the accumulated gradients times `scale`, clipped to `clipNorm` (`norm` is their scaled norm), then
    /// clears them. A ``ClosureStepping`` optimizer (SAM) recomputes the loss of `images` at its perturbed weights,
    /// leaving batch-norm statistics untouched.
    func update(scale: Float, norm: Float, images: Tensor, targets: Targets, averager: GradientAverager? = nil) {
        var scale = scale
        if let clipNorm, norm > clipNorm { scale *= clipNorm / norm }
        if let sam = optimizer as? ClosureStepping {
            sam.step(gradientScale: scale) {
                optimizer.zeroGrad()
                return model.withoutBatchNormStatisticsUpdates {
                    let again = forward(images, targets).total
                    MixedPrecision.run(enabled: mixedPrecision) { again.backward() }
                    averager?.finish()
                    return again.item
                }
            }
        } else {
            optimizer.step(gradientScale: scale)
        }
        optimizer.zeroGrad()
    }
}
