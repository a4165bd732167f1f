import ClasProto
import ClasTensor

/// Lowers an ``ExportGraph`` (after batch-norm and constant folding) to an ONNX graph: one case per operation.
///
/// Layout: SwiftClas computes images NHWC; the ONNX graph is NCHW. Every lowered value remembers the layout it is
/// stored in (``Layout``); an operation asks for its inputs in the layout it needs and gets a `Transpose` (or a
/// `Reshape`, when only size-1 dimensions move) when they differ. Constants are permuted when written, so weights
/// cost nothing. Axes of reductions, concatenations, slices and softmax are mapped through the layout; broadcast
/// operands of lower rank get leading 1s first (NumPy's rule) and are then permuted like the other operand.
///
/// | SwiftClas operation | ONNX (opset 17) | notes |
/// |---|---|---|
/// | `conv2d` | `Conv` | NCHW input, OIHW weight (OHWI permuted), `pads` = [top, left, bottom, right], `group` |
/// | `linear` | `Gemm` (`transB` = 1) | rank-2 input; `MatMul` with Wᵀ + `Add` otherwise |
/// | `matmul` | `MatMul` | |
/// | `batchedMatmul` | `MatMul` | a stored transpose becomes a `Transpose` of the last two dimensions |
/// | `attention` | `Slice`, `Reshape`, `Transpose`, `MatMul`, `Mul`, (`Add`), `Softmax`, `MatMul` | the fused op decomposed; a bias of G groups (Swin's windows) is added to the scores reshaped to [−1, G, heads, N, N] |
/// | `batchNorm` (folded) | — | folded into the preceding `Conv`/`Gemm` (``ExportGraph/foldBatchNorms()``) |
/// | `batchNorm` (alone) | `Mul` + `Add` | per-channel scale and shift along the mapped channel axis, then the activation |
/// | `activation` relu / relu6 | `Relu` / `Clip`(0, 6) | |
/// | `activation` hardswish / hardsigmoid | `HardSwish` / `HardSigmoid`(α = 1/6, β = 0.5) | |
/// | `activation` sigmoid / tanh / silu | `Sigmoid` / `Tanh` / `Sigmoid` + `Mul` | |
/// | `activation` gelu | `Div`, `Erf`, `Add`, `Mul`, `Mul` | exact (erf) GELU |
/// | `activation` geluTanh | `Mul`, `Add`, `Tanh`, `Mul` | the tanh approximation, decomposed |
/// | `layerNorm` | `LayerNormalization` (axis −1) | input in SwiftClas's order (a `Transpose` from NCHW for maps) |
/// | `binary` add / sub / mul / div | `Add` / `Sub` / `Mul` / `Div` | broadcasting mapped through the layout |
/// | `affine` x·α + β | `Mul`, `Add` | identity parts omitted |
/// | `unary` exp / log / sqrt / square / abs | `Exp` / `Log` / `Sqrt` / `Mul`(x, x) / `Abs` | |
/// | `clampMin` | `Max` | |
/// | `maxPool2d` / `avgPool2d` | `MaxPool` / `AveragePool` | `count_include_pad` kept |
/// | `globalAvgPool` | `GlobalAveragePool` (+ `Flatten`) | `Flatten` when the pooled dimensions are dropped |
/// | `reshape` | `Flatten` or `Reshape` | the batch dimension becomes −1 (dynamic) |
/// | `permute` | `Transpose` | |
/// | `concat` / `narrow` | `Concat` / `Slice` | axis mapped |
/// | `sum` | `ReduceSum` | axes mapped; `mean` arrives as `ReduceSum` + `Mul` |
/// | `softmax` (log) | `Softmax` / `LogSoftmax` | axis mapped |
/// | `fakeQuantize`, activation fake-quant | `QuantizeLinear` + `DequantizeLinear` | uint8 activations, per tensor |
/// | weight fake-quant | int8 initializer + `DequantizeLinear` | symmetric per output channel (`axis` mapped) |
///
/// Anything else (or a `batchNorm` in training mode, or a reshape that drops the batch dimension) is an
/// ``ExportError`` naming the operation and node.
struct OnnxLowering {
    let graph: ExportGraph
    let options: OnnxExportOptions
    let b = OnnxGraphBuilder()
    var computed: [Int: (name: String, layout: Layout)] = [:]
    var cache: [String: String] = [:]

    init(graph: ExportGraph, options: OnnxExportOptions) {
        self.graph = graph
        self.options = options
    }

    /// The ONNX graph.
    mutating func lower() throws -> Onnx_GraphProto {
        let input = graph.values[graph.input]
        b.reserve(options.inputName)
        b.reserve(options.outputName)
        let inputLayout = Layout.preferred(rank: input.shape.count)
        computed[graph.input] = (options.inputName, inputLayout)
        for (k, node) in graph.nodes.enumerated() {
            do {
                try lower(node)
            } catch let error as ExportError {
                let place = node.label.map { " in \($0)" } ?? ""
                throw ExportError("node \(k) (\(ExportGraph.describe(node.op)))\(place): \(error.message)")
            }
        }
        let output = graph.values[graph.output]
        let outputLayout = Layout.preferred(rank: output.shape.count)
        var result = try name(graph.output, outputLayout)
        if options.appendSoftmax {
            result = b.add("Softmax", [result], [OnnxGraphBuilder.attr("axis", outputLayout.onnxAxis(output.shape.count - 1))])
        }
        if b.isNodeOutput(result) {
            b.rename(result, to: options.outputName)
        } else {
            b.add("Identity", [result], output: options.outputName)
        }
        var g = Onnx_GraphProto()
        g.name = options.modelName
        g.node = b.nodes
        g.initializer = b.initializers
        g.input = [OnnxGraphBuilder.valueInfo(options.inputName, dims: dims(of: graph.input, inputLayout))]
        g.output = [OnnxGraphBuilder.valueInfo(options.outputName, dims: dims(of: graph.output, outputLayout))]
        return g
    }

    /// ONNX dimensions of a value, the batch dimension symbolic.
    private func dims(of v: Int, _ layout: Layout) -> [Int?] {
        let value = graph.values[v]
        return layout.perm.map { d in d == value.batchAxis ? nil : value.shape[d] }
    }

    // MARK: one node

    private mutating func lower(_ node: ExportGraph.Node) throws {
        let x = node.inputs
        let out = node.output
        switch node.op {
        case .weightFakeQuant:
            return  // materialised on demand, in the layout its reader needs (``quantizedWeight``)
        case .activationFakeQuant(let quantizer):
            let (input, layout) = try current(x[0])
            computed[out] = (quantizeDequantize(input, quantizer.parameters, layout: layout), layout)
        case .tensor(let op):
            try lower(op, node, x, out)
        }
    }

    private mutating func lower(_ op: TracedOp, _ node: ExportGraph.Node, _ x: [Int], _ out: Int) throws {
        typealias A = OnnxGraphBuilder
        let rank = graph.values[out].shape.count
        switch op {
        case let .conv2d(stride, padding, dilation, groups):
            let w = graph.values[x[1]].shape
            var inputs = [try name(x[0], .nchw), try name(x[1], .nchw)]
            if x.count > 2 { inputs.append(try name(x[2], .identity(1))) }
            let y = b.add("Conv", inputs, [
                A.attr("kernel_shape", [w[1], w[2]]), A.attr("strides", [stride.0, stride.1]),
                A.attr("pads", [padding.top, padding.left, padding.bottom, padding.right]),
                A.attr("dilations", [dilation.0, dilation.1]), A.attr("group", groups),
            ])
            computed[out] = (y, .nchw)
        case .linear:
            let xr = graph.values[x[0]].shape.count
            if xr == 2 {
                var inputs = [try name(x[0], .identity(2)), try name(x[1], .identity(2))]
                if x.count > 2 { inputs.append(try name(x[2], .identity(1))) }
                computed[out] = (b.add("Gemm", inputs, [A.attr("transB", 1)]), .identity(2))
            } else {
                var y = b.add("MatMul", [try name(x[0], .identity(xr)), try name(x[1], Layout(perm: [1, 0]))])
                if x.count > 2 { y = b.add("Add", [y, try name(x[2], .identity(1))]) }
                computed[out] = (y, .identity(rank))
            }
        case .matmul:
            computed[out] = (b.add("MatMul", [try name(x[0], .identity(2)), try name(x[1], .identity(2))]), .identity(2))
        case let .batchedMatmul(ta, tb):
            let swapLast = Layout(perm: Array(0..<(rank - 2)) + [rank - 1, rank - 2])
            let a = try name(x[0], ta ? swapLast : .identity(rank)), bm = try name(x[1], tb ? swapLast : .identity(rank))
            computed[out] = (b.add("MatMul", [a, bm]), .identity(rank))
        case let .attention(heads, scale):
            computed[out] = (try lowerAttention(x, heads: heads, scale: scale), .identity(3))
        case let .batchNorm(eps, activation, training, hasGamma, hasBeta):
            guard !training else { throw ExportError("batch norm in training mode cannot be exported") }
            let (input, layout) = try current(x[0])
            guard let mean = graph.constant(x[1]), let variance = graph.constant(x[2]) else {
                throw ExportError("batch norm statistics must be constants")
            }
            let gamma = hasGamma ? graph.constant(x[3]) : nil, beta = hasBeta ? graph.constant(x[hasGamma ? 4 : 3]) : nil
            let c = mean.count
            var scale = [Float](repeating: 1, count: c), shift = [Float](repeating: 0, count: c)
            for i in 0..<c {
                scale[i] = (gamma?.data[i] ?? 1) / (variance.data[i] + eps).squareRoot()
                shift[i] = (beta?.data[i] ?? 0) - mean.data[i] * scale[i]
            }
            let channelAxis = layout.onnxAxis(rank - 1)
            let dims = [c] + [Int](repeating: 1, count: rank - 1 - channelAxis)
            let base = graph.values[x[1]].name.map { $0.replacingOccurrences(of: ".running_mean", with: "") } ?? "batch_norm"
            let s = b.floats(scale, dims: dims, name: b.uniqueName("\(base).scale"))
            let t = b.floats(shift, dims: dims, name: b.uniqueName("\(base).shift"))
            let y = b.add("Add", [b.add("Mul", [input, s]), t])
            computed[out] = (lowerActivation(y, activation), layout)
        case .layerNorm(let eps):
            let c = graph.values[x[0]].shape.last ?? 1
            let scale = x.count > 1 ? try name(x[1], .identity(1)) : b.floats([Float](repeating: 1, count: c), dims: [c], name: b.uniqueName("layer_norm.ones"))
            var inputs = [try name(x[0], .identity(rank)), scale]
            if x.count > 2 { inputs.append(try name(x[2], .identity(1))) }
            let y = b.add("LayerNormalization", inputs, [A.attr("axis", -1), A.attr("epsilon", eps)])
            computed[out] = (y, .identity(rank))
        case .activation(let a):
            let (input, layout) = try current(x[0])
            computed[out] = (lowerActivation(input, a), layout)
        case .binary(let opKind):
            let layout = try broadcastLayout(x, rank: rank)
            let onnxOp = ["Add", "Sub", "Mul", "Div"][Int(opKind.rawValue)]
            computed[out] = (b.add(onnxOp, [try operand(x[0], layout), try operand(x[1], layout)]), layout)
        case let .affine(alpha, beta):
            var (y, layout) = try current(x[0])
            if alpha != 1 { y = b.add("Mul", [y, b.scalar(alpha)]) }
            if beta != 0 { y = b.add("Add", [y, b.scalar(beta)]) }
            computed[out] = (y, layout)
        case .unary(let f):
            let (input, layout) = try current(x[0])
            let y: String
            switch f {
            case .exp: y = b.add("Exp", [input])
            case .log: y = b.add("Log", [input])
            case .sqrt: y = b.add("Sqrt", [input])
            case .square: y = b.add("Mul", [input, input])
            case .abs: y = b.add("Abs", [input])
            }
            computed[out] = (y, layout)
        case .clampMin(let bound):
            let (input, layout) = try current(x[0])
            computed[out] = (b.add("Max", [input, b.scalar(bound)]), layout)
        case let .maxPool2d(kernel, stride, padding):
            computed[out] = (b.add("MaxPool", [try name(x[0], .nchw)], poolAttributes(kernel, stride, padding)), .nchw)
        case let .avgPool2d(kernel, stride, padding, countIncludePad):
            let attrs = poolAttributes(kernel, stride, padding) + [A.attr("count_include_pad", countIncludePad ? 1 : 0)]
            computed[out] = (b.add("AveragePool", [try name(x[0], .nchw)], attrs), .nchw)
        case .globalAvgPool(let keepDims):
            let pooled = b.add("GlobalAveragePool", [try name(x[0], .nchw)])
            computed[out] = keepDims ? (pooled, .nchw) : (b.add("Flatten", [pooled], [A.attr("axis", 1)]), .identity(2))
        case .reshape(let target):
            try lowerReshape(x[0], target, out)
        case .permute(let perm):
            let (input, layout) = try current(x[0])
            let onnxPerm = perm.map { layout.inverse[$0] }
            let y = onnxPerm == Array(onnxPerm.indices) ? input : b.add("Transpose", [input], [A.attr("perm", onnxPerm)])
            computed[out] = (y, .identity(rank))
        case .concat(let axis):
            let layout = try broadcastLayout(x, rank: rank)
            let inputs = try x.map { try name($0, layout) }
            computed[out] = (b.add("Concat", inputs, [A.attr("axis", layout.onnxAxis(axis))]), layout)
        case let .narrow(axis, start, length):
            let (input, layout) = try current(x[0])
            let y = b.add("Slice", [input, b.int64s([start], name: b.uniqueName("slice_start")),
                                    b.int64s([start + length], name: b.uniqueName("slice_end")),
                                    b.int64s([layout.onnxAxis(axis)], name: b.uniqueName("slice_axis"))])
            computed[out] = (y, layout)
        case let .sum(axes, keepDims):
            let (input, layout) = try current(x[0])
            guard let axes else {
                computed[out] = (b.add("ReduceSum", [input], [A.attr("keepdims", 0)]), .identity(0))
                return
            }
            let onnxAxes = axes.map(layout.onnxAxis).sorted()
            let y = b.add("ReduceSum", [input, b.int64s(onnxAxes, name: b.uniqueName("axes"))],
                          [A.attr("keepdims", keepDims ? 1 : 0)])
            let kept = layout.perm.filter { !axes.contains($0) }.map { d in d - axes.filter { $0 < d }.count }
            computed[out] = (y, keepDims ? layout : Layout(perm: kept))
        case .softmax(let log):
            let (input, layout) = try current(x[0])
            let y = b.add(log ? "LogSoftmax" : "Softmax", [input], [A.attr("axis", layout.onnxAxis(rank - 1))])
            computed[out] = (y, layout)
        case .fakeQuantize(let q):
            let (input, layout) = try current(x[0])
            computed[out] = (quantizeDequantize(input, q, layout: layout), layout)
        }
    }

    private func poolAttributes(_ kernel: (Int, Int), _ stride: (Int, Int), _ p: Padding2D) -> [Onnx_AttributeProto] {
        [OnnxGraphBuilder.attr("kernel_shape", [kernel.0, kernel.1]), OnnxGraphBuilder.attr("strides", [stride.0, stride.1]),
         OnnxGraphBuilder.attr("pads", [p.top, p.left, p.bottom, p.right])]
    }

    /// An activation applied to `x` (any layout).
    private func lowerActivation(_ x: String, _ a: Activation) -> String {
        switch a {
        case .none: return x
        case .relu: return b.add("Relu", [x])
        case .relu6: return b.add("Clip", [x, b.scalar(0), b.scalar(6)])
        case .hardswish: return b.add("HardSwish", [x])
        case .hardsigmoid:
            return b.add("HardSigmoid", [x], [OnnxGraphBuilder.attr("alpha", Float(1) / 6), OnnxGraphBuilder.attr("beta", Float(0.5))])
        case .sigmoid: return b.add("Sigmoid", [x])
        case .silu: return b.add("Mul", [x, b.add("Sigmoid", [x])])
        case .tanh: return b.add("Tanh", [x])
        case .gelu:
            let erf = b.add("Erf", [b.add("Div", [x, b.scalar(Float(2).squareRoot())])])
            return b.add("Mul", [b.add("Mul", [x, b.add("Add", [erf, b.scalar(1)])]), b.scalar(0.5)])
        case .geluTanh:  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            let cube = b.add("Mul", [b.add("Mul", [x, x]), x])
            let inner = b.add("Add", [x, b.add("Mul", [cube, b.scalar(0.044715)])])
            let t = b.add("Tanh", [b.add("Mul", [inner, b.scalar(Float((2 / Double.pi).squareRoot()))])])
            return b.add("Mul", [b.add("Mul", [x, b.add("Add", [t, b.scalar(1)])]), b.scalar(0.5)])
        }
    }

    /// Fused multi-head attention on packed qkv [B, N, 3C] as standard ONNX operators: q, k, v sliced from the last
    /// dimension and split into heads ([B, heads, N, d], k as [B, heads, d, N]), scores, softmax, weighted values,
    /// heads joined back into [B, N, C].
    private mutating func lowerAttention(_ x: [Int], heads: Int, scale: Float) throws -> String {
        typealias A = OnnxGraphBuilder
        let shape = graph.values[x[0]].shape
        let (n, c) = (shape[1], shape[2] / 3), d = c / heads
        let qkv = try name(x[0], .identity(3))
        let splitShape = b.int64s([0, n, heads, d], name: b.uniqueName("attention_heads_shape"))
        func part(_ i: Int, _ perm: [Int]) -> String {
            let sliced = b.add("Slice", [qkv, b.int64s([i * c], name: b.uniqueName("slice_start")),
                                         b.int64s([(i + 1) * c], name: b.uniqueName("slice_end")),
                                         b.int64s([2], name: b.uniqueName("slice_axis"))])
            return b.add("Transpose", [b.add("Reshape", [sliced, splitShape])], [A.attr("perm", perm)])
        }
        let q = part(0, [0, 2, 1, 3]), k = part(1, [0, 2, 3, 1]), v = part(2, [0, 2, 1, 3])
        var scores = b.add("Mul", [b.add("MatMul", [q, k]), b.scalar(scale)])
        if x.count > 1 {
            let groups = graph.values[x[1]].shape[0], bias = try name(x[1], .identity(4))
            if groups == 1 {
                scores = b.add("Add", [scores, bias])
            } else {  // sample s adds group s mod G (Swin's windows): [−1, G, heads, N, N] + bias, then back
                let grouped = b.add("Reshape", [scores, b.int64s([-1, groups, heads, n, n], name: b.uniqueName("attention_groups_shape"))])
                scores = b.add("Reshape", [b.add("Add", [grouped, bias]),
                                           b.int64s([-1, heads, n, n], name: b.uniqueName("attention_scores_shape"))])
            }
        }
        let probabilities = b.add("Softmax", [scores], [A.attr("axis", 3)])
        let heads = b.add("Transpose", [b.add("MatMul", [probabilities, v])], [A.attr("perm", [0, 2, 1, 3])])
        return b.add("Reshape", [heads, b.int64s([0, n, c], name: b.uniqueName("attention_out_shape"))])
    }

    /// `QuantizeLinear` + `DequantizeLinear` of `x` stored in `layout`.
    private func quantizeDequantize(_ x: String, _ q: QuantizationParameters, layout: Layout) -> String {
        let n = q.scale.count
        let dims = q.axis == nil ? [] : [n]
        let scale = b.floats(q.scale, dims: dims, name: b.uniqueName("\(x)_scale"))
        let zp = q.isSigned ? b.int8s(q.zeroPoint.map { Int8(clamping: $0) }, dims: dims, name: b.uniqueName("\(x)_zero_point"))
            : b.uint8s(q.zeroPoint.map { UInt8(clamping: $0) }, dims: dims, name: b.uniqueName("\(x)_zero_point"))
        let attrs = q.axis.map { [OnnxGraphBuilder.attr("axis", layout.onnxAxis($0))] } ?? []
        let quantized = b.add("QuantizeLinear", [x, scale, zp], attrs)
        return b.add("DequantizeLinear", [quantized, scale, zp], attrs)
    }
}
