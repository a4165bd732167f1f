import ClasKernels
import ClasTensor
import Foundation

/// Which nodes of a QDQ model run natively in int8, found once when the program is loaded.
///
/// Like onnxruntime's QDQ selectors, it looks for `QuantizeLinear → DequantizeLinear → Conv|Gemm` with the weight a
/// `DequantizeLinear` of an int8 constant (zero point 0, per output channel or per tensor) and a float or absent
/// bias. Such a node becomes a ``QuantizedLayer`` reading the `QuantizeLinear`'s uint8 output directly; the
/// activation's `DequantizeLinear` is then skipped when nothing else reads it, and a `Relu` or `HardSwish` that is the
/// convolution's only reader is fused into its epilogue, as is a residual `Add` (and a `Relu` after it). A layer whose
/// output a `QuantizeLinear` reads quantises it in its epilogue (chained), so consecutive integer layers pass uint8.
/// `DequantizeLinear` of constants is folded to float once. Everything else runs in float as before, so a partly
/// quantised model still runs.
struct Int8Plan {
    /// How QDQ models run: `auto` uses the integer kernels when the CPU has AVX512-VNNI or AVX-VNNI, `float`
    /// dequantises and runs the float graph (fake quantisation), `native` uses the integer kernels on any CPU (the
    /// portable loop where VNNI is missing). Set by `CLAS_INT8=auto|native|float`.
    enum Mode: String { case auto, native, float }
    nonisolated(unsafe) static var mode = Mode(rawValue: ProcessInfo.processInfo.environment["CLAS_INT8"] ?? "") ?? .auto

    /// Whether the integer kernels are used under the current mode on this CPU.
    static var usesIntegerKernels: Bool {
        switch mode {
        case .native: return true
        case .float: return false
        case .auto: return clas_q8_isa() != Int32(CLAS_Q8_PORTABLE)
        }
    }

    struct Step {
        let layer: QuantizedLayer
        /// The value id of the uint8 input (the `QuantizeLinear` output).
        let input: Int
        /// Value ids that receive the output (the node's, and those of a fused activation or residual `Add`).
        let outputs: [Int]
        /// The activation fused into the epilogue (`CLAS_ACT_RELU` or `CLAS_ACT_HARDSWISH`, 0: none).
        let activation: Int32
        /// A chained `QuantizeLinear` (value id of its output, its quantisation) that the layer's epilogue computes
        /// itself; the node is skipped.
        var quantized: (output: Int, quantization: QuantizedLayer.OutputQuantization)?
        /// Whether anything reads the float output (else only the uint8 one is written).
        var keepFloat = true
        /// The value id of a float tensor added to the output before the activation (a fused residual `Add`).
        var residual: Int?
    }

    /// Native steps by node index.
    private(set) var steps: [Int: Step] = [:]
    /// Node indices not executed (folded constants, replaced dequantisations, fused activations).
    private(set) var skipped: Set<Int> = []
    /// Float values of folded `DequantizeLinear`s of constants, by value id.
    private(set) var folded: [Int: Tensor] = [:]
    /// `QuantizeLinear` nodes (by index) that apply the activation they read themselves: the activation's input
    /// value id and its `CLAS_ACT_*` code (the activation node is skipped).
    private(set) var fusedActivations: [Int: (input: Int, activation: Int32)] = [:]
    /// `QuantizeLinear` nodes (by index) that multiply the two inputs of the `Mul` they read themselves (a
    /// squeeze-excite gate times the image, quantised in one pass; the `Mul` is skipped).
    private(set) var fusedProducts: [Int: (a: Int, b: Int)] = [:]

    /// A quantised constant: int8/uint8 values with their dequantisation.
    private struct QuantizedConstant {
        let shape: [Int], values: [Int], scale: [Float], zero: [Int], axis: Int
    }

    init(_ p: OnnxProgram, native: Bool, chain: Bool = true, fuseProducts: Bool = true) {
        var producer: [Int: Int] = [:], readers: [Int: [Int]] = [:]
        for (i, n) in p.nodes.enumerated() {
            producer[n.output] = i
            for case let id? in n.inputs { readers[id, default: []].append(i) }
        }
        readers[p.output, default: []].append(-1)
        func floats(_ id: Int??) -> [Float]? {
            guard let id = id ?? nil, case .float(let t)? = p.constants[id] else { return nil }
            return t.scalars
        }
        func zeros(_ n: OnnxProgram.Node, count: Int) -> [Int]? {
            guard n.inputs.count > 2, let id = n.inputs[2] else { return [Int](repeating: 0, count: count) }
            guard case let .integers(_, v)? = p.constants[id] else { return nil }
            return v
        }

        var weights: [Int: QuantizedConstant] = [:]
        for (i, n) in p.nodes.enumerated() where n.op == "DequantizeLinear" {
            guard let x = n.inputs[0], case let .integers(shape, values)? = p.constants[x],
                  let scale = floats(n.inputs.count > 1 ? n.inputs[1] : nil), let zero = zeros(n, count: scale.count),
                  zero.count == scale.count else { continue }
            var axis = 1
            if case .int(let a)? = n.attributes["axis"] { axis = a < 0 ? a + shape.count : a }
            if scale.count > 1 { guard (0..<shape.count).contains(axis), shape[axis] == scale.count else { continue } }
            let inner = scale.count > 1 ? Tensor.count(of: Array(shape[(axis + 1)...])) : 1
            let t = Tensor(shape: shape, values: values.enumerated().map { k, v in
                let c = scale.count > 1 ? (k / inner) % scale.count : 0
                return Float(v - zero[c]) * scale[c]
            })
            folded[n.output] = t
            skipped.insert(i)
            if p.int8Constants.contains(x) {
                weights[n.output] = QuantizedConstant(shape: shape, values: values, scale: scale, zero: zero, axis: axis)
            }
        }
        guard native else { return }

        for (i, n) in p.nodes.enumerated() where n.op == "Conv" || n.op == "Gemm" {
            guard n.inputs.count >= 2, let x = n.inputs[0], let d = producer[x], p.nodes[d].op == "DequantizeLinear",
                  let q = p.nodes[d].inputs[0], let qn = producer[q], p.nodes[qn].op == "QuantizeLinear",
                  let act = activation(p, p.nodes[d]), activation(p, p.nodes[qn]).map({ $0 == act }) == true,
                  let wid = n.inputs[1], let w = weights[wid], w.zero.allSatisfy({ $0 == 0 }),
                  w.scale.count == 1 || w.axis == (n.op == "Gemm" && !Int8Plan.flag(n, "transB") ? 1 : 0)
            else { continue }
            var bias: [Float]?
            if n.inputs.count > 2, let b = n.inputs[2] {
                guard let v = floats(b) else { continue }
                bias = v
            }
            guard let layer = Int8Plan.layer(n, w, bias: bias, scale: act.scale, zero: act.zero) else { continue }
            var outputs = [n.output], epilogueActivation: Int32 = 0
            if let r = readers[n.output], r.count == 1, r[0] >= 0, let code = Int8Plan.epilogueActivations[p.nodes[r[0]].op] {
                outputs.append(p.nodes[r[0]].output)
                skipped.insert(r[0])
                epilogueActivation = code
            }
            steps[i] = Step(layer: layer, input: q, outputs: outputs, activation: epilogueActivation, quantized: nil)
        }
        // A ReLU or hard-swish read only by a QuantizeLinear is computed inside the quantisation pass.
        let codes = Int8Plan.epilogueActivations
        for (i, n) in p.nodes.enumerated() where n.op == "QuantizeLinear" {
            guard let x = n.inputs[0], let a = producer[x], !skipped.contains(a), let code = codes[p.nodes[a].op],
                  readers[x] == [i], let input = p.nodes[a].inputs.first ?? nil else { continue }
            skipped.insert(a)
            fusedActivations[i] = (input, code)
        }
        // A `Mul` of two computed values read only by a QuantizeLinear (MobileNetV3's squeeze-excite scaling before
        // the projection) is computed inside the quantisation pass.
        for (i, n) in p.nodes.enumerated() where n.op == "QuantizeLinear" && fuseProducts && fusedActivations[i] == nil {
            guard let x = n.inputs[0], let m = producer[x], !skipped.contains(m), p.nodes[m].op == "Mul",
                  readers[x] == [i], p.nodes[m].inputs.count == 2, let a = p.nodes[m].inputs[0],
                  let b = p.nodes[m].inputs[1], p.constants[a] == nil, p.constants[b] == nil, folded[a] == nil,
                  folded[b] == nil else { continue }
            skipped.insert(m)
            fusedProducts[i] = (a, b)
        }
        // A residual `Add` that is a convolution's only reader (without a ReLU of its own), of a float value computed
        // before it, is added in the epilogue, with a `Relu` that is the sum's only reader (ResNet's block end).
        for (i, step) in steps where step.activation == 0 && step.layer.kind != .linear {
            guard let r = readers[step.outputs[0]], r.count == 1, r[0] >= 0, p.nodes[r[0]].op == "Add",
                  p.nodes[r[0]].inputs.count == 2 else { continue }
            let add = p.nodes[r[0]]
            let others = add.inputs.compactMap { $0 }.filter { $0 != step.outputs[0] }
            guard others.count == 1, let o = others.first, p.constants[o] == nil, folded[o] == nil,
                  producer[o].map({ $0 < i }) ?? (o == p.input) else { continue }
            var outputs = step.outputs + [add.output], act: Int32 = 0
            skipped.insert(r[0])
            if let rr = readers[add.output], rr.count == 1, rr[0] >= 0, p.nodes[rr[0]].op == "Relu" {
                outputs.append(p.nodes[rr[0]].output)
                skipped.insert(rr[0])
                act = Int32(CLAS_ACT_RELU)
            }
            var fused = Step(layer: step.layer, input: step.input, outputs: outputs, activation: act, quantized: nil)
            fused.residual = o
            steps[i] = fused
        }
        // Chaining: a layer whose output a QuantizeLinear reads (directly, or through an activation fused into it)
        // quantises in its epilogue, so the next layer reads uint8 without a float round trip; the float output is
        // kept only when something else reads it.
        var fusedReader: [Int: Int] = [:]  // activation input id → the QuantizeLinear that applies the activation
        for (i, f) in fusedActivations { fusedReader[f.input] = i }
        for (i, step) in steps where chain {
            let v = step.outputs.last!
            guard let r = readers[v] else { continue }
            let direct = r.first { $0 >= 0 && p.nodes[$0].op == "QuantizeLinear" && fusedActivations[$0] == nil }
            guard let qi = fusedReader[v] ?? direct, let qa = activation(p, p.nodes[qi]) else { continue }
            let act = fusedActivations[qi]
            let others = r.filter { $0 < 0 || ($0 != qi && !(act != nil && p.nodes[$0].output == p.nodes[qi].inputs[0])) }
            steps[i]!.quantized = (p.nodes[qi].output, .init(scale: qa.scale, zero: qa.zero, activation: act?.activation ?? 0))
            steps[i]!.keepFloat = !others.isEmpty
            skipped.insert(qi)
        }
        // An activation's DequantizeLinear is needed only if something other than a native layer reads it.
        for (i, n) in p.nodes.enumerated() where n.op == "DequantizeLinear" && !skipped.contains(i) {
            if let r = readers[n.output], r.allSatisfy({ $0 >= 0 && steps[$0] != nil }) { skipped.insert(i) }
        }
    }

    /// A per-tensor uint8 quantisation (scale, zero point) of a `QuantizeLinear`/`DequantizeLinear` node.
    private func activation(_ p: OnnxProgram, _ n: OnnxProgram.Node) -> (scale: Float, zero: Int32)? {
        guard n.inputs.count >= 2, let s = n.inputs[1], case .float(let scale)? = p.constants[s], scale.count == 1,
              scale.data[0] > 0, scale.data[0].isFinite else { return nil }
        guard n.inputs.count > 2, let z = n.inputs[2] else { return (scale.data[0], 0) }  // omitted: uint8 0
        guard p.uint8Constants.contains(z), case let .integers(_, zero)? = p.constants[z], zero.count == 1 else { return nil }
        return (scale.data[0], Int32(zero[0]))
    }

    /// Activations a convolution's epilogue applies when they are its output's only reader.
    static let epilogueActivations = ["Relu": Int32(CLAS_ACT_RELU), "HardSwish": Int32(CLAS_ACT_HARDSWISH)]

    private static func flag(_ n: OnnxProgram.Node, _ name: String) -> Bool {
        if case .int(let v)? = n.attributes[name] { return v != 0 }
        return false
    }
    private static func ints(_ n: OnnxProgram.Node, _ name: String) -> [Int]? {
        if case .ints(let v)? = n.attributes[name] { return v }
        return nil
    }

    /// The integer layer for a `Conv` or `Gemm` node with quantised weights `w`, or nil when the node has a form the
    /// integer kernels do not cover (grouped non-depthwise convolutions, `auto_pad`, transposed A, alpha/beta ≠ 1).
    private static func layer(_ n: OnnxProgram.Node, _ w: QuantizedConstant, bias: [Float]?, scale: Float,
                              zero: Int32) -> QuantizedLayer? {
        let int8 = w.values.map { Int8(clamping: $0) }
        let cout = n.op == "Gemm" && !flag(n, "transB") ? w.shape.last ?? 0 : w.shape.first ?? 0
        if let bias, bias.count != cout { return nil }
        let wscale = w.scale
        if n.op == "Gemm" {
            guard w.shape.count == 2, !flag(n, "transA") else { return nil }
            for a in ["alpha", "beta"] { if case .float(let v)? = n.attributes[a], v != 1 { return nil } }
            var rows = int8
            let (k, out) = flag(n, "transB") ? (w.shape[1], w.shape[0]) : (w.shape[0], w.shape[1])
            if !flag(n, "transB") {  // [K, N] → [N, K]
                rows = (0..<(out * k)).map { i in int8[(i % k) * out + i / k] }
            }
            return QuantizedLayer(kind: .linear, weights: rows, shape: [out, k], weightScale: wscale, bias: bias,
                                  inputScale: scale, inputZero: zero)
        }
        guard w.shape.count == 4 else { return nil }
        if case .string(let s)? = n.attributes["auto_pad"], s != "NOTSET" { return nil }
        if let k = ints(n, "kernel_shape"), k != [w.shape[2], w.shape[3]] { return nil }
        let s = ints(n, "strides") ?? [1, 1], p = ints(n, "pads") ?? [0, 0, 0, 0], d = ints(n, "dilations") ?? [1, 1]
        guard s.count == 2, p.count == 4, d.count == 2, s.allSatisfy({ (1...1024).contains($0) }),
              p.allSatisfy({ (0...1024).contains($0) }), d.allSatisfy({ (1...1024).contains($0) }) else { return nil }
        var group = 1
        if case .int(let g)? = n.attributes["group"] { group = g }
        let kind: QuantizedLayer.Kind
        if group == 1 {
            kind = w.shape[2] == 1 && w.shape[3] == 1 ? .pointwise : .dense
        } else if group == cout, w.shape[1] == 1 {
            kind = .depthwise
        } else {
            return nil
        }
        return QuantizedLayer(kind: kind, weights: int8, shape: w.shape, weightScale: wscale, bias: bias,
                              inputScale: scale, inputZero: zero, stride: (s[0], s[1]), dilation: (d[0], d[1]),
                              padding: Padding2D(top: p[0], bottom: p[2], left: p[1], right: p[3]))
    }
}
