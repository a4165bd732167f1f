import ClasKernels
import ClasTensor

/// Turns an inference graph (batch norms folded, constants folded) into ``InferenceStep``s: each convolution or
/// linear layer absorbs the residual addition and the activation that follow it when it is their only input, its
/// weights are packed once, reshapes become aliases, and what no kernel covers runs as a fallback step.
struct InferenceCompiler {
    let graph: ExportGraph
    /// Readers of each value (node indices).
    private var readers: [[Int]]
    /// The graph output counts as a reader.
    private var uses: [Int]

    init(_ graph: ExportGraph) {
        self.graph = graph
        var readers = [[Int]](repeating: [], count: graph.values.count)
        for (k, n) in graph.nodes.enumerated() { for v in Set(n.inputs) { readers[v].append(k) } }
        self.readers = readers
        uses = graph.useCounts()
    }

    /// The steps, and the aliases (value → the value whose memory it shares, for reshapes).
    func compile() -> (steps: [InferenceStep], aliases: [Int: Int]) {
        var steps: [InferenceStep] = []
        var aliases: [Int: Int] = [:]
        var consumed = Set<Int>()
        let gated = gatedInputs()
        for (k, node) in graph.nodes.enumerated() where !consumed.contains(k) {
            guard case .tensor(let op) = node.op else {
                steps.append(InferenceStep(kernel: .fallback(.reshape([])), inputs: node.inputs, output: node.output,
                                           fused: ExportGraph.describe(node.op)))
                continue
            }
            switch op {
            case .reshape where graph.constant(node.inputs[0]) == nil:
                aliases[node.output] = node.inputs[0]
            case .binary(.mul) where gated[node.output] != nil:
                break  // folded into the convolution reading it
            case .conv2d where gated[node.inputs[0]] != nil:
                let w = graph.constant(node.inputs[1])!
                let bias = node.inputs.count > 2 ? graph.constant(node.inputs[2]) : nil
                steps.append(scaledPointwise(k, input: gated[node.inputs[0]]!, weight: w, bias: bias,
                                             consumed: &consumed))
            case let .conv2d(stride, padding, dilation, groups):
                if let step = convolution(k, stride: stride, padding: padding, dilation: dilation, groups: groups,
                                          consumed: &consumed) {
                    steps.append(step)
                } else {
                    steps.append(fallback(k, op))
                }
            case .linear:
                if let step = linear(k, consumed: &consumed) { steps.append(step) } else { steps.append(fallback(k, op)) }
            case .activation(let a):
                steps.append(InferenceStep(kernel: .activation(a), inputs: node.inputs, output: node.output,
                                           fused: "activation"))
            case .binary(let b) where broadcastsOverMiddle(node):
                steps.append(InferenceStep(kernel: .binary(b), inputs: node.inputs, output: node.output, fused: "binary"))
            case .globalAvgPool:
                steps.append(InferenceStep(kernel: .globalAvgPool, inputs: node.inputs, output: node.output,
                                           fused: "globalAvgPool"))
            case let .maxPool2d(kernel, stride, padding):
                let a = ConvAttributes(kernel: kernel, stride: stride, padding: padding, dilation: (1, 1))
                steps.append(InferenceStep(kernel: .pool(a, max: true, countIncludePad: false), inputs: node.inputs,
                                           output: node.output, fused: "maxPool2d"))
            case let .avgPool2d(kernel, stride, padding, countIncludePad):
                let a = ConvAttributes(kernel: kernel, stride: stride, padding: padding, dilation: (1, 1))
                steps.append(InferenceStep(kernel: .pool(a, max: false, countIncludePad: countIncludePad),
                                           inputs: node.inputs, output: node.output, fused: "avgPool2d"))
            default:
                steps.append(fallback(k, op))
            }
        }
        return (steps, aliases)
    }

    private func fallback(_ k: Int, _ op: TracedOp) -> InferenceStep {
        InferenceStep(kernel: .fallback(op), inputs: graph.nodes[k].inputs, output: graph.nodes[k].output,
                      fused: "fallback " + ExportGraph.describe(graph.nodes[k].op))
    }

    /// a op b with equal shapes, or b of shape [N, 1, 1, C] / [N, C] against a of [N, H, W, C] (squeeze-excite);
    /// neither a constant.
    private func broadcastsOverMiddle(_ node: ExportGraph.Node) -> Bool {
        guard node.inputs.count == 2, graph.constant(node.inputs[0]) == nil, graph.constant(node.inputs[1]) == nil
        else { return false }
        let a = graph.values[node.inputs[0]].shape, b = graph.values[node.inputs[1]].shape
        if a == b { return true }
        guard a.count == 4, b.count == 4, b[1] == 1, b[2] == 1, a[0] == b[0], a[3] == b[3] else { return false }
        return true
    }

    /// The single node reading `v`, if `v` has exactly one use.
    func soleReader(_ v: Int) -> Int? {
        guard uses[v] == 1, readers[v].count == 1 else { return nil }
        return readers[v][0]
    }

    /// Absorbs what follows node k's output: a residual addition (when `residualAllowed`, the other operand of the
    /// same shape computed before node k), then an activation. Returns (output, residual, activation, description).
    func epilogue(after k: Int, residualAllowed: Bool, consumed: inout Set<Int>)
        -> (output: Int, residual: Int?, act: Activation, fused: String)
    {
        var out = graph.nodes[k].output, residual: Int? = nil, act = Activation.none, fused = ""
        if residualAllowed, let r = soleReader(out), case .tensor(.binary(.add)) = graph.nodes[r].op,
           graph.nodes[r].inputs.count == 2 {
            let other = graph.nodes[r].inputs[0] == out ? graph.nodes[r].inputs[1] : graph.nodes[r].inputs[0]
            let before: Bool
            switch graph.values[other].source {
            case .input: before = true
            case .node(let p): before = p < k
            case .constant: before = false
            }
            if before, other != out, graph.values[other].shape == graph.values[out].shape {
                residual = other
                out = graph.nodes[r].output
                consumed.insert(r)
                fused += " + add"
            }
        }
        if let r = soleReader(out), case .tensor(.activation(let a)) = graph.nodes[r].op {
            act = a
            out = graph.nodes[r].output
            consumed.insert(r)
            fused += " + \(a)"
        }
        return (out, residual, act, fused)
    }

    private func convolution(_ k: Int, stride: (Int, Int), padding: Padding2D, dilation: (Int, Int), groups: Int,
                             consumed: inout Set<Int>) -> InferenceStep? {
        let node = graph.nodes[k]
        guard let w = graph.constant(node.inputs[1]) else { return nil }
        let bias = node.inputs.count > 2 ? graph.constant(node.inputs[2]) : nil
        if node.inputs.count > 2 && bias == nil { return nil }
        let cin = graph.values[node.inputs[0]].shape[3], cout = w.shape[0], kh = w.shape[1], kw = w.shape[2]
        let a = ConvAttributes(kernel: (kh, kw), stride: stride, padding: padding, dilation: dilation)
        let taps = kh * kw
        let biasPacked = PackedWeights(count: cout) { p in
            if let bias { p.update(from: bias.data, count: cout) } else { p.initialize(repeating: 0, count: cout) }
        }
        if groups == cin && cout == cin && groups > 1 {
            let e = epilogue(after: k, residualAllowed: false, consumed: &consumed)
            let packed = PackedWeights(count: cout * taps) { clas_dw_pack_weights(w.data, Int64(cout), Int64(taps), $0) }
            return InferenceStep(kernel: .depthwise(a, weights: packed, bias: biasPacked, act: e.act),
                                 inputs: [node.inputs[0]], output: e.output, fused: "depthwise conv" + e.fused)
        }
        guard groups == 1 else { return nil }
        let kTotal = taps * cin
        if cin <= Tensor.directConvMaxChannels && cout <= Tensor.directConvMaxOutputs {  // an RGB stem
            let e = epilogue(after: k, residualAllowed: false, consumed: &consumed)
            let size = Int(clas_conv_direct_packed_size(Int64(cout), Int64(kTotal)))
            let packed = PackedWeights(count: size) { clas_conv_direct_pack(w.data, Int64(cout), Int64(kTotal), $0) }
            return InferenceStep(kernel: .directConv(a, weights: packed, bias: biasPacked, cout: cout, act: e.act),
                                 inputs: [node.inputs[0]], output: e.output, fused: "direct conv" + e.fused)
        }
        let e = epilogue(after: k, residualAllowed: true, consumed: &consumed)
        if let step = winograd(k, a, weight: w, bias: bias, epilogue: e) { return step }
        let size = Int(clas_packed_weights_size(Int64(cout), Int64(kTotal)))
        let packed = PackedWeights(count: size) {
            clas_pack_weights(w.data, bias?.data, Int64(cout), Int64(kTotal), $0)
        }
        return InferenceStep(kernel: .conv(a, weights: packed, cout: cout, residual: e.residual != nil, act: e.act),
                             inputs: [node.inputs[0]] + (e.residual.map { [$0] } ?? []), output: e.output,
                             fused: "\(kh)×\(kw) conv" + e.fused)
    }

    private func linear(_ k: Int, consumed: inout Set<Int>) -> InferenceStep? {
        let node = graph.nodes[k]
        guard let w = graph.constant(node.inputs[1]), w.rank == 2 else { return nil }
        let bias = node.inputs.count > 2 ? graph.constant(node.inputs[2]) : nil
        if node.inputs.count > 2 && bias == nil { return nil }
        let n = w.shape[0], kk = w.shape[1]
        let e = epilogue(after: k, residualAllowed: true, consumed: &consumed)
        let packed = PackedWeights(count: Int(clas_packed_weights_size(Int64(n), Int64(kk)))) {
            clas_pack_weights(w.data, bias?.data, Int64(n), Int64(kk), $0)
        }
        return InferenceStep(kernel: .linear(weights: packed, n: n, k: kk, residual: e.residual != nil, act: e.act),
                             inputs: [node.inputs[0]] + (e.residual.map { [$0] } ?? []), output: e.output,
                             fused: "linear" + e.fused)
    }
}
