import ClasKernels

/// Softmax and log-softmax over the last dimension.
extension Tensor {
    /// Softmax over the last dimension.
    public func softmax() -> Tensor { softmaxImpl(log: false) }

    /// Log-softmax over the last dimension (numerically stable).
    public func logSoftmax() -> Tensor { softmaxImpl(log: true) }

    private func softmaxImpl(log: Bool) -> Tensor {
        let cols = shape.last ?? 1, rows = count / Swift.max(cols, 1)
        let out = Tensor(uninitializedShape: shape)
        clas_softmax_rows(data, out.data, Int64(rows), Int64(cols), log)
        OpTrace.record(.softmax(log: log), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        let y = out.detached()
        return out.record(log ? "log_softmax" : "softmax", [self]) { g in
            let dx = Tensor(uninitializedShape: y.shape)
            clas_softmax_rows_backward(y.data, g.data, dx.data, Int64(rows), Int64(cols), log)
            return [dx]
        }
    }

    /// L2-normalises along the last dimension: x / max(‖x‖, eps).
    public func l2Normalized(eps: Float = 1e-12) -> Tensor {
        let norm = squared().sum(axes: [-1], keepDims: true).sqrt().clamped(min: eps)
        return self / norm
    }
}
