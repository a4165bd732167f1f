import ClasKernels

/// Sums and means over all elements or over axes.
extension Tensor {
    /// Sum of all elements (rank-0 result).
    public func sum() -> Tensor {
        let out = Tensor(Float(clas_sum_all(data, Int64(count))))
        OpTrace.record(.sum(axes: nil, keepDims: false), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        let shape = self.shape
        return out.record("sum", [self]) { g in [Tensor(shape: shape, repeating: g.item)] }
    }

    /// Mean of all elements (rank-0 result).
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Sum over `axes` (negative axes count from the end), keeping them as size-1 dimensions when `keepDims`.
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let axesSet = Set(axes.map { $0 < 0 ? $0 + rank : $0 })
        precondition(axesSet.allSatisfy { $0 >= 0 && $0 < rank }, "axes \(axes) out of range for shape \(shape)")
        var kept = shape
        for a in axesSet { kept[a] = 1 }
        let out = sumData(keptShape: kept)
        let final = keepDims ? out : out.reshapedData(shape.enumerated().filter { !axesSet.contains($0.offset) }.map(\.element))
        OpTrace.record(.sum(axes: axesSet.sorted(), keepDims: keepDims), [self], final)
        guard Tensor.needsGrad(self) else { return final }
        let shape = self.shape
        return final.record("sum_axes", [self]) { g in [g.reshapedData(kept).expandedData(to: shape)] }
    }

    /// Mean over `axes`.
    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let n = axes.map { shape[$0 < 0 ? $0 + rank : $0] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Sums this (broadcast) gradient down to `target`, the shape it was broadcast from (no graph).
    func summed(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let padded = [Int](repeating: 1, count: rank - target.count) + target
        return sumData(keptShape: padded).reshapedData(target)
    }

    /// Sum over every dimension where `keptShape` is 1 and self is not (no graph).
    func sumData(keptShape: [Int]) -> Tensor {
        precondition(keptShape.count == rank)
        if keptShape == shape { return self }
        if let (o, m, i) = Tensor.midBroadcast(full: shape, small: keptShape) {
            let out = Tensor(uninitializedShape: keptShape)
            clas_sum_mid(data, out.data, Int64(o), Int64(m), Int64(i), false)
            return out
        }
        // Reduce one axis at a time, innermost first.
        var current = self
        for axis in stride(from: rank - 1, through: 0, by: -1) where keptShape[axis] == 1 && shape[axis] != 1 {
            var next = current.shape
            next[axis] = 1
            let out = Tensor(uninitializedShape: next)
            let outer = Tensor.count(of: Array(current.shape[..<axis]))
            let inner = Tensor.count(of: Array(current.shape[(axis + 1)...]))
            clas_sum_mid(current.data, out.data, Int64(outer), Int64(current.shape[axis]), Int64(inner), false)
            current = out
        }
        return current
    }
}
