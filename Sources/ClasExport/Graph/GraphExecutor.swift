import ClasNN
import ClasTensor

/// Runs an ``ExportGraph`` with SwiftClas's tensor operations, at any batch size.
///
/// Constants are the model's live parameters, so gradients reach them when grad mode is on: this is how
/// quantisation-aware training fine-tunes exactly the graph that is exported. Intermediate values are released after
/// their last use.
public struct GraphExecutor {
    /// The graph run.
    public let graph: ExportGraph
    /// For each node, the values whose last reader it is.
    private let releases: [[Int]]

    /// Prepares `graph` for running (works out when each value can be released).
    public init(_ graph: ExportGraph) {
        self.graph = graph
        var last = [Int](repeating: -1, count: graph.values.count)
        for (k, n) in graph.nodes.enumerated() { for v in n.inputs { last[v] = k } }
        var releases = [[Int]](repeating: [], count: graph.nodes.count)
        for (v, k) in last.enumerated() where k >= 0 && v != graph.output {
            if case .node = graph.values[v].source { releases[k].append(v) }
        }
        self.releases = releases
    }

    /// The graph's output for an NHWC batch `x` (any batch size; the other dimensions as traced).
    public func run(_ x: Tensor, training: Bool = false) -> Tensor {
        var env = [Tensor?](repeating: nil, count: graph.values.count)
        env[graph.input] = x
        for (v, value) in graph.values.enumerated() {
            if case .constant(let t) = value.source { env[v] = t }
        }
        for (k, node) in graph.nodes.enumerated() {
            let inputs = node.inputs.map { v -> Tensor in
                guard let t = env[v] else { preconditionFailure("graph value v\(v) used before it is computed") }
                return t
            }
            env[node.output] = apply(node, inputs, training: training)
            for v in releases[k] { env[v] = nil }
        }
        guard let y = env[graph.output] else { preconditionFailure("graph output v\(graph.output) was not computed") }
        return y
    }

    /// One node.
    func apply(_ node: ExportGraph.Node, _ x: [Tensor], training: Bool) -> Tensor {
        switch node.op {
        case let .weightFakeQuant(axis, bits):
            let q = GradMode.withoutGrad { QuantizationParameters.symmetricInt8(perChannelOf: x[0], axis: axis, bits: bits) }
            return x[0].fakeQuantized(q)
        case .activationFakeQuant(let quantizer):
            return quantizer.apply(x[0], training: training)
        case .tensor(let op):
            return GraphExecutor.apply(op, x, batchAxis: graph.values[node.output].batchAxis)
        }
    }

    /// A recorded tensor operation, run again on new inputs (`batchAxis`: the output's batch dimension, for reshapes).
    static func apply(_ op: TracedOp, _ x: [Tensor], batchAxis: Int?) -> Tensor {
        switch op {
        case let .conv2d(stride, padding, dilation, groups):
            let y = Tensor.conv2d(x[0], weight: x[1], bias: x.count > 2 ? x[2] : nil, stride: stride, padding: padding,
                                  dilation: dilation, groups: groups)
            MACCounter.add(y.count * x[1].shape[1] * x[1].shape[2] * x[1].shape[3])
            return y
        case .linear:
            let y = Tensor.linear(x[0], weight: x[1], bias: x.count > 2 ? x[2] : nil)
            MACCounter.add(y.count * x[1].shape[1])
            return y
        case .matmul:
            return Tensor.matmul(x[0], x[1])
        case let .batchedMatmul(ta, tb):
            return Tensor.batchedMatmul(x[0], x[1], transposeA: ta, transposeB: tb)
        case let .attention(heads, scale):
            return Tensor.multiHeadAttention(x[0], heads: heads, scale: scale, bias: x.count > 1 ? x[1] : nil)
        case let .batchNorm(eps, activation, _, hasGamma, hasBeta):
            return Tensor.batchNorm(x[0], gamma: hasGamma ? x[3] : nil, beta: hasBeta ? x[hasGamma ? 4 : 3] : nil,
                                    runningMean: x[1], runningVar: x[2], training: false, eps: eps,
                                    activation: activation)
        case .layerNorm(let eps):
            return Tensor.layerNorm(x[0], gamma: x.count > 1 ? x[1] : nil, beta: x.count > 2 ? x[2] : nil, eps: eps)
        case .activation(let a):
            return x[0].activated(a)
        case .binary(let b):
            return Tensor.binary(b, x[0], x[1])
        case let .affine(alpha, beta):
            return x[0].affine(alpha, beta)
        case .unary(let f):
            switch f {
            case .exp: return x[0].exp()
            case .log: return x[0].log()
            case .sqrt: return x[0].sqrt()
            case .square: return x[0].squared()
            case .abs: return x[0].abs()
            }
        case .clampMin(let bound):
            return x[0].clamped(min: bound)
        case let .maxPool2d(kernel, stride, padding):
            return Tensor.maxPool2d(x[0], kernel: kernel, stride: stride, padding: padding)
        case let .avgPool2d(kernel, stride, padding, countIncludePad):
            return Tensor.avgPool2d(x[0], kernel: kernel, stride: stride, padding: padding, countIncludePad: countIncludePad)
        case .globalAvgPool(let keepDims):
            return Tensor.globalAvgPool(x[0], keepDims: keepDims)
        case .reshape(var shape):
            if let b = batchAxis { shape[b] = -1 }
            return x[0].reshaped(shape)
        case .permute(let perm):
            return x[0].permuted(perm)
        case .concat(let axis):
            return Tensor.concat(x, axis: axis)
        case let .narrow(axis, start, length):
            return x[0].narrowed(axis: axis, start: start, length: length)
        case let .sum(axes, keepDims):
            guard let axes else { return x[0].sum() }
            return x[0].sum(axes: axes, keepDims: keepDims)
        case .softmax(let log):
            return log ? x[0].logSoftmax() : x[0].softmax()
        case .fakeQuantize(let q):
            return x[0].fakeQuantized(q)
        }
    }
}
