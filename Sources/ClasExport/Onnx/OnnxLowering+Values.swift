import ClasTensor

/// How a lowered operation gets its inputs: in a requested layout, converting, permuting or quantising as needed.
extension OnnxLowering {
    /// The ONNX name of value `v` stored in `layout`. Constants are written permuted; a fake-quantised weight
    /// becomes an int8 initializer and a `DequantizeLinear`; a computed value is converted from the layout it was
    /// produced in (cached, so each conversion happens once).
    mutating func name(_ v: Int, _ layout: Layout) throws -> String {
        let value = graph.values[v]
        guard value.shape.count == layout.rank else {
            throw ExportError("value v\(v) of shape \(value.shape) requested in a rank-\(layout.rank) layout")
        }
        if let c = computed[v], c.layout == layout { return c.name }
        let key = "\(v)@\(layout)"
        if let hit = cache[key] { return hit }
        let result: String
        if let t = graph.constant(v) {
            result = constant(t, name: value.name ?? "const", layout: layout)
        } else if let p = graph.producer(v), case let .weightFakeQuant(axis, bits) = graph.nodes[p].op {
            result = try quantizedWeight(graph.nodes[p].inputs[0], axis: axis, bits: bits, layout: layout)
        } else if let c = computed[v] {
            result = convert(c.name, shape: value.shape, batchAxis: value.batchAxis, from: c.layout, to: layout)
        } else {
            throw ExportError("value v\(v) is used before it is computed")
        }
        cache[key] = result
        return result
    }

    /// A value's name and the layout it is stored in (constants and lazily lowered weights: their own order).
    mutating func current(_ v: Int) throws -> (String, Layout) {
        if let c = computed[v] { return c }
        let layout = Layout.identity(graph.values[v].shape.count)
        return (try name(v, layout), layout)
    }

    /// An operand of a broadcasting operation whose output has `layout`: lower-rank operands get leading 1s first.
    mutating func operand(_ v: Int, _ layout: Layout) throws -> String {
        let value = graph.values[v]
        let (r, k) = (layout.rank, value.shape.count)
        if k == r { return try name(v, layout) }
        let padded = [Int](repeating: 1, count: r - k) + value.shape
        if let t = graph.constant(v) {
            if t.count == 1 { return b.scalar(t.data[0]) }
            let key = "\(v)@\(layout)+"
            if let hit = cache[key] { return hit }
            let result = constant(Tensor(shape: padded, storage: t.storage), name: value.name ?? "const", layout: layout)
            cache[key] = result
            return result
        }
        let base = try name(v, .identity(k))
        let unsqueezed = b.add("Unsqueeze", [base, b.int64s(Array(0..<(r - k)), name: b.uniqueName("axes"))])
        if layout.isIdentity { return unsqueezed }
        return convert(unsqueezed, shape: padded, batchAxis: value.batchAxis.map { $0 + r - k }, from: .identity(r),
                       to: layout)
    }

    /// The layout for a broadcasting or concatenating operation: that of its first computed full-rank input.
    func broadcastLayout(_ inputs: [Int], rank: Int) throws -> Layout {
        for v in inputs where graph.values[v].shape.count == rank {
            if let c = computed[v] { return c.layout }
        }
        return .identity(rank)
    }

    /// A constant stored in `layout`.
    func constant(_ t: Tensor, name: String, layout: Layout) -> String {
        let data = layout.isIdentity ? t : GradMode.withoutGrad { t.permuted(layout.perm) }
        return b.floats(data, dims: layout.onnxShape(t.shape), name: b.uniqueName(name))
    }

    /// Moves a value between layouts: a `Reshape` when only size-1 dimensions move (same data order), else a
    /// `Transpose`.
    func convert(_ x: String, shape: [Int], batchAxis: Int?, from: Layout, to: Layout) -> String {
        if sameOrder(shape, batchAxis: batchAxis, from, to) {
            var dims = to.onnxShape(shape)
            if let axis = batchAxis { dims[to.onnxAxis(axis)] = -1 }
            return b.add("Reshape", [x, b.int64s(dims, name: b.uniqueName("shape"))])
        }
        return b.add("Transpose", [x], [OnnxGraphBuilder.attr("perm", from.transpose(to: to))])
    }

    /// Whether two layouts order the dimensions that are not 1 (the batch dimension always counts) the same way.
    func sameOrder(_ shape: [Int], batchAxis: Int?, _ a: Layout, _ b: Layout) -> Bool {
        let moving = { (d: Int) in shape[d] != 1 || d == batchAxis }
        return a.perm.filter(moving) == b.perm.filter(moving)
    }

    /// `Flatten` for [N, …] → [N, rest] when the batch stays first; `Reshape` (batch −1) otherwise.
    mutating func lowerReshape(_ x: Int, _ target: [Int], _ out: Int) throws {
        let input = graph.values[x], output = graph.values[out]
        guard input.batchAxis == nil || output.batchAxis != nil else {
            throw ExportError("reshape \(input.shape) → \(target) loses the batch dimension; export keeps the batch "
                              + "dynamic, so reshapes must keep it in one dimension")
        }
        let identity = Layout.identity(input.shape.count)
        let (source, layout) = try current(x)
        if target.count == 2, input.batchAxis == 0, output.batchAxis == 0 {
            let ordered = layout.perm.first == 0 && sameOrder(input.shape, batchAxis: 0, layout, identity)
            let src = ordered ? source : try name(x, identity)
            computed[out] = (b.add("Flatten", [src], [OnnxGraphBuilder.attr("axis", 1)]), .identity(2))
            return
        }
        var dims = target
        if let axis = output.batchAxis { dims[axis] = -1 }
        let y = b.add("Reshape", [try name(x, identity), b.int64s(dims, name: b.uniqueName("shape"))])
        computed[out] = (y, .identity(target.count))
    }

    /// A constant weight as int8 (symmetric, per channel along `axis`, `bits` wide) plus `DequantizeLinear`, stored in
    /// `layout`. The values equal what ``GraphExecutor`` computes with `fakeQuantized`.
    mutating func quantizedWeight(_ w: Int, axis: Int, bits: Int, layout: Layout) throws -> String {
        guard let t = graph.constant(w) else {
            throw ExportError("a quantised weight must be a constant (it is computed from the input)")
        }
        let q = QuantizationParameters.symmetricInt8(perChannelOf: t, axis: axis, bits: bits)
        let data = layout.isIdentity ? t : GradMode.withoutGrad { t.permuted(layout.perm) }
        let dims = layout.onnxShape(t.shape)
        let a = layout.onnxAxis(axis)
        let channels = dims[a], inner = Tensor.count(of: Array(dims[(a + 1)...]))
        var ints = [Int8](repeating: 0, count: data.count)
        for i in 0..<data.count {
            let v = (data.data[i] / q.scale[(i / inner) % channels]).rounded(.toNearestOrEven)
            ints[i] = Int8(Swift.min(Swift.max(v, Float(q.qmin)), Float(q.qmax)))
        }
        let base = graph.values[w].name ?? "weight"
        let quantized = b.int8s(ints, dims: dims, name: b.uniqueName(base))
        let scale = b.floats(q.scale, dims: [channels], name: b.uniqueName("\(base)_scale"))
        let zero = b.int8s([Int8](repeating: 0, count: channels), dims: [channels], name: b.uniqueName("\(base)_zero_point"))
        return b.add("DequantizeLinear", [quantized, scale, zero], [OnnxGraphBuilder.attr("axis", a)])
    }
}
