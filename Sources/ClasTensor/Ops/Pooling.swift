import ClasKernels

/// Max, average and global average pooling over NHWC tensors.
extension Tensor {
    /// Max pooling with a k×k window.
    public static func maxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D = .zero)
        -> Tensor
    {
        let geom = WindowGeometry(input: x.shape, kernel: kernel, stride: stride, padding: padding, dilation: (1, 1))
        let out = Tensor(uninitializedShape: geom.outputShape)
        let record = needsGrad(x)
        var argmax: [Int32] = record ? [Int32](repeating: -1, count: out.count) : []
        withUnsafePointer(to: geom.g) { gp in
            argmax.withUnsafeMutableBufferPointer { am in
                clas_maxpool_forward(gp, x.data, out.data, record ? am.baseAddress : nil)
            }
        }
        OpTrace.record(.maxPool2d(kernel: kernel, stride: stride, padding: padding), [x], out)
        guard record else { return out }
        let inShape = x.shape
        return out.record("max_pool", [x]) { g in
            let dx = Tensor(uninitializedShape: inShape)
            withUnsafePointer(to: geom.g) { gp in
                argmax.withUnsafeBufferPointer { am in clas_maxpool_backward(gp, g.data, am.baseAddress, dx.data) }
            }
            return [dx]
        }
    }

    /// Average pooling with a k×k window.
    public static func avgPool2d(
        _ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding2D = .zero, countIncludePad: Bool = true
    ) -> Tensor {
        let geom = WindowGeometry(input: x.shape, kernel: kernel, stride: stride, padding: padding, dilation: (1, 1))
        let out = Tensor(uninitializedShape: geom.outputShape)
        withUnsafePointer(to: geom.g) { gp in clas_avgpool_forward(gp, x.data, out.data, countIncludePad) }
        OpTrace.record(.avgPool2d(kernel: kernel, stride: stride, padding: padding, countIncludePad: countIncludePad), [x], out)
        guard needsGrad(x) else { return out }
        let inShape = x.shape
        return out.record("avg_pool", [x]) { g in
            let dx = Tensor(uninitializedShape: inShape)
            withUnsafePointer(to: geom.g) { gp in clas_avgpool_backward(gp, g.data, dx.data, countIncludePad) }
            return [dx]
        }
    }

    /// Mean over height and width: [N, H, W, C] → [N, 1, 1, C] (or [N, C] without `keepDims`).
    public static func globalAvgPool(_ x: Tensor, keepDims: Bool = true) -> Tensor {
        precondition(x.rank == 4, "globalAvgPool expects NHWC, got \(x.shape)")
        let (n, s, c) = (x.shape[0], x.shape[1] * x.shape[2], x.shape[3])
        let out = Tensor(uninitializedShape: keepDims ? [n, 1, 1, c] : [n, c])
        clas_sum_mid(x.data, out.data, Int64(n), Int64(s), Int64(c), false)
        clas_affine(out.data, 1 / Float(s), 0, out.data, Int64(out.count))
        OpTrace.record(.globalAvgPool(keepDims: keepDims), [x], out)
        guard needsGrad(x) else { return out }
        let inShape = x.shape
        return out.record("global_avg_pool", [x]) { g in
            let scaled = g.affine(1 / Float(s), 0).reshapedData([n, 1, c])
            return [scaled.expandedData(to: [n, s, c]).reshapedData(inShape)]
        }
    }
}
