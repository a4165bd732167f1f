import ClasTensor

/// Rewrites of an ``ExportGraph`` that keep its function.
extension ExportGraph {
    /// A copy sharing the constant tensors (passes that rewrite for ONNX work on a copy, so the original stays
    /// trainable).
    public func copy() -> ExportGraph {
        let g = ExportGraph()
        (g.values, g.nodes, g.input, g.output) = (values, nodes, input, output)
        return g
    }

    /// Folds each evaluation-mode batch norm that directly follows a convolution or linear layer (and is that
    /// layer's only reader) into the layer: w′ = w·s, b′ = β − μ·s (+ b·s) with s = γ / √(σ² + ε), per output
    /// channel. A fused activation becomes its own node after the layer.
    ///
    /// The folded weights are computed by nodes on the parameters rather than stored, so running the graph with grad
    /// mode on trains γ, β and w through the fold (quantisation-aware training); ``foldConstants()`` turns them into
    /// numbers for export.
    /// - Returns: the number of batch norms folded.
    @discardableResult
    public func foldBatchNorms() -> Int {
        let uses = useCounts()
        var out: [Node] = []
        var folded = 0
        /// Appends a node for a new [C]-like value.
        func emit(_ op: TracedOp, _ inputs: [Int], _ shape: [Int]) -> Int {
            let v = addValue(.node(-1), shape: shape)
            out.append(Node(op: .tensor(op), inputs: inputs, output: v, label: nil))
            return v
        }
        for node in nodes {
            guard case .tensor(.batchNorm(let eps, let activation, false, let hasGamma, let hasBeta)) = node.op,
                  let p = producer(node.inputs[0]), uses[node.inputs[0]] == 1,
                  let layerIndex = out.lastIndex(where: { $0.output == node.inputs[0] }),
                  case .tensor(let layerOp) = nodes[p].op,
                  node.inputs[1...].allSatisfy(isConstantDerived)
            else {
                out.append(node)
                continue
            }
            let layer = out[layerIndex]
            let channels = values[node.inputs[1]].shape[0]
            let scaleShape: [Int]
            switch layerOp {
            case .conv2d: scaleShape = [channels, 1, 1, 1]
            case .linear: scaleShape = [channels, 1]
            default:
                out.append(node)
                continue
            }
            let weightShape = values[layer.inputs[1]].shape
            guard weightShape.first == channels, isConstantDerived(layer.inputs[1]),
                  layer.inputs.count < 3 || isConstantDerived(layer.inputs[2]) else {
                out.append(node)
                continue
            }
            out.remove(at: layerIndex)
            let (mean, variance) = (node.inputs[1], node.inputs[2])
            let gamma = hasGamma ? node.inputs[3] : nil
            let beta = hasBeta ? node.inputs[hasGamma ? 4 : 3] : nil
            let c = [channels]
            let std = emit(.unary(.sqrt), [emit(.affine(alpha: 1, beta: eps), [variance], c)], c)
            let numerator = gamma ?? addValue(.constant(Tensor.ones(c)), shape: c)
            let scale = emit(.binary(.div), [numerator, std], c)
            let weight = emit(.binary(.mul), [layer.inputs[1], emit(.reshape(scaleShape), [scale], scaleShape)], weightShape)
            let meanScaled = emit(.binary(.mul), [mean, scale], c)
            var bias = beta.map { emit(.binary(.sub), [$0, meanScaled], c) } ?? emit(.affine(alpha: -1, beta: 0), [meanScaled], c)
            if layer.inputs.count > 2 { bias = emit(.binary(.add), [bias, emit(.binary(.mul), [layer.inputs[2], scale], c)], c) }
            let label = layer.label
            values[weight].name = label.map { "\($0).weight" }
            values[bias].name = label.map { "\($0).bias" }
            let layerOutput = activation == .none ? node.output : layer.output
            out.append(Node(op: layer.op, inputs: [layer.inputs[0], weight, bias], output: layerOutput, label: label))
            if activation != .none {
                out.append(Node(op: .tensor(.activation(activation)), inputs: [layer.output], output: node.output, label: nil))
            }
            folded += 1
        }
        setNodes(out)
        return folded
    }

    /// Removes operations that do nothing (x·1 + 0, a reshape or permutation that keeps the shape and order).
    public func removeIdentities() {
        var kept: [Node] = []
        var alias: [Int: Int] = [:]
        func resolve(_ v: Int) -> Int { alias[v].map(resolve) ?? v }
        for var node in nodes {
            node.inputs = node.inputs.map(resolve)
            var identity = false
            if case .tensor(let op) = node.op, node.output != output {
                let input = node.inputs[0]
                switch op {
                case let .affine(alpha, beta): identity = alpha == 1 && beta == 0
                case .reshape: identity = values[input].shape == values[node.output].shape
                case .permute(let perm): identity = perm == Array(perm.indices)
                case .activation(let a): identity = a == .none
                default: break
                }
            }
            if identity {
                alias[node.output] = node.inputs[0]
            } else {
                kept.append(node)
            }
        }
        setNodes(kept)
    }

    /// Evaluates every node whose inputs are all constants and replaces its output by the result (named after the
    /// value's name hint). Weight fake-quantisation nodes are kept: the ONNX lowering stores their input as int8.
    public func foldConstants() {
        var kept: [Node] = []
        for node in nodes {
            let allConstant = node.inputs.allSatisfy { constant($0) != nil }
            guard allConstant, case .tensor(let op) = node.op else {
                kept.append(node)
                continue
            }
            let inputs = node.inputs.compactMap { constant($0) }
            let result = GradMode.withoutGrad { GraphExecutor.apply(op, inputs, batchAxis: values[node.output].batchAxis) }
            values[node.output].source = .constant(result.detachedCopy())
        }
        setNodes(kept)
    }
}
