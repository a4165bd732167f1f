import ClasTensor

/// Batch normalisation over channels (the last dimension), optionally fused with an activation as timm's
/// `BatchNormAct2d`: `weight`, `bias`, and the buffers `running_mean`, `running_var`.
public final class BatchNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let runningMean: Tensor
    public let runningVar: Tensor
    /// PyTorch convention: running = (1 − momentum)·running + momentum·batch.
    public var momentum: Float
    public var eps: Float
    /// Applied after normalisation in the same pass.
    public var activation: Activation
    /// When true, always normalises with the running statistics and never updates them (frozen BN for fine-tuning).
    public var useRunningStatistics = false
    /// Makes the training statistics global across processes (SyncBN, `Arch.use_sync_bn`); nil keeps them local.
    public var statisticsReducer: CrossProcessReducer?

    public override class var bufferNames: Set<String> { ["running_mean", "running_var"] }

    public init(_ channels: Int, eps: Float = 1e-5, momentum: Float = 0.1, activation: Activation = .none) {
        weight = Tensor.ones([channels], requiresGrad: true)
        bias = Tensor.zeros([channels], requiresGrad: true)
        runningMean = Tensor.zeros([channels])
        runningVar = Tensor.ones([channels])
        self.eps = eps
        self.momentum = momentum
        self.activation = activation
        super.init()
    }

    public var channels: Int { weight.count }

    public override func forward(_ x: Tensor) -> Tensor {
        Tensor.batchNorm(x, gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar,
                         training: isTraining && !useRunningStatistics, momentum: momentum, eps: eps,
                         activation: activation, reducer: statisticsReducer)
    }

    /// Per-channel (scale, shift) of the evaluation-mode affine map y = x·scale + shift (for folding into a conv).
    public func foldedScaleShift() -> (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            scale[c] = weight.data[c] / (runningVar.data[c] + eps).squareRoot()
            shift[c] = bias.data[c] - runningMean.data[c] * scale[c]
        }
        return (scale, shift)
    }
}
