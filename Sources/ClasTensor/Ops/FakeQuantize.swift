/// Affine 8-bit quantisation: q = clamp(round(x / scale) + zeroPoint, qmin, qmax) (ties to even, as ONNX's
/// QuantizeLinear), dequantised back to x̂ = (q − zeroPoint)·scale.
public struct QuantizationParameters: Sendable, Equatable {
    /// One scale per tensor, or one per index of `axis`.
    public var scale: [Float]
    /// Zero points, as many as scales.
    public var zeroPoint: [Int32]
    /// nil for one scale for the whole tensor; otherwise the axis the scales run along (per channel).
    public var axis: Int?
    /// Smallest and largest quantised value (−128…127 for int8, 0…255 for uint8).
    public var qmin: Int32
    public var qmax: Int32

    public init(scale: [Float], zeroPoint: [Int32], axis: Int? = nil, qmin: Int32, qmax: Int32) {
        precondition(!scale.isEmpty && scale.count == zeroPoint.count, "quantisation: \(scale.count) scales, \(zeroPoint.count) zero points")
        precondition(scale.allSatisfy { $0 > 0 && $0.isFinite }, "quantisation scales must be positive and finite")
        precondition(qmin < qmax, "quantisation range \(qmin)…\(qmax) is empty")
        (self.scale, self.zeroPoint, self.axis, self.qmin, self.qmax) = (scale, zeroPoint, axis, qmin, qmax)
    }

    /// Whether the quantised values are signed (int8) rather than unsigned (uint8).
    public var isSigned: Bool { qmin < 0 }

    /// Symmetric signed per-channel parameters for `weights` along `axis`: scale = max|w| / 127 per channel, zero
    /// point 0 (a channel of zeros, or of non-finite values, gets scale 1). `bits` 7 (onnxruntime's `reduce_range`)
    /// keeps the values in −64…63 with scale max|w| / 63, so that CPUs without VNNI, whose u8 × s8 instructions
    /// saturate pairs of products at ±32767, sum them exactly.
    public static func symmetricInt8(perChannelOf weights: Tensor, axis: Int = 0, bits: Int = 8) -> QuantizationParameters {
        precondition((2...8).contains(bits), "weight quantisation: \(bits) bits")
        let qmax = Int32(1 << (bits - 1)) - 1
        let channels = weights.shape[axis]
        let inner = Tensor.count(of: Array(weights.shape[(axis + 1)...]))
        let outer = weights.count / max(channels * inner, 1)
        var maxAbs = [Float](repeating: 0, count: channels)
        let p = weights.data
        for o in 0..<outer {
            for c in 0..<channels {
                let base = (o * channels + c) * inner
                var m = maxAbs[c]
                for i in 0..<inner { m = Swift.max(m, Swift.abs(p[base + i])) }
                maxAbs[c] = m
            }
        }
        let scale = maxAbs.map { $0 > 0 && $0.isFinite ? $0 / Float(qmax) : 1 }
        return QuantizationParameters(scale: scale, zeroPoint: [Int32](repeating: 0, count: channels), axis: axis,
                                      qmin: -qmax - 1, qmax: qmax)
    }

    /// Asymmetric unsigned 8-bit per-tensor parameters covering [low, high], widened to include 0 so that zero
    /// (padding, ReLU outputs) is exact: scale = (high − low) / 255, zero point = round(−low / scale). Non-finite bounds
    /// count as 0.
    public static func asymmetricUInt8(low: Float, high: Float) -> QuantizationParameters {
        let lo = low.isFinite ? Swift.min(low, 0) : 0, hi = high.isFinite ? Swift.max(high, 0) : 0
        let scale = hi > lo ? (hi - lo) / 255 : 1
        let zp = Swift.min(Swift.max((-lo / scale).rounded(.toNearestOrEven), 0), 255)
        return QuantizationParameters(scale: [scale], zeroPoint: [Int32(zp)], qmin: 0, qmax: 255)
    }
}

extension Tensor {
    /// Quantises and dequantises (simulated 8-bit): the forward pass of an int8 model in float arithmetic.
    ///
    /// The gradient is the straight-through estimator (Bengio et al., https://arxiv.org/abs/1308.3432) with
    /// clipping, as PyTorch's `fake_quantize_*`: the incoming gradient passes where x falls inside the quantised
    /// range and is zero where it was clamped.
    public func fakeQuantized(_ q: QuantizationParameters) -> Tensor {
        let (outer, channels, inner) = quantLayout(q)
        let out = Tensor(uninitializedShape: shape)
        let record = Tensor.needsGrad(self)
        var mask: [Bool] = record ? [Bool](repeating: false, count: count) : []
        let src = data, dst = out.data
        let qmin = Float(q.qmin), qmax = Float(q.qmax)
        mask.withUnsafeMutableBufferPointer { m in
            for o in 0..<outer {
                for c in 0..<channels {
                    let s = q.scale[c], zp = Float(q.zeroPoint[c])
                    let base = (o * channels + c) * inner
                    for i in base..<(base + inner) {
                        let v = (src[i] / s).rounded(.toNearestOrEven) + zp
                        let clamped = Swift.min(Swift.max(v, qmin), qmax)
                        dst[i] = (clamped - zp) * s
                        if record { m[i] = v >= qmin && v <= qmax }
                    }
                }
            }
        }
        OpTrace.record(.fakeQuantize(q), [self], out)
        guard record else { return out }
        return out.record("fake_quantize", [self]) { g in
            let dx = Tensor(uninitializedShape: g.shape)
            for i in 0..<g.count { dx.data[i] = mask[i] ? g.data[i] : 0 }
            return [dx]
        }
    }

    /// (outer, channels, inner) of a per-tensor or per-channel layout.
    private func quantLayout(_ q: QuantizationParameters) -> (Int, Int, Int) {
        guard let axis = q.axis else {
            precondition(q.scale.count == 1, "per-tensor quantisation with \(q.scale.count) scales")
            return (1, 1, count)
        }
        precondition(axis >= 0 && axis < rank && shape[axis] == q.scale.count,
                     "per-channel quantisation along axis \(axis) with \(q.scale.count) scales for shape \(shape)")
        let inner = Tensor.count(of: Array(shape[(axis + 1)...]))
        return (count / max(shape[axis] * inner, 1), shape[axis], inner)
    }
}
