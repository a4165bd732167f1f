/// The shape operations of windowed attention (Swin): cyclic shift, window partition and reverse, zero padding of the
/// spatial dimensions, and the row gather that turns a relative-position-bias table into per-pair biases.
///
/// All except the gather are compositions of traced operations (`narrow`, `concat`, `reshape`, `permute`), so their
/// gradients and their ONNX export (`Slice`, `Concat`, `Reshape`, `Transpose`) come from those; the gather has its
/// own backward (a scatter-add) and is recorded for export as the product of a constant one-hot matrix and the table.
extension Tensor {
    /// `torch.roll`: elements shifted by `shifts[i]` along `axes[i]`, wrapping around (positive shifts move elements
    /// to higher indices).
    public func rolled(_ shifts: [Int], axes: [Int]) -> Tensor {
        precondition(shifts.count == axes.count, "roll: \(shifts.count) shifts for \(axes.count) axes")
        var out = self
        for (shift, a) in zip(shifts, axes) {
            let axis = a < 0 ? a + rank : a
            let n = shape[axis]
            let s = ((shift % n) + n) % n
            guard s != 0 else { continue }
            out = Tensor.concat([out.narrowed(axis: axis, start: n - s, length: s),
                                 out.narrowed(axis: axis, start: 0, length: n - s)], axis: axis)
        }
        return out
    }

    /// [B, H, W, C] zero-padded at the bottom and right to `height` × `width`. The zeros are a row and a column of
    /// the input times 0, so the padding is traced like every other operation (export at any input size).
    public func paddedSpatially(toHeight height: Int, width: Int) -> Tensor {
        precondition(rank == 4 && height >= shape[1] && width >= shape[2], "pad \(shape) to \(height)×\(width)")
        var out = self
        for (axis, size) in [(2, width), (1, height)] where size > out.shape[axis] {
            let zero = out.narrowed(axis: axis, start: 0, length: 1) * 0
            out = Tensor.concat([out] + Array(repeating: zero, count: size - out.shape[axis]), axis: axis)
        }
        return out
    }

    /// [B, H, W, C] → [B·(H/wh)·(W/ww), wh·ww, C]: non-overlapping windows, row-major over the windows and over the
    /// positions inside each (timm's `window_partition` followed by the flattening of each window).
    public func windowPartitioned(_ wh: Int, _ ww: Int) -> Tensor {
        let (b, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        precondition(rank == 4 && h % wh == 0 && w % ww == 0, "window partition of \(shape) into \(wh)×\(ww)")
        return reshaped([b, h / wh, wh, w / ww, ww, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([-1, wh * ww, c])
    }

    /// The inverse of ``windowPartitioned(_:_:)``: [B·(H/wh)·(W/ww), wh·ww, C] → [B, H, W, C].
    public func windowsReversed(_ wh: Int, _ ww: Int, height h: Int, width w: Int) -> Tensor {
        let c = shape[rank - 1]
        precondition(h % wh == 0 && w % ww == 0 && count % (h * w * c) == 0, "window reverse of \(shape) to \(h)×\(w)")
        return reshaped([-1, h / wh, w / ww, wh, ww, c]).permuted([0, 1, 3, 2, 4, 5]).reshaped([-1, h, w, c])
    }

    /// Rows of a matrix by index: `out[i, :] = self[indices[i], :]` for `self` [R, K] (PyTorch's `table[index]`).
    /// The backward adds each output row's gradient into the row it came from.
    public func gatheredRows(_ indices: [Int32]) -> Tensor {
        precondition(rank == 2, "gatheredRows expects a matrix, got \(shape)")
        let (rows, k) = (shape[0], shape[1])
        precondition(indices.allSatisfy { $0 >= 0 && Int($0) < rows }, "gatheredRows: an index is outside 0..<\(rows)")
        let out = Tensor(uninitializedShape: [indices.count, k])
        for (i, r) in indices.enumerated() { (out.data + i * k).update(from: data + Int(r) * k, count: k) }
        OpTrace.record(.matmul, [Tensor.oneHotRows(indices, columns: rows), self], out)
        guard Tensor.needsGrad(self) else { return out }
        return out.record("gatherRows", [self]) { g in
            let r = Tensor.zeros([rows, k])
            for (i, row) in indices.enumerated() {
                let dst = r.data + Int(row) * k, src = g.data + i * k
                for j in 0..<k { dst[j] += src[j] }
            }
            return [r]
        }
    }

    /// [indices.count, columns] with a 1 at (i, indices[i]): the gather as a matrix product, for export. Cached, so
    /// every layer gathering with the same indices shares one constant.
    static func oneHotRows(_ indices: [Int32], columns: Int) -> Tensor {
        let key = OneHotKey(indices: indices, columns: columns)
        if let t = oneHotCache[key] { return t }
        let t = Tensor.zeros([indices.count, columns])
        for (i, c) in indices.enumerated() { t.data[i * columns + Int(c)] = 1 }
        oneHotCache[key] = t
        return t
    }

    struct OneHotKey: Hashable {
        let indices: [Int32]
        let columns: Int
    }

    /// Filled only while an exporter traces (``OpTrace``), which runs on one thread.
    nonisolated(unsafe) static var oneHotCache: [OneHotKey: Tensor] = [:]
}
