import ClasTensor
import Foundation

/// The ONNX layers with constant weights or a window: convolution, pooling and `Gemm`, with the weight cache.
extension OnnxInterpreter {
    /// A constant input converted once (`OIHW → OHWI`, transposed, …) and cached; computed inputs every time.
    func weight(_ n: Args, _ i: Int, _ convert: () throws -> Tensor) throws -> Tensor {
        guard let id = n.node.inputs[i], program.constants[id] != nil || int8.folded[id] != nil else {
            return try convert()
        }
        let key = "\(n.node.output):\(i)"
        if let hit = lock.withLock({ prepared[key] }) { return hit }
        let t = try convert()
        lock.withLock { prepared[key] = t }
        return t
    }

    func conv(_ n: Args) throws -> Value {
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

    func pool(_ n: Args) throws -> Value {
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
    func window(_ n: Args, _ x: Tensor, kernel: (Int, Int), dilations: Bool)
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

    func gemm(_ n: Args) throws -> Value {
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
}
