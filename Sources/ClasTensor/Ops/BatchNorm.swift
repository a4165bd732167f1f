import ClasKernels

/// Adds per-channel sums across processes for synchronised batch norm (SyncBN): every process passes its own
/// values and receives the totals over all processes. Every process calls it the same number of times in the same
/// order (once per batch-norm forward and once per backward in training).
public protocol CrossProcessReducer: AnyObject {
    /// Replaces `values[0 ..< count]` by their sums over all processes.
    func allSum(_ values: UnsafeMutablePointer<Double>, count: Int)
}

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
    ///   - reducer: in training, makes the statistics (and the backward's two per-channel sums) global over all
    ///     processes (SyncBN).
    public static func batchNorm(
        _ x: Tensor, gamma: Tensor?, beta: Tensor?, runningMean: Tensor, runningVar: Tensor, training: Bool,
        momentum: Float = 0.1, eps: Float = 1e-5, activation: Activation = .none, reducer: CrossProcessReducer? = nil
    ) -> Tensor {
        let c = x.shape[x.rank - 1], rows = x.count / c
        precondition(runningMean.count == c && runningVar.count == c, "batchNorm: \(c) channels, buffers \(runningMean.shape)")
        let mean: Tensor, variance: Tensor
        let reducer = training ? reducer : nil
        var totalRows = Double(rows)
        if training {
            mean = Tensor(uninitializedShape: [c])
            variance = Tensor(uninitializedShape: [c])
            if let reducer {
                totalRows = synchronizedStatistics(x, rows: rows, channels: c, reducer: reducer, mean: mean,
                                                   variance: variance)
            } else {
                clas_bn_stats(x.data, Int64(rows), Int64(c), mean.data, variance.data)
            }
            let unbias = totalRows > 1 ? Float(totalRows) / Float(totalRows - 1) : 1
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
            if let reducer {
                synchronizedBackward(sx, g, rows: rows, channels: c, mean: mean, variance: variance, eps: eps,
                                     gamma: sg, beta: sb, activation: activation, reducer: reducer,
                                     dx: dx, dgamma: dgamma, dbeta: dbeta)
            } else {
                clas_bn_backward(sx.data, g.data, Int64(rows), Int64(c), mean.data, variance.data, eps, sg?.data,
                                 sb?.data, activation.rawValue, training, dx?.data, dgamma.data, dbeta.data)
            }
            var grads: [Tensor?] = [dx]
            if gamma != nil { grads.append(rg ? dgamma : nil) }
            if beta != nil { grads.append(rbeta ? dbeta : nil) }
            return grads
        }
    }
}

extension Tensor {
    /// Global mean and biased variance over every process's rows; returns the total row count.
    ///
    /// Each process sums around its first row (as `clas_bn_stats`, precise when the mean dwarfs the spread) and
    /// sends Σx and Σx² in double precision. A constant channel (a dead ReLU) then gets exactly its value as mean
    /// and zero variance, as in one process, so activations sitting on a kink stay there.
    fileprivate static func synchronizedStatistics(_ x: Tensor, rows: Int, channels c: Int,
                                                   reducer: CrossProcessReducer, mean: Tensor, variance: Tensor) -> Double {
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2 * c + 1)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: 2 * c + 1)
        if rows > 0 {
            clas_bn_partial_sums(x.data, Int64(rows), Int64(c), x.data, sums)
            let n = Double(rows)
            for i in 0..<c {
                let x0 = Double(x.data[i]), s = sums[i], q = sums[c + i]
                let m = s / n, mu = x0 + m
                sums[i] = n * x0 + s
                sums[c + i] = (q - n * m * m) + n * mu * mu
            }
        }
        sums[2 * c] = Double(rows)
        reducer.allSum(sums, count: 2 * c + 1)
        let total = sums[2 * c]
        guard total > 0 else { return total }
        for i in 0..<c {
            let mu = sums[i] / total, v = sums[c + i] / total - mu * mu
            mean.data[i] = Float(mu)
            variance.data[i] = Float(v > 0 ? v : 0)
        }
        return total
    }

    /// Backward with global statistics: this process's Σg and Σg·x̂ are its dbeta and dgamma; their totals over
    /// all processes give dx. (The parameter gradients are averaged later with every other gradient.)
    fileprivate static func synchronizedBackward(_ x: Tensor, _ g: Tensor, rows: Int, channels c: Int, mean: Tensor,
                                                 variance: Tensor, eps: Float, gamma: Tensor?, beta: Tensor?,
                                                 activation: Activation, reducer: CrossProcessReducer,
                                                 dx: Tensor?, dgamma: Tensor, dbeta: Tensor) {
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: 2 * c + 1)
        defer { sums.deallocate() }
        clas_bn_backward_sums(x.data, g.data, Int64(rows), Int64(c), mean.data, variance.data, eps, gamma?.data,
                              beta?.data, activation.rawValue, sums)
        for i in 0..<c {
            dbeta.data[i] = Float(sums[i])
            dgamma.data[i] = Float(sums[c + i])
        }
        sums[2 * c] = Double(rows)
        reducer.allSum(sums, count: 2 * c + 1)
        if let dx {
            clas_bn_backward_dx(x.data, g.data, Int64(rows), Int64(c), mean.data, variance.data, eps, gamma?.data,
                                beta?.data, activation.rawValue, sums, sums[2 * c], dx.data)
        }
    }
}
