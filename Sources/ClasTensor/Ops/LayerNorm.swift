import ClasKernels

/// Layer normalisation over the last dimension.
extension Tensor {
    /// `(x − mean) / √(var + eps) · γ + β` over the last dimension of `x` (biased variance), as PyTorch's
    /// `F.layer_norm(x, [C])`. On an NHWC map this is the channels-last normalisation of ConvNeXt (timm's
    /// `LayerNorm2d`). `gamma` and `beta` are `[C]`, both given or both nil.
    ///
    /// The backward keeps `x` and two floats per row (mean, 1/σ), and recomputes x̂.
    public static func layerNorm(_ x: Tensor, gamma: Tensor?, beta: Tensor?, eps: Float = 1e-5) -> Tensor {
        let c = x.shape.last ?? 1, rows = x.count / Swift.max(c, 1)
        precondition((gamma == nil) == (beta == nil), "layer norm: give both gamma and beta, or neither")
        precondition(gamma.map { $0.count == c } ?? true && beta.map { $0.count == c } ?? true,
                     "layer norm over \(c) features with gamma \(gamma?.shape ?? []) and beta \(beta?.shape ?? [])")
        let out = Tensor(uninitializedShape: x.shape)
        let needs = needsGrad(x, gamma, beta)
        let stats = needs ? Tensor(uninitializedShape: [2, rows]) : nil
        clas_layernorm_forward(x.data, gamma?.data, beta?.data, out.data, stats?.data, stats.map { $0.data + rows },
                               Int64(rows), Int64(c), eps)
        let inputs = gamma.map { [x, $0, beta!] } ?? [x]
        OpTrace.record(.layerNorm(eps: eps), inputs, out)
        guard needs, let stats else { return out }
        let sx = x.detached(), sg = gamma?.detached()
        let rg = gamma?.requiresGrad ?? false, rb = beta?.requiresGrad ?? false
        return out.record("layer_norm", inputs) { g in
            let dx = Tensor(uninitializedShape: sx.shape)
            let dgamma = rg ? Tensor(uninitializedShape: [c]) : nil, dbeta = rb ? Tensor(uninitializedShape: [c]) : nil
            clas_layernorm_backward(sx.data, stats.data, stats.data + rows, sg?.data, g.data, dx.data, dgamma?.data,
                                    dbeta?.data, Int64(rows), Int64(c))
            guard sg != nil else { return [dx] }
            return [dx, dgamma, dbeta]
        }
    }
}
