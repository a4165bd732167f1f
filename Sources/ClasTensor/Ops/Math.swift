import ClasKernels

/// Elementwise unary functions.
extension Tensor {
    private func unaryData(_ fn: Int32) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        clas_unary(fn, data, out.data, Int64(count))
        return out
    }

    /// e^x.
    public func exp() -> Tensor {
        let out = unaryData(Int32(CLAS_UN_EXP))
        OpTrace.record(.unary(.exp), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        let y = out.detached()
        return out.record("exp", [self]) { g in [Tensor.binaryData(.mul, g, y)] }
    }

    /// Natural logarithm.
    public func log() -> Tensor {
        let out = unaryData(Int32(CLAS_UN_LOG))
        OpTrace.record(.unary(.log), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        let x = detached()
        return out.record("log", [self]) { g in [Tensor.binaryData(.div, g, x)] }
    }

    /// Square root.
    public func sqrt() -> Tensor {
        let out = unaryData(Int32(CLAS_UN_SQRT))
        OpTrace.record(.unary(.sqrt), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        let y = out.detached()
        return out.record("sqrt", [self]) { g in [Tensor.binaryData(.div, g, y).affine(0.5, 0)] }
    }

    /// x².
    public func squared() -> Tensor {
        let out = unaryData(Int32(CLAS_UN_SQUARE))
        OpTrace.record(.unary(.square), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        let x = detached()
        return out.record("square", [self]) { g in [Tensor.binaryData(.mul, g, x).affine(2, 0)] }
    }

    /// |x| (gradient sign(x), 0 at 0).
    public func abs() -> Tensor {
        let out = unaryData(Int32(CLAS_UN_ABS))
        OpTrace.record(.unary(.abs), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        let x = detached()
        return out.record("abs", [self]) { g in
            let s = Tensor(uninitializedShape: x.shape)
            for i in 0..<x.count { s.data[i] = x.data[i] > 0 ? 1 : (x.data[i] < 0 ? -1 : 0) }
            return [Tensor.binaryData(.mul, g, s)]
        }
    }

    /// Elementwise maximum with a constant (gradient passes where x ≥ bound).
    public func clamped(min lower: Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        for i in 0..<count { out.data[i] = Swift.max(data[i], lower) }
        OpTrace.record(.clampMin(lower), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        let x = detached()
        return out.record("clamp_min", [self]) { g in
            let r = Tensor(uninitializedShape: g.shape)
            for i in 0..<g.count { r.data[i] = x.data[i] >= lower ? g.data[i] : 0 }
            return [r]
        }
    }
}
