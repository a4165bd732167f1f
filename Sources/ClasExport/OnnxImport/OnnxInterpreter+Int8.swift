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
}
