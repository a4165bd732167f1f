import ClasKernels

/// Matrix products on OpenBLAS.
extension Tensor {
    /// `a · b` for matrices [M, K] · [K, N].
    public static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[0], "matmul \(a.shape) · \(b.shape)")
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        let out = Tensor(uninitializedShape: [m, n])
        clas_sgemm(false, false, Int64(m), Int64(n), Int64(k), 1, a.data, Int64(k), b.data, Int64(n), 0, out.data, Int64(n))
        OpTrace.record(.matmul, [a, b], out)
        guard needsGrad(a, b) else { return out }
        let sa = a.detached(), sb = b.detached(), ra = a.requiresGrad, rb = b.requiresGrad
        return out.record("matmul", [a, b]) { g in
            var ga: Tensor? = nil, gb: Tensor? = nil
            if ra {  // dA = dY · Bᵀ
                ga = Tensor(uninitializedShape: [m, k])
                clas_sgemm(false, true, Int64(m), Int64(k), Int64(n), 1, g.data, Int64(n), sb.data, Int64(n), 0,
                           ga!.data, Int64(k))
            }
            if rb {  // dB = Aᵀ · dY
                gb = Tensor(uninitializedShape: [k, n])
                clas_sgemm(true, false, Int64(k), Int64(n), Int64(m), 1, sa.data, Int64(k), g.data, Int64(n), 0,
                           gb!.data, Int64(n))
            }
            return [ga, gb]
        }
    }

    /// A fully connected layer: `x · wᵀ + bias` with x [..., in], weight [out, in] (PyTorch's layout), bias [out].
    public static func linear(_ x: Tensor, weight w: Tensor, bias: Tensor?) -> Tensor {
        let inF = w.shape[1], outF = w.shape[0]
        precondition(w.rank == 2 && x.shape.last == inF, "linear input \(x.shape) with weight \(w.shape)")
        let rows = x.count / inF
        let outShape = Array(x.shape.dropLast()) + [outF]
        let out = Tensor(uninitializedShape: outShape)
        if let bias {
            for r in 0..<rows { (out.data + r * outF).update(from: bias.data, count: outF) }
        }
        clas_sgemm(false, true, Int64(rows), Int64(outF), Int64(inF), 1, x.data, Int64(inF), w.data, Int64(inF),
                   bias == nil ? 0 : 1, out.data, Int64(outF))
        let inputs = bias.map { [x, w, $0] } ?? [x, w]
        OpTrace.record(.linear, inputs, out)
        guard needsGrad(x, w, bias) else { return out }
        let sx = x.detached(), sw = w.detached(), rx = x.requiresGrad, rw = w.requiresGrad
        let rb = bias?.requiresGrad ?? false
        return out.record("linear", inputs) { g in
            var gx: Tensor? = nil, gw: Tensor? = nil, gb: Tensor? = nil
            if rx {  // dX = dY · W
                let t = Tensor(uninitializedShape: sx.shape)
                clas_sgemm(false, false, Int64(rows), Int64(inF), Int64(outF), 1, g.data, Int64(outF), sw.data,
                           Int64(inF), 0, t.data, Int64(inF))
                gx = t
            }
            if rw {  // dW = dYᵀ · X
                let t = Tensor(uninitializedShape: [outF, inF])
                clas_sgemm(true, false, Int64(outF), Int64(inF), Int64(rows), 1, g.data, Int64(outF), sx.data,
                           Int64(inF), 0, t.data, Int64(inF))
                gw = t
            }
            if rb {
                let t = Tensor(uninitializedShape: [outF])
                clas_sum_mid(g.data, t.data, 1, Int64(rows), Int64(outF), false)
                gb = t
            }
            return bias == nil ? [gx, gw] : [gx, gw, gb]
        }
    }
}
