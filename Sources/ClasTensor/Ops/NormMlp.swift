import ClasKernels

/// The MLP branch of pre-norm transformer blocks and ConvNeXt blocks as one graph node.
extension Tensor {
    /// Layer normalisation of a normMlp branch: γ and β (both or neither) and ε.
    public struct NormParameters {
        public var weight: Tensor?
        public var bias: Tensor?
        public var eps: Float
        public init(weight: Tensor?, bias: Tensor?, eps: Float) { (self.weight, self.bias, self.eps) = (weight, bias, eps) }
    }

    /// `scale ⊙ (act(LayerNorm(x)·W1ᵀ + b1)·W2ᵀ + b2)` over the last dimension of `x`, equal to the composition of
    /// ``layerNorm(_:gamma:beta:eps:)``, ``linear(_:weight:bias:)``, ``activated(_:)``, ``linear(_:weight:bias:)``
    /// and `* scale` (each part but fc1 and fc2 optional). Weights are `[out, in]` or 1×1-convolution `[out, 1, 1, in]`.
    ///
    /// What the composition would keep for the backward pass is the normalised input, fc1's output, the activation
    /// and fc2's output (C + 4C + 4C + C floats per row at 4× expansion). This keeps x (which the caller usually
    /// holds anyway), fc1's pre-activation and two floats per row; the normalisation and the activation are
    /// recomputed in the backward pass, and the scale is folded into fc2's weights, its gradient taken from fc2's
    /// weight gradient: dscale_c = Σ_k W2[c,k]·(gᵀ·a)[c,k] + b2_c·Σ_r g[r,c].
    public static func normMlp(_ x: Tensor, norm: NormParameters?, fc1 w1: Tensor, _ b1: Tensor?, fc2 w2: Tensor,
                               _ b2: Tensor?, activation act: Activation, scale: Tensor?) -> Tensor {
        let c = x.shape.last ?? 1, rows = x.count / Swift.max(c, 1), hidden = w1.shape[0]
        precondition(w1.count == hidden * c && w2.shape[0] == c && w2.count == c * hidden
                     && (b1?.count ?? hidden) == hidden && (b2?.count ?? c) == c && (scale?.count ?? c) == c,
                     "normMlp: input \(x.shape), fc1 \(w1.shape), fc2 \(w2.shape)")
        let nw = norm?.weight, nb = norm?.bias
        precondition((nw == nil) == (nb == nil), "normMlp: give both norm weight and bias, or neither")
        let needs = needsGrad(x, nw, nb, w1, b1, w2, b2, scale)
        let (m, k, n) = (Int64(rows), Int64(c), Int64(hidden))
        // fc2's weights and bias with the scale folded in (small: C×4C)
        let w2s: Tensor, b2s: Tensor?
        if let scale {
            w2s = Tensor(uninitializedShape: [c, hidden])
            clas_binary_bcast_mid(Int32(CLAS_BIN_MUL), w2.data, scale.data, w2s.data, Int64(c), Int64(hidden), 1)
            b2s = b2.map { b in
                let t = Tensor(uninitializedShape: [c])
                clas_binary(Int32(CLAS_BIN_MUL), b.data, scale.data, t.data, k)
                return t
            }
        } else {
            (w2s, b2s) = (w2, b2)
        }
        // LayerNorm → fc1 → bias + act → fc2
        let stats = needs && norm != nil ? Tensor(uninitializedShape: [2, rows]) : nil
        let h = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [hidden])
        let out = Tensor(uninitializedShape: x.shape)
        do {
            let xn = norm.map { p in
                let t = Tensor(uninitializedShape: x.shape)
                clas_layernorm_forward(x.data, nw?.data, nb?.data, t.data, stats?.data, stats.map { $0.data + rows },
                                       m, k, p.eps)
                return t
            } ?? x
            clas_sgemm(false, true, m, n, k, 1, xn.data, k, w1.data, k, 0, h.data, n)
        }
        do {
            let a = needs ? Tensor(uninitializedShape: h.shape) : h
            clas_bias_act_forward(act.rawValue, h.data, b1?.data, needs ? a.data : nil, m, n)
            if let b2s { for r in 0..<rows { (out.data + r * c).update(from: b2s.data, count: c) } }
            clas_sgemm(false, true, m, k, n, 1, a.data, n, w2s.data, n, b2s == nil ? 0 : 1, out.data, k)
        }
        guard needs else { return out }
        let slots: [Tensor?] = [x, nw, nb, w1, b1, w2, b2, scale]
        let wants = slots.map { $0?.requiresGrad ?? false }
        let sx = x.detached(), sw1 = w1.detached(), sw2 = w2.detached(), sb2 = b2?.detached()
        let snw = nw?.detached(), snb = nb?.detached(), sscale = scale?.detached(), eps = norm?.eps ?? 0
        return out.record("norm_mlp", slots.compactMap { $0 }) { g in
            var grads = [Tensor?](repeating: nil, count: slots.count)
            // fc2: dA = g·W2s, then dH = dA ⊙ act′(h) with a = act(h) recomputed alongside
            let dh = Tensor(uninitializedShape: h.shape)
            clas_sgemm(false, false, m, n, k, 1, g.data, k, w2s.data, n, 0, dh.data, n)
            do {
                let a = Tensor(uninitializedShape: h.shape)
                clas_act_recompute_backward(act.rawValue, h.data, a.data, dh.data, m * n)
                if wants[5] || wants[7] {  // P = gᵀ·a: fc2's weight gradient before the scale
                    let p = Tensor(uninitializedShape: sw2.shape)
                    clas_sgemm(true, false, k, n, m, 1, g.data, k, a.data, n, 0, p.data, n)
                    grads[5] = p
                }
            }
            let sumG: Tensor? = wants[6] || (wants[7] && sb2 != nil) ? {
                let t = Tensor(uninitializedShape: [c])
                clas_sum_mid(g.data, t.data, 1, m, k, false)
                return t
            }() : nil
            if let sscale, let p = grads[5] {
                if wants[7] {  // Σ_k W2[c,k]·P[c,k] + b2_c·Σ_r g[r,c]
                    let ds = Tensor(uninitializedShape: [c])
                    for i in 0..<c {
                        var s: Float = 0
                        let wr = sw2.data + i * hidden, pr = p.data + i * hidden
                        for j in 0..<hidden { s = s.addingProduct(wr[j], pr[j]) }
                        if let sb2, let sumG { s = s.addingProduct(sb2.data[i], sumG.data[i]) }
                        ds.data[i] = s
                    }
                    grads[7] = ds
                }
                if wants[5] { clas_binary_bcast_mid(Int32(CLAS_BIN_MUL), p.data, sscale.data, p.data, k, n, 1) } else { grads[5] = nil }
            }
            if wants[6], let sumG {
                if let sscale { clas_binary(Int32(CLAS_BIN_MUL), sumG.data, sscale.data, sumG.data, k) }
                grads[6] = sumG
            }
            if wants[4] {
                let t = Tensor(uninitializedShape: [hidden])
                clas_sum_mid(dh.data, t.data, 1, m, n, false)
                grads[4] = t
            }
            // fc1, with the normalised input recomputed
            if wants[3] {
                var xn = sx
                if stats != nil {  // the same kernel and inputs as the forward pass: the same values
                    xn = Tensor(uninitializedShape: sx.shape)
                    clas_layernorm_forward(sx.data, snw?.data, snb?.data, xn.data, nil, nil, m, k, eps)
                }
                let t = Tensor(uninitializedShape: sw1.shape)
                clas_sgemm(true, false, n, k, m, 1, dh.data, n, xn.data, k, 0, t.data, k)
                grads[3] = t
            }
            guard wants[0] || wants[1] || wants[2] else { return Array(zip(slots, grads).filter { $0.0 != nil }.map(\.1)) }
            let dxn = Tensor(uninitializedShape: sx.shape)
            clas_sgemm(false, false, m, k, n, 1, dh.data, n, sw1.data, k, 0, dxn.data, k)
            if let stats {
                let dx = Tensor(uninitializedShape: sx.shape)
                let dnw = wants[1] ? Tensor(uninitializedShape: [c]) : nil, dnb = wants[2] ? Tensor(uninitializedShape: [c]) : nil
                clas_layernorm_backward(sx.data, stats.data, stats.data + rows, snw?.data, dxn.data, dx.data, dnw?.data,
                                        dnb?.data, m, k)
                (grads[0], grads[1], grads[2]) = (dx, dnw, dnb)
            } else {
                grads[0] = dxn
            }
            return Array(zip(slots, grads).filter { $0.0 != nil }.map(\.1))
        }
    }
}
