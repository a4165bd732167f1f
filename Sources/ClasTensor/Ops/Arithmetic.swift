import ClasKernels

/// Elementwise binary operations with NumPy broadcasting, and scalar arithmetic.
public enum BinaryOp: Int32 {
    case add = 0, sub = 1, mul = 2, div = 3
}

extension Tensor {
    /// The broadcast of two shapes (NumPy rules), or nil when they are incompatible.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard da == db || da == 1 || db == 1 else { return nil }
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// If `small` broadcast to `full` repeats over one contiguous run of dimensions, its (outer, mid, inner) split.
    static func midBroadcast(full: [Int], small: [Int]) -> (outer: Int, mid: Int, inner: Int)? {
        let padded = [Int](repeating: 1, count: full.count - small.count) + small
        var first = -1, last = -1
        for i in 0..<full.count where padded[i] != full[i] {
            if first < 0 { first = i }
            last = i
        }
        if first < 0 { return (1, 1, Tensor.count(of: full)) }
        for i in first...last where padded[i] != 1 { return nil }
        return (Tensor.count(of: Array(full[..<first])), Tensor.count(of: Array(full[first...last])),
                Tensor.count(of: Array(full[(last + 1)...])))
    }

    /// This tensor broadcast to `shape` and materialised (no graph).
    func expandedData(to shape: [Int]) -> Tensor {
        if self.shape == shape { return self }
        let out = Tensor(uninitializedShape: shape)
        if let (outer, mid, inner) = Tensor.midBroadcast(full: shape, small: self.shape) {
            // Repeat each outer row `mid` times.
            let src = data, dst = out.data
            for o in 0..<outer {
                for m in 0..<mid { (dst + (o * mid + m) * inner).update(from: src + o * inner, count: inner) }
            }
            return out
        }
        let rank = shape.count
        let padded = [Int](repeating: 1, count: rank - self.shape.count) + self.shape
        var strides = [Int](repeating: 0, count: rank)
        var s = 1
        for i in stride(from: rank - 1, through: 0, by: -1) {
            strides[i] = padded[i] == 1 ? 0 : s
            s *= padded[i]
        }
        var index = [Int](repeating: 0, count: rank)
        let src = data, dst = out.data
        for o in 0..<out.count {
            var offset = 0
            for d in 0..<rank { offset += index[d] * strides[d] }
            dst[o] = src[offset]
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// Raw broadcast binary op (no graph).
    static func binaryData(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let shape = broadcastShape(a.shape, b.shape) else {
            preconditionFailure("cannot broadcast \(a.shape) with \(b.shape)")
        }
        let out = Tensor(uninitializedShape: shape)
        if a.shape == shape, b.shape == shape {
            clas_binary(op.rawValue, a.data, b.data, out.data, Int64(out.count))
        } else if a.shape == shape, let (o, m, i) = midBroadcast(full: shape, small: b.shape), i > 1 {
            clas_binary_bcast_mid(op.rawValue, a.data, b.data, out.data, Int64(o), Int64(m), Int64(i))
        } else if b.count == 1, a.shape == shape {
            let v = b.data[0]
            switch op {
            case .add: clas_affine(a.data, 1, v, out.data, Int64(out.count))
            case .sub: clas_affine(a.data, 1, -v, out.data, Int64(out.count))
            case .mul: clas_affine(a.data, v, 0, out.data, Int64(out.count))
            case .div: clas_affine(a.data, 1 / v, 0, out.data, Int64(out.count))
            }
        } else {
            let ea = a.expandedData(to: shape), eb = b.expandedData(to: shape)
            clas_binary(op.rawValue, ea.data, eb.data, out.data, Int64(out.count))
        }
        return out
    }

    /// Elementwise sum without recording a graph (gradient accumulation).
    func adding(_ other: Tensor) -> Tensor { Tensor.binaryData(.add, self, other) }

    /// Broadcast binary operation with its gradient.
    public static func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
        let out = Profiler.measure("\(op) forward") { binaryData(op, a, b) }
        OpTrace.record(.binary(op), [a, b], out)
        guard needsGrad(a, b) else { return out }
        let aShape = a.shape, bShape = b.shape
        switch op {
        case .add:
            return out.record("add", [a, b]) { g in [g.summed(to: aShape), g.summed(to: bShape)] }
        case .sub:
            return out.record("sub", [a, b]) { g in [g.summed(to: aShape), (-g).summed(to: bShape)] }
        case .mul:
            let sa = a.detached(), sb = b.detached()
            let ra = a.requiresGrad, rb = b.requiresGrad
            return out.record("mul", [a, b]) { g in
                [ra ? binaryData(.mul, g, sb).summed(to: aShape) : nil,
                 rb ? binaryData(.mul, g, sa).summed(to: bShape) : nil]
            }
        case .div:
            let sa = a.detached(), sb = b.detached()
            let ra = a.requiresGrad, rb = b.requiresGrad
            return out.record("div", [a, b]) { g in
                let ga = ra ? binaryData(.div, g, sb) : nil
                var gb: Tensor? = nil
                if rb {
                    // d(a/b)/db = -a/b²
                    let q = binaryData(.div, binaryData(.mul, g, sa), binaryData(.mul, sb, sb))
                    gb = (-q).summed(to: bShape)
                }
                return [ga?.summed(to: aShape), gb]
            }
        }
    }

    /// `self * alpha + beta` elementwise.
    public func affine(_ alpha: Float, _ beta: Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        Profiler.measure("affine forward") { clas_affine(data, alpha, beta, out.data, Int64(count)) }
        OpTrace.record(.affine(alpha: alpha, beta: beta), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        return out.record("affine", [self]) { g in [g.affine(alpha, 0)] }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(.add, a, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(.sub, a, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(.mul, a, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(.div, a, b) }
    public static func + (a: Tensor, b: Float) -> Tensor { a.affine(1, b) }
    public static func - (a: Tensor, b: Float) -> Tensor { a.affine(1, -b) }
    public static func * (a: Tensor, b: Float) -> Tensor { a.affine(b, 0) }
    public static func / (a: Tensor, b: Float) -> Tensor { a.affine(1 / b, 0) }
    public static func + (a: Float, b: Tensor) -> Tensor { b.affine(1, a) }
    public static func - (a: Float, b: Tensor) -> Tensor { b.affine(-1, a) }
    public static func * (a: Float, b: Tensor) -> Tensor { b.affine(a, 0) }
    public static prefix func - (a: Tensor) -> Tensor { a.affine(-1, 0) }
}
