/// Dropout and stochastic depth.
extension Tensor {
    /// Zeroes each element with probability `p` and scales the rest by 1/(1−p) (inverted dropout).
    public func dropout(_ p: Float, using rng: inout RandomState) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability \(p) must be in [0, 1)")
        if p == 0 { return self }
        let mask = Tensor(uninitializedShape: shape)
        let scale = 1 / (1 - p)
        for i in 0..<count { mask.data[i] = rng.uniform() < p ? 0 : scale }
        return self * mask.detached()
    }

    /// Stochastic depth: drops the whole residual branch of each sample with probability `p` (first dimension =
    /// batch) and scales survivors by 1/(1−p), as timm's `drop_path`.
    public func dropPath(_ p: Float, using rng: inout RandomState) -> Tensor {
        precondition(p >= 0 && p < 1, "drop path probability \(p) must be in [0, 1)")
        if p == 0 { return self }
        var maskShape = [Int](repeating: 1, count: rank)
        maskShape[0] = shape[0]
        let mask = Tensor(uninitializedShape: maskShape)
        for i in 0..<shape[0] { mask.data[i] = rng.uniform() < p ? 0 : 1 / (1 - p) }
        return self * mask
    }
}
