import ClasKernels

/// Zero padding of a 2-D window operation, per side.
public struct Padding2D: Equatable, Sendable {
    public var top: Int, bottom: Int, left: Int, right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        (self.top, self.bottom, self.left, self.right) = (top, bottom, left, right)
    }
    /// The same padding on every side.
    public init(_ p: Int) { self.init(top: p, bottom: p, left: p, right: p) }
    /// Symmetric padding: `h` above and below, `w` left and right.
    public init(h: Int, w: Int) { self.init(top: h, bottom: h, left: w, right: w) }

    public static let zero = Padding2D(0)
}

/// Geometry of a window over NHWC input: output size and the kernel library's description.
struct WindowGeometry {
    let g: clas_conv_geom

    init(input: [Int], kernel: (Int, Int), stride: (Int, Int), padding: Padding2D, dilation: (Int, Int)) {
        precondition(input.count == 4, "expected an NHWC tensor, got shape \(input)")
        let (n, h, w, c) = (input[0], input[1], input[2], input[3])
        let ekh = dilation.0 * (kernel.0 - 1) + 1, ekw = dilation.1 * (kernel.1 - 1) + 1
        let oh = (h + padding.top + padding.bottom - ekh) / stride.0 + 1
        let ow = (w + padding.left + padding.right - ekw) / stride.1 + 1
        precondition(oh > 0 && ow > 0, "window \(kernel) stride \(stride) is larger than the padded input \(input)")
        g = clas_conv_geom(n: Int64(n), h: Int64(h), w: Int64(w), c: Int64(c), oh: Int64(oh), ow: Int64(ow),
                           kh: Int64(kernel.0), kw: Int64(kernel.1), sh: Int64(stride.0), sw: Int64(stride.1),
                           pt: Int64(padding.top), pl: Int64(padding.left), dh: Int64(dilation.0), dw: Int64(dilation.1))
    }

    var outputShape: [Int] { [Int(g.n), Int(g.oh), Int(g.ow), Int(g.c)] }
    var rows: Int { Int(g.n * g.oh * g.ow) }
}

extension Tensor {
    /// 2-D convolution of NHWC input `x` with OHWI weights [Cout, KH, KW, Cin/groups] and optional bias [Cout].
    ///
    /// 1×1 convolutions are one GEMM, depthwise ones (groups = Cin = Cout) use SIMD kernels, others im2col + GEMM in
    /// cache-sized blocks of output pixels (recomputed in the backward pass rather than stored).
    public static func conv2d(
        _ x: Tensor, weight w: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
        padding: Padding2D = .zero, dilation: (Int, Int) = (1, 1), groups: Int = 1
    ) -> Tensor {
        precondition(w.rank == 4, "conv2d weight must be [Cout, KH, KW, Cin/groups], got \(w.shape)")
        let cin = x.shape[3], cout = w.shape[0], kh = w.shape[1], kw = w.shape[2]
        precondition(cin % groups == 0 && cout % groups == 0 && w.shape[3] == cin / groups,
                     "conv2d: input \(x.shape), weight \(w.shape), groups \(groups)")
        let geom = WindowGeometry(input: x.shape, kernel: (kh, kw), stride: stride, padding: padding, dilation: dilation)
        let out: Tensor
        if groups == cin && cout == cin && groups > 1 {
            out = depthwise(x, w, bias, geom)
        } else if kh == 1 && kw == 1 && stride == (1, 1) && padding == .zero && groups == 1 {
            out = pointwise(x, w, bias, geom)
        } else {
            out = general(x, w, bias, geom, groups)
        }
        OpTrace.record(.conv2d(stride: stride, padding: padding, dilation: dilation, groups: groups),
                       bias.map { [x, w, $0] } ?? [x, w], out)
        return out
    }

    private static func pointwise(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ geom: WindowGeometry) -> Tensor {
        let flat = x.reshapedData([geom.rows, x.shape[3]])
        let y = Tensor.linearData(flat, w.reshapedData([w.shape[0], w.shape[3]]), bias)
        let out = y.reshapedData(Array(geom.outputShape.dropLast()) + [w.shape[0]])
        guard needsGrad(x, w, bias) else { return out }
        let m = geom.rows, cin = x.shape[3], cout = w.shape[0]
        let sx = x.detached(), sw = w.detached(), rx = x.requiresGrad, rw = w.requiresGrad
        let rb = bias?.requiresGrad ?? false
        return out.record("conv1x1", bias.map { [x, w, $0] } ?? [x, w]) { g in
            var gx: Tensor? = nil, gw: Tensor? = nil, gb: Tensor? = nil
            if rx {
                gx = Tensor(uninitializedShape: sx.shape)
                clas_sgemm(false, false, Int64(m), Int64(cin), Int64(cout), 1, g.data, Int64(cout), sw.data,
                           Int64(cin), 0, gx!.data, Int64(cin))
            }
            if rw {
                gw = Tensor(uninitializedShape: sw.shape)
                clas_sgemm(true, false, Int64(cout), Int64(cin), Int64(m), 1, g.data, Int64(cout), sx.data, Int64(cin),
                           0, gw!.data, Int64(cin))
            }
            if rb {
                gb = Tensor(uninitializedShape: [cout])
                clas_sum_mid(g.data, gb!.data, 1, Int64(m), Int64(cout), false)
            }
            return bias == nil ? [gx, gw] : [gx, gw, gb]
        }
    }

    /// x [rows, in] · wᵀ [in, out] + bias, no graph.
    static func linearData(_ x: Tensor, _ w: Tensor, _ bias: Tensor?) -> Tensor {
        let rows = x.shape[0], inF = x.shape[1], outF = w.shape[0]
        let out = Tensor(uninitializedShape: [rows, outF])
        if let bias {
            for r in 0..<rows { (out.data + r * outF).update(from: bias.data, count: outF) }
        }
        clas_sgemm(false, true, Int64(rows), Int64(outF), Int64(inF), 1, x.data, Int64(inF), w.data, Int64(inF),
                   bias == nil ? 0 : 1, out.data, Int64(outF))
        return out
    }

    private static func depthwise(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ geom: WindowGeometry) -> Tensor {
        let out = Tensor(uninitializedShape: geom.outputShape)
        withUnsafePointer(to: geom.g) { gp in
            clas_dwconv_forward(gp, x.data, w.data, bias?.data, out.data)
        }
        guard needsGrad(x, w, bias) else { return out }
        let sx = x.detached(), sw = w.detached(), rx = x.requiresGrad, rw = w.requiresGrad
        let rb = bias?.requiresGrad ?? false
        return out.record("conv_depthwise", bias.map { [x, w, $0] } ?? [x, w]) { g in
            let gx = rx ? Tensor(uninitializedShape: sx.shape) : nil
            let gw = rw ? Tensor(uninitializedShape: sw.shape) : nil
            let gb = rb ? Tensor(uninitializedShape: [sw.shape[0]]) : nil
            withUnsafePointer(to: geom.g) { gp in
                clas_dwconv_backward(gp, sx.data, sw.data, g.data, gx?.data, gw?.data, gb?.data)
            }
            return bias == nil ? [gx, gw] : [gx, gw, gb]
        }
    }

    /// Input channel count up to which groups = 1 convolutions use the direct kernel (here and in the inference plan).
    public static let directConvMaxChannels = 4
    /// Output channel count up to which they do: a transformer's patch embedding (16×16 taps to 192 or 384 channels,
    /// or 4×4 to 192) runs 2–3× faster as im2col + GEMM, while a 3×3, 4×4 or 7×7 stem to 16…96 channels runs
    /// 1.1–4× faster directly (Zen 2, batch 32).
    public static let directConvMaxOutputs = 96
    /// Whether training takes the Winograd path where `clas_winograd_trainable` allows it (off: im2col + GEMM only).
    nonisolated(unsafe) public static var winogradTraining = true

    private static func general(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ geom: WindowGeometry, _ groups: Int)
        -> Tensor
    {
        let cin = x.shape[3], cout = w.shape[0], m = geom.rows
        let out = Tensor(uninitializedShape: Array(geom.outputShape.dropLast()) + [cout])
        // Few input channels (an RGB stem): a direct kernel beats im2col + a GEMM with K = kh·kw·cin.
        let direct = groups == 1 && cin <= Self.directConvMaxChannels && cout <= Self.directConvMaxOutputs
        // While training, 3×3 stride-1 convolutions with ≥ 32 channels and ≥ 14×14 outputs (ResNet's) run by
        // Winograd F(4×4, 3×3), forward and input gradient (winograd.c; within 2e-5 relative of im2col + GEMM).
        // Without a graph the eager forward stays im2col + GEMM, what the exporter traces and the references check.
        let training = needsGrad(x, w, bias)
        let winograd = training && Self.winogradTraining
            && withUnsafePointer(to: geom.g) { clas_winograd_trainable($0, Int64(groups), Int64(cout)) }
        withUnsafePointer(to: geom.g) { gp in
            if direct {
                clas_conv_direct_forward(gp, x.data, w.data, bias?.data, Int64(cout), out.data)
            } else if winograd {
                clas_conv_winograd_forward(gp, x.data, w.data, bias?.data, Int64(cout), out.data)
            } else {
                clas_conv_gemm_forward(gp, Int64(groups), x.data, w.data, bias?.data, Int64(cout), out.data)
            }
        }
        guard training else { return out }
        let sx = x.detached(), sw = w.detached(), rx = x.requiresGrad, rw = w.requiresGrad
        let rb = bias?.requiresGrad ?? false
        return out.record("conv2d", bias.map { [x, w, $0] } ?? [x, w]) { g in
            let gx = rx ? Tensor(uninitializedShape: sx.shape) : nil
            let gw = rw ? Tensor(uninitializedShape: sw.shape) : nil
            var gb: Tensor? = nil
            withUnsafePointer(to: geom.g) { gp in  // the direct kernel's convolution too: the same gradients
                if winograd, let gx { clas_conv_winograd_input_grad(gp, g.data, sw.data, Int64(cout), gx.data) }
                let ok = clas_conv_gemm_backward(gp, Int64(groups), sx.data, sw.data, g.data, Int64(cout),
                                                 winograd ? nil : gx?.data, gw?.data)
                precondition(ok, "conv2d backward: out of memory for the weight gradient's partial sums")
            }
            if rb {
                gb = Tensor(uninitializedShape: [cout])
                clas_sum_mid(g.data, gb!.data, 1, Int64(m), Int64(cout), false)
            }
            return bias == nil ? [gx, gw] : [gx, gw, gb]
        }
    }
}
