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
    /// recomputed in the backward pass (`mlp.c`, in row tiles that stay in cache), and the scale is folded into fc2's
    /// weights, its gradient taken from fc2's weight gradient: dscale_c = Σ_k W2[c,k]·(gᵀ·a)[c,k] + b2_c·Σ_r g[r,c].
    /// Under ``MixedPrecision`` the pre-activation is kept in bfloat16 (the largest thing a transformer block keeps,
    /// halved; PyTorch's autocast keeps fc1's output in bf16 too).
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
            clas_binary_bcast_mid(Int32(CLAS_BIN_MUL), w2.data, scale.data, w2s.data, k, n, 1)
            b2s = b2.map { b in
                let t = Tensor(uninitializedShape: [c])
                clas_binary(Int32(CLAS_BIN_MUL), b.data, scale.data, t.data, k)
                return t
            }
        } else {
            (w2s, b2s) = (w2, b2)
        }
        let stats = needs && norm != nil ? Tensor(uninitializedShape: [2, rows]) : nil
        let kept = needs ? KeptActivation(count: rows * hidden, bfloat16: MixedPrecision.isEnabled) : nil
        let out = Tensor(uninitializedShape: x.shape)
        clas_norm_mlp_forward(act.rawValue, x.data, m, k, n, norm != nil, nw?.data, nb?.data, norm?.eps ?? 0, w1.data,
                              b1?.data, w2s.data, b2s?.data, kept?.float, kept?.bfloat16, stats?.data,
                              stats.map { $0.data + rows }, out.data)
        guard needs, let kept else { return out }
        let slots: [Tensor?] = [x, nw, nb, w1, b1, w2, b2, scale]
        let wants = slots.map { $0?.requiresGrad ?? false }
        let sx = x.detached(), sw1 = w1.detached(), sw2 = w2.detached(), sb2 = b2?.detached()
        let snw = nw?.detached(), snb = nb?.detached(), sscale = scale?.detached()
        return out.record("norm_mlp", slots.compactMap { $0 }) { g in
            let dx = Tensor(uninitializedShape: sx.shape), p = Tensor(uninitializedShape: sw2.shape)
            let dw1 = Tensor(uninitializedShape: sw1.shape), db1 = Tensor(uninitializedShape: [hidden])
            let sumG = Tensor(uninitializedShape: [c])
            let dnw = wants[1] ? Tensor(uninitializedShape: [c]) : nil, dnb = wants[2] ? Tensor(uninitializedShape: [c]) : nil
            clas_norm_mlp_backward(act.rawValue, sx.data, m, k, n, stats != nil, snw?.data, snb?.data, stats?.data,
                                   stats.map { $0.data + rows }, sw1.data, w2s.data, kept.float, kept.bfloat16, g.data,
                                   dx.data, p.data, dw1.data, db1.data, sumG.data, dnw?.data, dnb?.data)
            var grads: [Tensor?] = [dx, dnw, dnb, dw1, db1, nil, nil, nil]
            if let sscale {  // p is W2's gradient before the scale: dW2 = scale ⊙ p, db2 = scale ⊙ Σg
                if wants[7] {  // dscale_c = Σ_k W2[c,k]·p[c,k] + b2_c·Σ_r g[r,c]
                    let ds = Tensor(uninitializedShape: [c])
                    for i in 0..<c {
                        var s: Float = 0
                        let wr = sw2.data + i * hidden, pr = p.data + i * hidden
                        for j in 0..<hidden { s = s.addingProduct(wr[j], pr[j]) }
                        if let sb2 { s = s.addingProduct(sb2.data[i], sumG.data[i]) }
                        ds.data[i] = s
                    }
                    grads[7] = ds
                }
                clas_binary_bcast_mid(Int32(CLAS_BIN_MUL), p.data, sscale.data, p.data, k, n, 1)
                clas_binary(Int32(CLAS_BIN_MUL), sumG.data, sscale.data, sumG.data, k)
            }
            (grads[5], grads[6]) = (p, sumG)
            return zip(slots, zip(grads, wants)).filter { $0.0 != nil }.map { $0.1.1 ? $0.1.0 : nil }
        }
    }
}
