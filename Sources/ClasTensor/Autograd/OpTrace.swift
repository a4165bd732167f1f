/// One tensor operation as an exporter sees it: the kind of operation and its attributes. Inputs and the output
/// are passed alongside (``OpTracer/record(_:inputs:output:)``), in the order documented per case.
///
/// Composite operations (`mean`, `l2Normalized`, `dropout`, losses) are not listed: they are recorded as the
/// operations they are made of.
public enum TracedOp {
    /// Inputs: x [N, H, W, C], weight [Cout, KH, KW, Cin/groups], bias [Cout] (optional).
    case conv2d(stride: (Int, Int), padding: Padding2D, dilation: (Int, Int), groups: Int)
    /// Inputs: x [..., in], weight [out, in], bias [out] (optional).
    case linear
    /// Inputs: a [M, K], b [K, N].
    case matmul
    /// Inputs: a [..., M, K], b [..., K, N] (each possibly stored transposed in its last two dimensions).
    case batchedMatmul(transposeA: Bool, transposeB: Bool)
    /// Inputs: qkv [B, N, 3·C], then the additive bias [G, heads, N, N] when there is one; output [B, N, C]
    /// (``Tensor/multiHeadAttention(_:heads:scale:bias:dropout:seed:)``).
    case attention(heads: Int, scale: Float)
    /// Inputs: x [..., C], running mean, running variance, then gamma when `hasGamma`, beta when `hasBeta`.
    case batchNorm(eps: Float, activation: Activation, training: Bool, hasGamma: Bool, hasBeta: Bool)
    /// Inputs: x, then gamma and beta when affine; over the last dimension.
    case layerNorm(eps: Float)
    /// Inputs: x.
    case activation(Activation)
    /// Inputs: a, b (broadcast).
    case binary(BinaryOp)
    /// Inputs: x; computes x·alpha + beta.
    case affine(alpha: Float, beta: Float)
    /// Inputs: x.
    case unary(UnaryFunction)
    /// Inputs: x; computes max(x, bound).
    case clampMin(Float)
    /// Inputs: x (NHWC).
    case maxPool2d(kernel: (Int, Int), stride: (Int, Int), padding: Padding2D)
    /// Inputs: x (NHWC).
    case avgPool2d(kernel: (Int, Int), stride: (Int, Int), padding: Padding2D, countIncludePad: Bool)
    /// Inputs: x (NHWC); output [N, 1, 1, C] or [N, C].
    case globalAvgPool(keepDims: Bool)
    /// Inputs: x; the resolved new shape.
    case reshape([Int])
    /// Inputs: x; output dimension i is input dimension perm[i].
    case permute([Int])
    /// Inputs: the tensors joined (axis already non-negative).
    case concat(axis: Int)
    /// Inputs: x.
    case narrow(axis: Int, start: Int, length: Int)
    /// Inputs: x; `axes` nil sums every element to a rank-0 tensor.
    case sum(axes: [Int]?, keepDims: Bool)
    /// Inputs: x; over the last dimension.
    case softmax(log: Bool)
    /// Inputs: x.
    case fakeQuantize(QuantizationParameters)
}

/// Elementwise functions of one tensor (see `Ops/Math.swift`).
public enum UnaryFunction: Sendable {
    case exp, log, sqrt, square, abs
}

/// Receives every tensor operation while a trace is active (see ``OpTrace``).
public protocol OpTracer: AnyObject {
    /// Called once per operation, after its output is computed.
    func record(_ op: TracedOp, inputs: [Tensor], output: Tensor)
}

/// The switch that lets an exporter watch a forward pass: while a tracer is installed, every operation in `Ops/`
/// reports itself once (a single `OpTrace.record` line after it computes its output). With no tracer the cost is
/// one load and compare per operation; the arguments are autoclosures and are not built.
public enum OpTrace {
    /// The active tracer, if any. Training and inference run on one thread, so this is a plain static.
    nonisolated(unsafe) public private(set) static var current: OpTracer?

    /// Runs `body` with `tracer` receiving every operation, restoring the previous tracer afterwards.
    public static func tracing<T>(_ tracer: OpTracer, _ body: () throws -> T) rethrows -> T {
        let previous = current
        current = tracer
        defer { current = previous }
        return try body()
    }

    /// Reports an operation to the active tracer (no-op without one).
    @inline(__always)
    static func record(_ op: @autoclosure () -> TracedOp, _ inputs: @autoclosure () -> [Tensor], _ output: Tensor) {
        if let tracer = current { tracer.record(op(), inputs: inputs(), output: output) }
    }
}
