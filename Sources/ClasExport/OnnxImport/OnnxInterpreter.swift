import ClasKernels
import ClasTensor
import Foundation

/// Runs an ``OnnxProgram`` with SwiftClas's tensor operations (inference only, no graph recorded).
///
/// ONNX images are NCHW, SwiftClas's kernels NHWC: every float value remembers whether it is stored NHWC (a rank-4
/// NCHW value with its channels last). Convolutions, pools and the elementwise operations between them work on NHWC
/// storage, so a network of them runs without a transpose; an operation that needs ONNX order (`Flatten`, `Reshape`,
/// `Gemm`, …) gets it by one permute. Constant weights are converted once (OIHW → OHWI) and cached. Before any
/// kernel runs, each operation checks its inputs' shapes and attributes and throws an ``OnnxImportError`` naming the
/// node, so a malformed file cannot trip a precondition.
public final class OnnxInterpreter {
    public let program: OnnxProgram

    /// A runtime value.
    enum Value {
        /// Float data; `nhwc`: a rank-4 NCHW value stored with channels last.
        case float(Tensor, nhwc: Bool)
        case integers(shape: [Int], values: [Int])
        /// uint8 data from a `QuantizeLinear` (read by native int8 layers, or dequantised).
        case quantized(QuantizedActivation)
    }

    /// The quantised layers that run with integer kernels (empty for a float model, see ``Int8Plan``).
    let int8: Int8Plan

    private var prepared: [String: Tensor] = [:]
    private let lock = NSLock()

    /// Prepares `program` and runs it once on zeros of the declared input shape (batch 2 when dynamic), so a file
    /// whose shapes do not fit together is refused here rather than during prediction.
    /// - Parameter integerKernels: run the quantised layers of a QDQ model with the integer kernels (default: when
    ///   the CPU has AVX512-VNNI or AVX-VNNI, or as `CLAS_INT8=native|float` says), else dequantise them to float.
    /// - Parameter chainIntegerLayers: let an integer layer quantise its output for the next one in its epilogue (the
    ///   same values as quantising the float output; default on, `CLAS_INT8_CHAIN=0` turns it off for comparisons).
    public init(_ program: OnnxProgram, integerKernels: Bool? = nil, chainIntegerLayers: Bool? = nil) throws {
        self.program = program
        int8 = Int8Plan(program, native: integerKernels ?? Int8Plan.usesIntegerKernels,
                        chain: chainIntegerLayers ?? (ProcessInfo.processInfo.environment["CLAS_INT8_CHAIN"] != "0"))
        let s = program.inputShape
        let probe = Tensor.zeros([s[0] ?? 2, s[2]!, s[3]!, s[1]!])
        let y = try run(nhwc: probe)
        guard y.rank == 2, y.shape[0] == probe.shape[0] else {
            throw OnnxImportError("the output '\(program.outputName)' has shape \(y.shape) for a batch of "
                                  + "\(probe.shape[0]); a classifier's is [N, classes]")
        }
    }

    /// How many convolution and linear layers run with the integer kernels.
    public var integerLayerCount: Int { int8.steps.count }
    /// How many of them quantise their output for the next integer layer in their epilogue (chained).
    public var chainedLayerCount: Int { int8.steps.values.filter { $0.quantized != nil }.count }
    /// The integer kernels' instruction set ("AVX512-VNNI", "AVX-VNNI", "portable").
    public static var integerKernelISA: String { String(cString: clas_q8_isa_name(clas_q8_isa())) }

    /// The declared input as (channels, height, width).
    public var inputSize: (channels: Int, height: Int, width: Int) {
        (program.inputShape[1]!, program.inputShape[2]!, program.inputShape[3]!)
    }

    /// The output `[N, classes]` for an NHWC image batch `x`.
    public func run(nhwc x: Tensor) throws -> Tensor {
        let s = program.inputShape
        guard x.rank == 4, x.shape[3] == s[1], x.shape[1] == s[2], x.shape[2] == s[3],
              s[0] == nil || s[0] == x.shape[0] else {
            let declared = s.map { $0.map(String.init) ?? "N" }
            throw OnnxImportError("input '\(program.inputName)' expects [N, C, H, W] = \(declared), "
                                  + "got images of NHWC shape \(x.shape) (check the preprocessing's size)")
        }
        return try GradMode.withoutGrad {
            var env = [Value?](repeating: nil, count: program.valueCount)
            for (id, c) in program.constants {
                switch c {
                case .float(let t): env[id] = .float(t, nhwc: false)
                case let .integers(shape, values): env[id] = .integers(shape: shape, values: values)
                }
            }
            for (id, t) in int8.folded { env[id] = .float(t, nhwc: false) }
            env[program.input] = .float(x, nhwc: true)
            for (index, node) in program.nodes.enumerated() {
                if int8.skipped.contains(index) { continue }
                if let step = int8.steps[index] {
                    guard case .quantized(let q)? = env[step.input] else {
                        throw OnnxImportError("\(node.label) reads a quantised value not computed yet")
                    }
                    var residual: Tensor?
                    if let r = step.residual {
                        guard case .float(let t, let nhwc)? = env[r], nhwc else {
                            throw OnnxImportError("\(node.label): the residual added to it is not an NHWC float image")
                        }
                        residual = t
                    }
                    let (y, yq) = try Profiler.measure("int8 \(step.layer.kind)") {
                        try step.layer.run(q, activation: step.activation, residual: residual,
                                           quantize: step.quantized?.quantization, keepFloat: step.keepFloat)
                    }
                    if let y { for o in step.outputs { env[o] = .float(y, nhwc: step.layer.kind != .linear) } }
                    if let yq, let o = step.quantized?.output { env[o] = .quantized(yq) }
                    continue
                }
                var node = node
                if let fused = int8.fusedActivations[index] {  // the quantisation reads the activation's input
                    node = OnnxProgram.Node(op: node.op, name: node.name, inputs: [fused.input] + node.inputs.dropFirst(),
                                            output: node.output, attributes: node.attributes)
                }
                let inputs = try node.inputs.map { id -> Value? in
                    guard let id else { return nil }
                    guard let v = env[id] else { throw OnnxImportError("\(node.label) reads a value not computed yet") }
                    return v
                }
                env[node.output] = try Profiler.measure("onnx \(node.op)") {
                    try apply(node, inputs, activation: int8.fusedActivations[index]?.activation ?? 0)
                }
            }
            guard case .float(let y, let nhwc)? = env[program.output] else {
                throw OnnxImportError("the output '\(program.outputName)' is not a float tensor")
            }
            return nhwc ? y.permuted([0, 3, 1, 2]) : y
        }
    }

    // MARK: operators

    /// - Parameter activation: for a `QuantizeLinear` whose activation the ``Int8Plan`` fused, its `CLAS_ACT_*` code.
    private func apply(_ node: OnnxProgram.Node, _ x: [Value?], activation: Int32 = 0) throws -> Value {
        let n = Args(node: node, values: x, uint8Constants: program.uint8Constants)
        switch node.op {
        case "Conv": return try conv(n)
        case "QuantizeLinear": return try quantize(n, activation: activation)
        case "DequantizeLinear": return try dequantize(n)
        case "Gemm": return try gemm(n)
        case "MatMul":
            let a = try n.logical(0), b = try n.logical(1)
            if a.rank >= 3, a.rank == b.rank, a.shape.dropLast(2) == b.shape.dropLast(2), a.shape.last == b.shape[b.rank - 2] {
                return .float(Tensor.batchedMatmul(a, b), nhwc: false)  // attention: [..., N, d] × [..., d, N]
            }
            guard a.rank >= 2, b.rank == 2, a.shape.last == b.shape[0] else {
                throw n.error("multiplies \(a.shape) by \(b.shape); SwiftClas runs [..., K] × [K, M]")
            }
            return .float(Tensor.linear(a, weight: try weight(n, 1) { b.transposed() }, bias: nil), nhwc: false)
        case "Add", "Sub", "Mul", "Div":
            let op: BinaryOp = ["Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div][node.op]!
            return try binary(n, op)
        case "Relu": return try n.unary { $0.activated(.relu) }
        case "Sigmoid": return try n.unary { $0.activated(.sigmoid) }
        case "Tanh": return try n.unary { $0.activated(.tanh) }
        case "HardSwish": return try n.unary { $0.activated(.hardswish) }
        case "HardSigmoid":
            let alpha = try n.float("alpha", default: 0.2), beta = try n.float("beta", default: 0.5)
            if alpha == Float(1) / 6 && beta == 0.5 { return try n.unary { $0.activated(.hardsigmoid) } }
            return try n.unary { t in OnnxInterpreter.map(t) { Swift.min(Swift.max(alpha * $0 + beta, 0), 1) } }
        case "Clip":
            let lo = try n.scalar(1) ?? -.infinity, hi = try n.scalar(2) ?? .infinity
            if lo == 0 && hi == 6 { return try n.unary { $0.activated(.relu6) } }
            return try n.unary { t in OnnxInterpreter.map(t) { Swift.min(Swift.max($0, lo), hi) } }
        case "Erf": return try n.unary { t in OnnxInterpreter.map(t) { Foundation.erf($0) } }
        case "Exp": return try n.unary { $0.exp() }
        case "Log": return try n.unary { $0.log() }
        case "Sqrt": return try n.unary { $0.sqrt() }
        case "Abs": return try n.unary { $0.abs() }
        case "Max":
            guard x.count == 2, let bound = try n.scalar(1) else {
                throw n.error("only Max(x, scalar constant) is supported")
            }
            return try n.unary { $0.clamped(min: bound) }
        case "MaxPool", "AveragePool": return try pool(n)
        case "GlobalAveragePool":
            let t = try n.nhwc(0)
            return .float(Tensor.globalAvgPool(t, keepDims: true), nhwc: true)
        case "Flatten":
            let t = try n.logical(0)
            var axis = try n.int("axis", default: 1)
            if axis < 0 { axis += t.rank }
            guard (0...t.rank).contains(axis) else { throw n.error("axis \(axis) for rank \(t.rank)") }
            let outer = Tensor.count(of: Array(t.shape[..<axis]))
            return .float(t.reshaped([outer, t.count / Swift.max(outer, 1)]), nhwc: false)
        case "Reshape": return try reshape(n)
        case "Transpose":
            let t = try n.logical(0)
            let perm = try n.ints("perm") ?? Array((0..<t.rank).reversed())
            guard perm.sorted() == Array(0..<t.rank), t.rank <= 8 else {
                throw n.error("perm \(perm) for shape \(t.shape)")
            }
            return .float(t.permuted(perm), nhwc: false)
        case "Concat": return try concat(n)
        case "Slice": return try slice(n)
        case "ReduceSum":
            let t = try n.logical(0)
            let keep = try n.int("keepdims", default: 1) != 0
            var axes = try n.integers(1) ?? []
            if axes.isEmpty {
                if try n.int("noop_with_empty_axes", default: 0) != 0 { return .float(t, nhwc: false) }
                axes = Array(0..<t.rank)
            }
            axes = try axes.map { try n.axis($0, rank: t.rank) }
            guard Set(axes).count == axes.count else { throw n.error("repeated axes \(axes)") }
            return .float(t.sum(axes: axes.sorted(), keepDims: keep), nhwc: false)
        case "Softmax", "LogSoftmax":
            let t = try n.logical(0)
            let axis = try n.axis(try n.int("axis", default: -1), rank: t.rank)
            let log = node.op == "LogSoftmax"
            if axis == t.rank - 1 { return .float(log ? t.logSoftmax() : t.softmax(), nhwc: false) }
            var perm = Array(0..<t.rank)
            perm.swapAt(axis, t.rank - 1)
            let moved = t.permuted(perm)
            return .float((log ? moved.logSoftmax() : moved.softmax()).permuted(perm), nhwc: false)
        case "LayerNormalization":
            let t = try n.logical(0), scale = try n.logical(1)
            guard try n.axis(try n.int("axis", default: -1), rank: t.rank) == t.rank - 1 else {
                throw n.error("normalises from axis \(try n.int("axis", default: -1)); SwiftClas normalises the last one")
            }
            let bias = x.count > 2 && x[2] != nil ? try n.logical(2) : nil
            guard scale.count == t.shape.last, bias.map({ $0.count == scale.count }) ?? true else {
                throw n.error("scale \(scale.shape) / bias \(bias?.shape ?? []) for input \(t.shape)")
            }
            let beta = bias ?? Tensor.zeros([scale.count])
            let y = Tensor.layerNorm(t, gamma: scale.reshaped([scale.count]), beta: beta.reshaped([scale.count]),
                                     eps: try n.float("epsilon", default: 1e-5))
            return .float(y, nhwc: false)
        case "Identity":
            guard let v = x.first ?? nil else { throw n.error("has no input") }
            return v
        case "Unsqueeze":
            let t = try n.logical(0)
            guard let raw = try n.integers(1) else { throw n.error("needs its axes input") }
            let rank = t.rank + raw.count
            let axes = try raw.map { try n.axis($0, rank: rank) }
            guard Set(axes).count == axes.count else { throw n.error("repeated axes \(raw)") }
            var shape: [Int] = [], rest = t.shape[...]
            for d in 0..<rank { shape.append(axes.contains(d) ? 1 : rest.popFirst()!) }
            return .float(t.reshaped(shape), nhwc: false)
        default:
            throw n.error("operator '\(node.op)' is not supported")
        }
    }

    /// A constant input converted once (`OIHW → OHWI`, transposed, …) and cached; computed inputs every time.
    private func weight(_ n: Args, _ i: Int, _ convert: () throws -> Tensor) throws -> Tensor {
        guard let id = n.node.inputs[i], program.constants[id] != nil || int8.folded[id] != nil else {
            return try convert()
        }
        let key = "\(n.node.output):\(i)"
        if let hit = lock.withLock({ prepared[key] }) { return hit }
        let t = try convert()
        lock.withLock { prepared[key] = t }
        return t
    }

    private func conv(_ n: Args) throws -> Value {
        let x = try n.nhwc(0), w = try n.logical(1)
        guard w.rank == 4 else { throw n.error("weight has shape \(w.shape); SwiftClas runs 2-D convolutions") }
        let groups = try n.int("group", default: 1)
        let (cout, cin, kh, kw) = (w.shape[0], x.shape[3], w.shape[2], w.shape[3])
        guard groups >= 1, cout >= 1, cin % groups == 0, cout % groups == 0, w.shape[1] == cin / groups else {
            throw n.error("input has \(cin) channels, weight \(w.shape), group \(groups)")
        }
        if let k = try n.ints("kernel_shape"), k != [kh, kw] {
            throw n.error("kernel_shape \(k) differs from the weight's")
        }
        let geometry = try window(n, x, kernel: (kh, kw), dilations: true)
        var bias: Tensor?
        if n.values.count > 2, n.values[2] != nil {
            let b = try n.logical(2)
            guard b.shape == [cout] else { throw n.error("bias has shape \(b.shape), expected [\(cout)]") }
            bias = b
        }
        let ohwi = try weight(n, 1) { w.permuted([0, 2, 3, 1]) }
        return .float(Tensor.conv2d(x, weight: ohwi, bias: bias, stride: geometry.stride, padding: geometry.padding,
                                    dilation: geometry.dilation, groups: groups), nhwc: true)
    }

    private func pool(_ n: Args) throws -> Value {
        let x = try n.nhwc(0)
        guard let k = try n.ints("kernel_shape"), k.count == 2 else { throw n.error("needs a 2-D kernel_shape") }
        guard try n.int("ceil_mode", default: 0) == 0 else { throw n.error("ceil_mode 1 is not supported") }
        guard try n.int("storage_order", default: 0) == 0 else { throw n.error("storage_order 1 is not supported") }
        let g = try window(n, x, kernel: (k[0], k[1]), dilations: n.node.op == "MaxPool")
        guard g.dilation == (1, 1) else { throw n.error("dilated pooling is not supported") }
        guard g.padding.top < k[0], g.padding.bottom < k[0], g.padding.left < k[1], g.padding.right < k[1] else {
            throw n.error("padding \(g.padding) is not smaller than the kernel \(k)")
        }
        if n.node.op == "MaxPool" {
            return .float(Tensor.maxPool2d(x, kernel: (k[0], k[1]), stride: g.stride, padding: g.padding), nhwc: true)
        }
        let include = try n.int("count_include_pad", default: 0) != 0
        return .float(Tensor.avgPool2d(x, kernel: (k[0], k[1]), stride: g.stride, padding: g.padding,
                                       countIncludePad: include), nhwc: true)
    }

    /// Strides, pads and dilations of a convolution or pool, checked against the NHWC input.
    private func window(_ n: Args, _ x: Tensor, kernel: (Int, Int), dilations: Bool)
        throws -> (stride: (Int, Int), padding: Padding2D, dilation: (Int, Int))
    {
        let autoPad = try n.string("auto_pad") ?? "NOTSET"
        guard autoPad == "NOTSET" else { throw n.error("auto_pad \(autoPad) is not supported (explicit pads only)") }
        let s = try n.ints("strides") ?? [1, 1], p = try n.ints("pads") ?? [0, 0, 0, 0]
        let d = dilations ? try n.ints("dilations") ?? [1, 1] : [1, 1]
        guard s.count == 2, p.count == 4, d.count == 2, s.allSatisfy({ $0 >= 1 && $0 <= 1024 }),
              p.allSatisfy({ $0 >= 0 && $0 <= 1024 }), d.allSatisfy({ $0 >= 1 && $0 <= 1024 }),
              kernel.0 >= 1, kernel.1 >= 1 else {
            throw n.error("strides \(s), pads \(p), dilations \(d) or kernel \(kernel) are invalid")
        }
        let spanH = d[0] * (kernel.0 - 1) + 1, spanW = d[1] * (kernel.1 - 1) + 1
        guard x.shape[1] + p[0] + p[2] >= spanH, x.shape[2] + p[1] + p[3] >= spanW else {
            throw n.error("kernel \(kernel) does not fit the \(x.shape[1])×\(x.shape[2]) input with pads \(p)")
        }
        return ((s[0], s[1]), Padding2D(top: p[0], bottom: p[2], left: p[1], right: p[3]), (d[0], d[1]))
    }

    private func gemm(_ n: Args) throws -> Value {
        var a = try n.logical(0)
        let b = try n.logical(1)
        guard a.rank == 2, b.rank == 2 else { throw n.error("Gemm of \(a.shape) and \(b.shape); both must be matrices") }
        if try n.int("transA", default: 0) != 0 { a = a.transposed() }
        let transB = try n.int("transB", default: 0) != 0
        let w = try weight(n, 1) { transB ? b : b.transposed() }
        guard a.shape[1] == w.shape[1] else { throw n.error("Gemm of \(a.shape) and \(b.shape) (transB \(transB))") }
        let alpha = try n.float("alpha", default: 1), beta = try n.float("beta", default: 1)
        var bias: Tensor?
        if n.values.count > 2, n.values[2] != nil {
            let c = try n.logical(2)
            guard c.count == w.shape[0] || c.count == 1 else {
                throw n.error("C has shape \(c.shape) for \(w.shape[0]) outputs")
            }
            bias = c.count == w.shape[0] ? c.reshaped([w.shape[0]]) : Tensor(shape: [w.shape[0]], repeating: c.data[0])
        }
        if alpha == 1 && beta == 1 { return .float(Tensor.linear(a, weight: w, bias: bias), nhwc: false) }
        var y = Tensor.linear(a, weight: w, bias: nil).affine(alpha, 0)
        if let bias { y = Tensor.binary(.add, y, bias.affine(beta, 0)) }
        return .float(y, nhwc: false)
    }

    private func binary(_ n: Args, _ op: BinaryOp) throws -> Value {
        guard case .float(var a, let an)? = n.values.first ?? nil, n.values.count == 2,
              case .float(var b, let bn)? = n.values[1] else { throw n.error("needs two float inputs") }
        var nhwc = false
        if an || bn {
            // Broadcasting in NHWC storage: the other operand padded to rank 4 (leading 1s) and moved the same way.
            func toNHWC(_ t: Tensor, _ stored: Bool) throws -> Tensor {
                if stored { return t }
                guard t.rank <= 4 else { throw n.error("operand of rank \(t.rank) with an image") }
                let padded = t.reshaped([Int](repeating: 1, count: 4 - t.rank) + t.shape)
                return t.count == 1 ? padded : padded.permuted([0, 2, 3, 1])
            }
            a = try toNHWC(a, an)
            b = try toNHWC(b, bn)
            nhwc = true
        }
        guard OnnxInterpreter.broadcastable(a.shape, b.shape) else {
            throw n.error("cannot broadcast \(a.shape) with \(b.shape)")
        }
        return .float(Tensor.binary(op, a, b), nhwc: nhwc)
    }

    private func reshape(_ n: Args) throws -> Value {
        let t = try n.logical(0)
        guard let target = try n.integers(1) else { throw n.error("needs a constant shape input") }
        guard try n.int("allowzero", default: 0) == 0 else { throw n.error("allowzero 1 is not supported") }
        var shape = try target.enumerated().map { i, d -> Int in
            if d == 0 {
                guard i < t.rank else { throw n.error("shape \(target) copies dimension \(i) of \(t.shape)") }
                return t.shape[i]
            }
            guard d >= -1 else { throw n.error("shape \(target) has a negative dimension") }
            return d
        }
        guard let known = OnnxInterpreter.count(shape.filter { $0 != -1 }) else {
            throw n.error("cannot reshape \(t.shape) to \(target)")
        }
        if let i = shape.firstIndex(of: -1) {
            guard shape.filter({ $0 == -1 }).count == 1, known > 0, t.count % known == 0 else {
                throw n.error("cannot reshape \(t.shape) to \(target)")
            }
            shape[i] = t.count / known
        }
        guard OnnxInterpreter.count(shape) == t.count else { throw n.error("cannot reshape \(t.shape) to \(target)") }
        return .float(t.reshaped(shape), nhwc: false)
    }

    private func concat(_ n: Args) throws -> Value {
        let inputs = n.values.compactMap { $0 }
        guard !inputs.isEmpty, inputs.count == n.values.count else { throw n.error("needs its inputs") }
        let allNHWC = inputs.allSatisfy { if case .float(_, true) = $0 { return true } else { return false } }
        let tensors = try (0..<inputs.count).map { allNHWC ? try n.nhwc($0) : try n.logical($0) }
        let rank = tensors[0].rank
        var axis = try n.axis(try n.int("axis"), rank: rank)
        if allNHWC { axis = [0, 3, 1, 2][axis] }
        let fits = tensors.allSatisfy { t in
            t.rank == rank && (0..<rank).allSatisfy { $0 == axis || t.shape[$0] == tensors[0].shape[$0] }
        }
        guard fits else {
            throw n.error("cannot concatenate \(tensors.map(\.shape))")
        }
        return .float(Tensor.concat(tensors, axis: axis), nhwc: allNHWC)
    }

    private func slice(_ n: Args) throws -> Value {
        let t = try n.logical(0)
        guard let starts = try n.integers(1), let ends = try n.integers(2), starts.count == ends.count else {
            throw n.error("needs constant starts and ends of the same length")
        }
        let axes = try (try n.integers(3) ?? Array(0..<starts.count)).map { try n.axis($0, rank: t.rank) }
        if let steps = try n.integers(4), steps.contains(where: { $0 != 1 }) { throw n.error("steps other than 1") }
        guard axes.count == starts.count, Set(axes).count == axes.count else {
            throw n.error("axes \(axes) for \(starts.count) starts")
        }
        var y = t
        for (k, axis) in axes.enumerated() {
            let size = t.shape[axis]
            func clampIndex(_ i: Int) -> Int { Swift.min(Swift.max(i < 0 ? i + size : i, 0), size) }
            let s = clampIndex(starts[k]), e = clampIndex(ends[k])
            y = y.narrowed(axis: axis, start: s, length: Swift.max(e - s, 0))
        }
        return .float(y, nhwc: false)
    }

    // MARK: helpers

    /// `f` applied to every element (for operators with no tensor op of their own).
    static func map(_ t: Tensor, _ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: t.shape)
        for i in 0..<t.count { out.data[i] = f(t.data[i]) }
        return out
    }

    /// The element count of `shape`, nil when it overflows.
    static func count(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// NumPy's broadcasting rule.
    static func broadcastable(_ a: [Int], _ b: [Int]) -> Bool {
        for (x, y) in zip(a.reversed(), b.reversed()) where x != y && x != 1 && y != 1 { return false }
        return true
    }
}
