import ClasKernels

/// Batched matrix products and fused multi-head self-attention (vision transformers).
extension Tensor {
    /// `op(a) · op(b)` for stacks of matrices `[..., M, K] · [..., K, N]` with equal leading dimensions (e.g.
    /// attention's `[B, heads, N, d] × [B, heads, d, N]`); `transposeA`/`transposeB` use the last two dimensions of
    /// the operand transposed, without copying. One BLAS call per matrix, the matrices split over the threads.
    public static func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false)
        -> Tensor
    {
        precondition(a.rank >= 3 && a.rank == b.rank && a.shape.dropLast(2) == b.shape.dropLast(2),
                     "batched matmul \(a.shape) · \(b.shape)")
        let (ar, ac, br, bc) = (a.shape[a.rank - 2], a.shape[a.rank - 1], b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac), (k2, n) = transposeB ? (bc, br) : (br, bc)
        precondition(k == k2, "batched matmul \(a.shape) · \(b.shape): inner dimensions \(k) and \(k2)")
        let batch = a.count / Swift.max(ar * ac, 1)
        let out = Tensor(uninitializedShape: Array(a.shape.dropLast(2)) + [m, n])
        clas_sgemm_strided_batched(transposeA, transposeB, Int64(batch), Int64(m), Int64(n), Int64(k), 1, a.data,
                                   Int64(ac), Int64(ar * ac), b.data, Int64(bc), Int64(br * bc), 0, out.data, Int64(n),
                                   Int64(m * n))
        OpTrace.record(.batchedMatmul(transposeA: transposeA, transposeB: transposeB), [a, b], out)
        guard needsGrad(a, b) else { return out }
        let sa = a.detached(), sb = b.detached(), ra = a.requiresGrad, rb = b.requiresGrad
        return out.record("batched_matmul", [a, b]) { g in
            // Y = A·B: dA = dY·Bᵀ, dB = Aᵀ·dY; with stored transposes the same products in the stored orientation.
            let ga = ra ? GradMode.withoutGrad {
                transposeA ? batchedMatmul(sb, g, transposeA: transposeB, transposeB: true)
                    : batchedMatmul(g, sb, transposeA: false, transposeB: !transposeB)
            } : nil
            let gb = rb ? GradMode.withoutGrad {
                transposeB ? batchedMatmul(g, sa, transposeA: true, transposeB: transposeA)
                    : batchedMatmul(sa, g, transposeA: !transposeA, transposeB: false)
            } : nil
            return [ga, gb]
        }
    }

    /// Multi-head self-attention on packed projections, as timm's `Attention` after its `qkv` linear layer:
    /// `qkv` is `[B, N, 3·C]` (q, k, v, each `heads` heads of `C/heads` features), the result `[B, N, C]` holds
    /// `softmax(scale·Q·Kᵀ + bias)·V` per head, heads side by side (ready for `proj`).
    ///
    /// One fused operation: no `[B, heads, N, d]` copies are made, and the backward keeps only `qkv` and one
    /// log-sum-exp per score row, recomputing the `N × N` probabilities per head (memory O(B·N·C), not
    /// O(B·heads·N²)); under ``MixedPrecision`` it keeps qkv's bfloat16 rounding, all its products read. `bias`
    /// (optional, e.g. Swin's relative-position bias plus its shift mask) is `[G, heads, N, N]`: sample b adds group b mod G (G divides B); it receives a gradient.
    ///
    /// `dropout` > 0 zeroes each probability with that chance and scales the others by 1/(1 − p) (timm's
    /// `attn_drop`; pass it in training only). The mask is a pure function of `seed` and the element's position
    /// (``attentionDropoutMask(count:first:seed:p:)``): the backward regenerates it, so dropout stores nothing.
    public static func multiHeadAttention(_ qkv: Tensor, heads: Int, scale: Float? = nil, bias: Tensor? = nil,
                                          dropout: Float = 0, seed: UInt64 = 0) -> Tensor
    {
        precondition(dropout >= 0 && dropout < 1, "attention dropout \(dropout) must be in [0, 1)")
        precondition(qkv.rank == 3 && qkv.shape[2] % (3 * heads) == 0, "attention: qkv \(qkv.shape), \(heads) heads")
        let (batch, n, c) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
        let d = c / heads, s = scale ?? 1 / Float(d).squareRoot()
        let groups = bias?.shape[0] ?? 1
        if let bias {
            precondition(bias.shape == [groups, heads, n, n] && batch % groups == 0,
                         "attention bias \(bias.shape) for \(batch) samples, \(heads) heads, \(n) tokens")
        }
        let out = Tensor(uninitializedShape: [batch, n, c])
        let needs = needsGrad(qkv, bias)
        let lse = needs ? Tensor(uninitializedShape: [batch, heads, n]) : nil
        // Under AMP, when every product reads only qkv's bfloat16 rounding, keep just that (half the memory, the
        // same gradients bit for bit).
        let kept = needs && clas_bf16_routes(Int64(n), Int64(n), Int64(d))
            ? KeptActivation(count: qkv.count, bfloat16: true) : nil
        clas_attention_forward(qkv.data, bias?.data, Int64(groups), out.data, lse?.data, kept?.bfloat16, Int64(batch),
                               Int64(n), Int64(heads), Int64(d), s, dropout, seed)
        let inputs = bias.map { [qkv, $0] } ?? [qkv]
        OpTrace.record(.attention(heads: heads, scale: s), inputs, out)
        guard needs, let lse else { return out }
        let sq = kept == nil ? qkv.detached() : nil, sbias = bias?.detached(), rb = bias?.requiresGrad ?? false
        let qkvShape = qkv.shape
        return out.record("attention", inputs) { g in
            let dqkv = Tensor(uninitializedShape: qkvShape)
            let dscores = rb ? Tensor(uninitializedShape: [batch, heads, n, n]) : nil
            clas_attention_backward(sq?.data, kept?.bfloat16, sbias?.data, Int64(groups), lse.data, g.data, dqkv.data,
                                    dscores?.data, Int64(batch), Int64(n), Int64(heads), Int64(d), s, dropout, seed)
            guard let dscores else { return [dqkv] }
            let dbias = Tensor(uninitializedShape: [groups, heads, n, n])
            clas_sum_mid(dscores.data, dbias.data, 1, Int64(batch / groups), Int64(groups * heads * n * n), false)
            return [dqkv, dbias]
        }
    }

    /// The attention-dropout multipliers (0 or 1/(1 − p)) that ``multiHeadAttention(_:heads:scale:bias:dropout:seed:)``
    /// applies to `count` consecutive probabilities from flat index `first` of its `[B, heads, N, N]` scores.
    public static func attentionDropoutMask(count: Int, first: Int = 0, seed: UInt64, p: Float) -> [Float] {
        var mask = [Float](repeating: 0, count: count)
        mask.withUnsafeMutableBufferPointer { clas_attention_dropout_mask($0.baseAddress, Int64(count), UInt64(first), seed, p) }
        return mask
    }
}
