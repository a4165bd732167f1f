import ClasKernels
import ClasTensor

/// The QDQ operators, for the values the ``Int8Plan`` leaves to the interpreter.
extension OnnxInterpreter {
    /// `QuantizeLinear` to uint8, per tensor (what SwiftClas's exporter writes for activations); an NCHW image is
    /// stored NHWC, like the float values convolutions read.
    func quantize(_ n: Args, activation: Int32) throws -> Value {
        guard case let .float(t, nhwc)? = n.values.first ?? nil else { throw n.error("input 0 is not a float tensor") }
        let (scale, zero) = try n.quantization()
        let image = !nhwc && t.rank == 4
        return .quantized(.quantize(image ? t.permuted([0, 2, 3, 1]) : t, nhwc: nhwc || image, scale: scale, zero: zero,
                                    activation: activation))
    }

    /// `DequantizeLinear` of a computed uint8 value (dequantised constants are folded at load, ``Int8Plan``).
    func dequantize(_ n: Args) throws -> Value {
        guard case .quantized(let q)? = n.values.first ?? nil else {
            throw n.error("dequantises a value that is not the uint8 output of a QuantizeLinear (per-axis or "
                          + "int8 activations are not supported)")
        }
        let (scale, zero) = try n.quantization()
        return .float(q.dequantized(scale: scale, zero: zero), nhwc: q.nhwc)
    }

    /// `QuantizeLinear(a · b)` of the `Mul` the ``Int8Plan`` fused into it (`n`'s input 0, the product, is nil): a
    /// squeeze-excite gate ([N, C, 1, 1]) times an NHWC image in one pass (`clas_q8_quantize_scaled`, the values a
    /// float `Mul` then `QuantizeLinear` give); other operands are multiplied first.
    func quantizeProduct(_ n: Args, _ a: Value, _ b: Value) throws -> Value {
        let (scale, zero) = try n.quantization()
        for (image, gate) in [(a, b), (b, a)] {
            guard case .float(let x, true) = image, case .float(let g, let gn) = gate, x.rank == 4, g.rank == 4,
                  g.shape == (gn ? [x.shape[0], 1, 1, x.shape[3]] : [x.shape[0], x.shape[3], 1, 1]) else { continue }
            let q = QuantizedActivation(shape: x.shape, nhwc: true, scale: scale, zero: zero)
            clas_q8_quantize_scaled(x.data, g.data, q.bytes, Int64(x.shape[0]), Int64(x.shape[1] * x.shape[2]),
                                    Int64(x.shape[3]), scale, zero)
            return .quantized(q)
        }
        let mul = Args(node: n.node, values: [a, b], uint8Constants: n.uint8Constants)
        return try quantize(Args(node: n.node, values: [try binary(mul, .mul)] + n.values.dropFirst(),
                                 uint8Constants: n.uint8Constants), activation: 0)
    }
}
