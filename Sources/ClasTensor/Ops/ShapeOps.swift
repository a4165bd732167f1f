import ClasKernels

/// Reshape, flatten, permute and concatenate.
extension Tensor {
    /// Same storage, new shape (no graph).
    func reshapedData(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, storage: storage) }

    /// The same elements in a new shape (one dimension may be -1 and is inferred). Shares storage.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let i = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[i] = count / known
        }
        precondition(Tensor.count(of: resolved) == count, "cannot reshape \(shape) to \(newShape)")
        let out = reshapedData(resolved)
        OpTrace.record(.reshape(resolved), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        let original = shape
        return out.record("reshape", [self]) { g in [g.reshapedData(original)] }
    }

    /// Keeps dimensions before `startAxis` and flattens the rest into one.
    public func flattened(from startAxis: Int = 1) -> Tensor {
        reshaped(Array(shape[..<startAxis]) + [Tensor.count(of: Array(shape[startAxis...]))])
    }

    /// Dimensions reordered: result dimension i is input dimension `perm[i]`.
    public func permuted(_ perm: [Int]) -> Tensor {
        precondition(perm.sorted() == Array(0..<rank), "permutation \(perm) for rank \(rank)")
        precondition(rank <= 8, "permute supports rank ≤ 8")
        let out = Tensor(uninitializedShape: perm.map { shape[$0] })
        let shape64 = shape.map(Int64.init), perm64 = perm.map(Int64.init)
        clas_permute(data, out.data, Int32(rank), shape64, perm64)
        OpTrace.record(.permute(perm), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        var inverse = [Int](repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        return out.record("permute", [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps the last two dimensions of a rank-2 tensor.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed() expects a matrix, got \(shape)")
        return permuted([1, 0])
    }

    /// Concatenates tensors along `axis`; the other dimensions must agree.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat of no tensors")
        let rank = tensors[0].rank
        let axis = axis < 0 ? axis + rank : axis
        for t in tensors {
            precondition(t.rank == rank && (0..<rank).allSatisfy { $0 == axis || t.shape[$0] == tensors[0].shape[$0] },
                         "concat shapes \(tensors.map(\.shape)) along axis \(axis)")
        }
        var shape = tensors[0].shape
        shape[axis] = tensors.map { $0.shape[axis] }.reduce(0, +)
        let out = Tensor(uninitializedShape: shape)
        let outer = Tensor.count(of: Array(shape[..<axis]))
        let inner = Tensor.count(of: Array(shape[(axis + 1)...]))
        let rowOut = shape[axis] * inner
        var offset = 0
        for t in tensors {
            let rowIn = t.shape[axis] * inner
            for o in 0..<outer { (out.data + o * rowOut + offset).update(from: t.data + o * rowIn, count: rowIn) }
            offset += rowIn
        }
        OpTrace.record(.concat(axis: axis), tensors, out)
        guard needsGrad(tensors) else { return out }
        let sizes = tensors.map { $0.shape }
        return out.record("concat", tensors) { g in
            var result: [Tensor?] = []
            var off = 0
            for s in sizes {
                let rowIn = s[axis] * inner
                let piece = Tensor(uninitializedShape: s)
                for o in 0..<outer { (piece.data + o * rowIn).update(from: g.data + o * rowOut + off, count: rowIn) }
                off += rowIn
                result.append(piece)
            }
            return result
        }
    }

    /// Elements [start, start+length) along `axis`, as a new tensor.
    public func narrowed(axis: Int, start: Int, length: Int) -> Tensor {
        let axis = axis < 0 ? axis + rank : axis
        precondition(start >= 0 && length >= 0 && start + length <= shape[axis], "narrow \(start)+\(length) of \(shape)")
        var outShape = shape
        outShape[axis] = length
        let out = Tensor(uninitializedShape: outShape)
        let outer = Tensor.count(of: Array(shape[..<axis]))
        let inner = Tensor.count(of: Array(shape[(axis + 1)...]))
        for o in 0..<outer {
            (out.data + o * length * inner).update(from: data + (o * shape[axis] + start) * inner, count: length * inner)
        }
        OpTrace.record(.narrow(axis: axis, start: start, length: length), [self], out)
        guard Tensor.needsGrad(self) else { return out }
        let full = shape
        return out.record("narrow", [self]) { g in
            let r = Tensor.zeros(full)
            for o in 0..<outer {
                (r.data + (o * full[axis] + start) * inner).update(from: g.data + o * length * inner, count: length * inner)
            }
            return [r]
        }
    }

    static func needsGrad(_ tensors: [Tensor]) -> Bool {
        GradMode.isEnabled && tensors.contains { $0.requiresGrad }
    }
}
