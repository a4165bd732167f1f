import ClasKernels
import ClasTensor

/// A uint8 activation (ONNX `QuantizeLinear` output): `real = (q − zero) · scale`, per tensor. `shape` is the storage
/// shape: NHWC for an image (`nhwc`), else the ONNX shape.
final class QuantizedActivation {
    let shape: [Int]
    let nhwc: Bool
    let scale: Float
    let zero: Int32
    private let storage: Storage

    init(shape: [Int], nhwc: Bool, scale: Float, zero: Int32) {
        (self.shape, self.nhwc, self.scale, self.zero) = (shape, nhwc, scale, zero)
        storage = Storage(count: (Tensor.count(of: shape) + 3) / 4 + 4)  // + 16 bytes: kernels read 16 at a time
    }

    var count: Int { Tensor.count(of: shape) }
    var bytes: UnsafeMutablePointer<UInt8> { UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt8.self) }

    /// `QuantizeLinear(activation(x))` with onnxruntime's rounding (ties to even, clamped to 0…255); `activation`
    /// is a `CLAS_ACT_*` value (a ReLU or hard-swish fused into the quantisation, else none).
    static func quantize(_ x: Tensor, nhwc: Bool, scale: Float, zero: Int32, activation: Int32 = 0) -> QuantizedActivation {
        let q = QuantizedActivation(shape: x.shape, nhwc: nhwc, scale: scale, zero: zero)
        clas_q8_quantize(x.data, q.bytes, Int64(x.count), scale, zero, activation)
        return q
    }

    /// `DequantizeLinear` with `scale` and `zero` (normally this value's own): the float values.
    func dequantized(scale: Float, zero: Int32) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let p = bytes
        for i in 0..<count { t.data[i] = Float(Int32(p[i]) - zero) * scale }
        return t
    }
}

/// A convolution or linear layer whose input and weights are quantised (a `DequantizeLinear` → `Conv`/`Gemm` pattern
/// of a QDQ model) run with the integer kernels: weights converted and packed once, then per call one integer GEMM,
/// im2col convolution or depthwise pass whose epilogue writes the float output
/// `(Σ (x − zx)·w) · sx·sw[j] + bias[j]`, which is what the float graph computes on the dequantised values (up to
/// float rounding), or onnxruntime's `QLinearConv` before its output is requantised.
final class QuantizedLayer {
    enum Kind {
        /// A 1×1 convolution with stride 1 and no padding over channels in groups of 4: one GEMM on the NHWC rows.
        case pointwise
        /// A k×k convolution: im2col row blocks fused with the GEMM.
        case dense
        /// A depthwise convolution (weights tap-major [kh·kw, c]).
        case depthwise
        /// `Gemm` on a [N, K] input.
        case linear
    }

    let kind: Kind
    let outputs: Int, inputs: Int
    let kernel: (h: Int, w: Int), stride: (Int, Int), dilation: (Int, Int), padding: Padding2D
    /// The activation quantisation it expects (the input's `QuantizeLinear`).
    let inputScale: Float, inputZero: Int32
    private let packed: [Int8]
    private let rowsum: [Int32]
    private let scale: [Float]
    private let bias: [Float]?

    /// - Parameters:
    ///   - weights: int8 OIHW (`[cout, cin, kh, kw]`; depthwise `[c, 1, kh, kw]`) or `[cout, k]` for `.linear`.
    ///   - weightScale: per output channel (or one value).
    init(kind: Kind, weights: [Int8], shape: [Int], weightScale: [Float], bias: [Float]?, inputScale: Float,
         inputZero: Int32, stride: (Int, Int) = (1, 1), dilation: (Int, Int) = (1, 1),
         padding: Padding2D = Padding2D(top: 0, bottom: 0, left: 0, right: 0)) {
        self.kind = kind
        outputs = shape[0]
        kernel = shape.count == 4 ? (shape[2], shape[3]) : (1, 1)
        inputs = kind == .depthwise ? outputs : shape[1]
        (self.stride, self.dilation, self.padding) = (stride, dilation, padding)
        (self.inputScale, self.inputZero) = (inputScale, inputZero)
        scale = (0..<outputs).map { inputScale * weightScale[weightScale.count == 1 ? 0 : $0] }
        self.bias = bias
        let taps = kernel.h * kernel.w
        switch kind {
        case .depthwise:  // [c, 1, kh, kw] → [tap, c]
            var wt = [Int8](repeating: 0, count: taps * outputs)
            for c in 0..<outputs { for t in 0..<taps { wt[t * outputs + c] = weights[c * taps + t] } }
            packed = wt
            rowsum = []
        case .linear:
            (packed, rowsum) = QuantizedLayer.pack(weights, n: outputs, k: inputs)
        case .pointwise, .dense:  // OIHW → OHWI rows
            let cin = inputs, k = taps * cin
            var rows = [Int8](repeating: 0, count: outputs * k)
            for o in 0..<outputs {
                for ci in 0..<cin { for t in 0..<taps { rows[o * k + t * cin + ci] = weights[(o * cin + ci) * taps + t] } }
            }
            (packed, rowsum) = QuantizedLayer.pack(rows, n: outputs, k: k)
        }
    }

    static func pack(_ w: [Int8], n: Int, k: Int) -> ([Int8], [Int32]) {
        var packed = [Int8](repeating: 0, count: Int(clas_q8_packed_size(Int64(n), Int64(k))))
        var rowsum = [Int32](repeating: 0, count: n)
        clas_q8_pack(w, Int64(n), Int64(k), &packed, &rowsum)
        return (packed, rowsum)
    }

    /// The uint8 quantisation a layer's output feeds (the next layer's `QuantizeLinear`, chained): per tensor, with the
    /// activation that quantisation reads (`CLAS_ACT_*`, fused).
    struct OutputQuantization {
        let scale: Float, zero: Int32, activation: Int32
    }

    /// The output for a quantised input (NHWC `[N, H, W, cin]`, or `[N, K]` for `.linear`): NHWC or `[N, cout]` float.
    func run(_ x: QuantizedActivation, relu: Bool = false) throws -> Tensor {
        try run(x, activation: relu ? Int32(CLAS_ACT_RELU) : 0, quantize: nil, keepFloat: true).float!
    }

    /// The float output (when `keepFloat`) and its quantisation `quantize` (when given), written by one epilogue: the
    /// uint8 values equal `QuantizedActivation.quantize` of the float output, which is never stored unless kept.
    /// `activation` (`CLAS_ACT_RELU`, `CLAS_ACT_HARDSWISH` or 0) is applied to the float output, after `residual` (the
    /// output's shape and layout, a fused residual `Add`) is added.
    func run(_ x: QuantizedActivation, activation: Int32, residual: Tensor? = nil, quantize: OutputQuantization?,
             keepFloat: Bool) throws -> (float: Tensor?, quantized: QuantizedActivation?) {
        guard x.scale == inputScale, x.zero == inputZero else {
            throw OnnxImportError("a quantised layer reads an activation quantised with another scale")
        }
        let shape: [Int]
        var g = clas_q8_conv_geom()
        if kind == .linear {
            guard x.shape.count == 2, !x.nhwc, x.shape[1] == inputs else {
                throw OnnxImportError("a quantised linear layer of \(inputs) inputs reads shape \(x.shape)")
            }
            shape = [x.shape[0], outputs]
        } else {
            guard x.nhwc, x.shape.count == 4, x.shape[3] == inputs else {
                throw OnnxImportError("a quantised convolution of \(inputs) channels reads shape \(x.shape)")
            }
            let spanH = dilation.0 * (kernel.h - 1) + 1, spanW = dilation.1 * (kernel.w - 1) + 1
            let (h, w) = (x.shape[1], x.shape[2])
            guard h + padding.top + padding.bottom >= spanH, w + padding.left + padding.right >= spanW else {
                throw OnnxImportError("a \(kernel.h)×\(kernel.w) quantised convolution does not fit a \(h)×\(w) input")
            }
            let oh = (h + padding.top + padding.bottom - spanH) / stride.0 + 1
            let ow = (w + padding.left + padding.right - spanW) / stride.1 + 1
            g = clas_q8_conv_geom(n: Int64(x.shape[0]), h: Int64(h), w: Int64(w), c: Int64(inputs),
                                  kh: Int64(kernel.h), kw: Int64(kernel.w), sh: Int64(stride.0), sw: Int64(stride.1),
                                  pt: Int64(padding.top), pl: Int64(padding.left), dh: Int64(dilation.0),
                                  dw: Int64(dilation.1), oh: Int64(oh), ow: Int64(ow))
            shape = [x.shape[0], oh, ow, outputs]
        }
        if let residual, residual.shape != shape {
            throw OnnxImportError("a quantised layer's output \(shape) is added to a value of shape \(residual.shape)")
        }
        let y = keepFloat || quantize == nil ? Tensor(uninitializedShape: shape) : nil
        let q = quantize.map { QuantizedActivation(shape: shape, nhwc: kind != .linear, scale: $0.scale, zero: $0.zero) }
        let (yf, yq) = (y?.data, q?.bytes)
        withEpilogue(activation: activation, residual: residual, quantize: quantize) { e in
            switch kind {
            case .linear:
                clas_q8_gemm(x.bytes, Int64(inputs), Int64(x.shape[0]), packed, Int64(outputs), Int64(inputs), e,
                             yf, yq, Int64(outputs))
            case .depthwise: clas_q8_depthwise(x.bytes, &g, packed, e, yf, yq)
            case .pointwise where stride == (1, 1) && padding == Padding2D(top: 0, bottom: 0, left: 0, right: 0)
                && inputs % 4 == 0:
                clas_q8_gemm(x.bytes, Int64(inputs), Int64(x.shape[0] * x.shape[1] * x.shape[2]), packed,
                             Int64(outputs), Int64(inputs), e, yf, yq, Int64(outputs))
            default: clas_q8_conv(x.bytes, &g, packed, Int64(outputs), e, yf, yq)
            }
        }
        return (y, q)
    }

    private func withEpilogue(activation: Int32, residual: Tensor?, quantize: OutputQuantization?,
                              _ body: (UnsafePointer<clas_q8_epilogue>) -> Void) {
        scale.withUnsafeBufferPointer { s in
            rowsum.withUnsafeBufferPointer { r in
                func call(_ b: UnsafePointer<Float>?) {
                    var e = clas_q8_epilogue(a_zero: inputZero, rowsum: r.baseAddress, relu: activation,
                                             scale: s.baseAddress, bias: b,
                                             residual: residual.map { UnsafePointer($0.data) }, bias_q: nil, requant: nil,
                                             y_zero: quantize?.zero ?? 0, q_scale: quantize?.scale ?? 0,
                                             q_act: quantize?.activation ?? 0)
                    body(&e)
                }
                if let bias { bias.withUnsafeBufferPointer { call($0.baseAddress) } } else { call(nil) }
            }
        }
    }
}
