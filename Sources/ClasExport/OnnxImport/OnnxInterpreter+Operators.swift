import ClasKernels
import ClasTensor
import Foundation

/// The ONNX operators the interpreter runs in float (dispatch, and those that move or combine tensors); layers with
/// weights or windows are in `OnnxInterpreter+Layers.swift`, the QDQ operators in `OnnxInterpreter+Int8.swift`.
extension OnnxInterpreter {
    /// - Parameter activation: for a `QuantizeLinear` whose activation the ``Int8Plan`` fused, its `CLAS_ACT_*` code.
    func apply(_ node: OnnxProgram.Node, _ x: [Value?], activation: Int32 = 0) throws -> Value {
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

    func binary(_ n: Args, _ op: BinaryOp) throws -> Value {
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

    func reshape(_ n: Args) throws -> Value {
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

    func concat(_ n: Args) throws -> Value {
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

    func slice(_ n: Args) throws -> Value {
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
