import ClasKernels

extension Tensor {
    /// Batch normalisation over the last (channel) dimension, fused with an activation.
    ///
    /// In training, normalises with the batch's mean and biased variance and updates the running statistics in
    /// place (`running = (1 − momentum)·running + momentum·batch`, unbiased variance, PyTorch's convention); in
    /// evaluation, uses the running statistics. A single value per channel in training (a batch of one image at a
    /// 1×1 feature map, e.g. the last short batch of an epoch) is normalised to `beta` and its variance enters the
    /// running statistics uncorrected, as in PaddlePaddle (PyTorch raises instead).
    /// - Parameters:
    ///   - x: [..., C] input (NHWC images or [N, C] features).
    ///   - gamma, beta: per-channel scale and shift (nil for an affine-free norm).
    ///   - runningMean, runningVar: per-channel buffers.
    ///   - activation: applied to the normalised output in the same pass.
    public static func batchNorm(
        _ x: Tensor, gamma: Tensor?, beta: Tensor?, runningMean: Tensor, runningVar: Tensor, training: Bool,
        momentum: Float = 0.1, eps: Float = 1e-5, activation: Activation = .none
    ) -> Tensor {
        let c = x.shape[x.rank - 1], rows = x.count / c
        precondition(runningMean.count == c && runningVar.count == c, "batchNorm: \(c) channels, buffers \(runningMean.shape)")
        let mean: Tensor, variance: Tensor
        if training {
            mean = Tensor(uninitializedShape: [c])
            variance = Tensor(uninitializedShape: [c])
            clas_bn_stats(x.data, Int64(rows), Int64(c), mean.data, variance.data)
            let unbias = rows > 1 ? Float(rows) / Float(rows - 1) : 1
            for i in 0..<c {
                runningMean.data[i] = (1 - momentum) * runningMean.data[i] + momentum * mean.data[i]
                runningVar.data[i] = (1 - momentum) * runningVar.data[i] + momentum * variance.data[i] * unbias
            }
        } else {
            mean = runningMean.detachedCopy()
            variance = runningVar.detachedCopy()
        }
        let out = Tensor(uninitializedShape: x.shape)
        clas_bn_apply(x.data, Int64(rows), Int64(c), mean.data, variance.data, eps, gamma?.data, beta?.data,
                      activation.rawValue, out.data)
        OpTrace.record(.batchNorm(eps: eps, activation: activation, training: training, hasGamma: gamma != nil,
                                  hasBeta: beta != nil),
                       [x, runningMean, runningVar] + [gamma, beta].compactMap { $0 }, out)
        guard needsGrad(x, gamma, beta) else { return out }
        let sx = x.detached(), sg = gamma?.detached(), sb = beta?.detached()
        let rx = x.requiresGrad, rg = gamma?.requiresGrad ?? false, rbeta = beta?.requiresGrad ?? false
        var inputs = [x]
        if let gamma { inputs.append(gamma) }
        if let beta { inputs.append(beta) }
        return out.record("batch_norm", inputs) { g in
            let dx = rx ? Tensor(uninitializedShape: sx.shape) : nil
            let dgamma = Tensor(uninitializedShape: [c]), dbeta = Tensor(uninitializedShape: [c])
            clas_bn_backward(sx.data, g.data, Int64(rows), Int64(c), mean.data, variance.data, eps, sg?.data, sb?.data,
                             activation.rawValue, training, dx?.data, dgamma.data, dbeta.data)
            var grads: [Tensor?] = [dx]
            if gamma != nil { grads.append(rg ? dgamma : nil) }
            if beta != nil { grads.append(rbeta ? dbeta : nil) }
            return grads
        }
    }
}
