import ClasNN
import ClasTensor

/// How activation ranges are calibrated after training.
public enum CalibrationMethod: String, Sendable, CaseIterable {
    /// The smallest and largest value seen.
    case minmax
    /// The `percentile`-th and (100 − `percentile`)-th percentiles of the values seen (outliers clipped).
    case percentile
}

/// Simulated uint8 quantisation of one activation tensor (the input of a convolution or linear layer), with the range
/// it covers: calibrated after training, or tracked during quantisation-aware training by an exponential moving
/// average of each batch's min/max (PyTorch's `MovingAverageMinMaxObserver`, averaging constant 0.01).
///
/// The range is the buffer `range` = [low, high], saved in checkpoints under `quant.<layer>.range`.
public final class ActivationQuantizer: Module {
    /// [low, high]; low > high means "not calibrated yet".
    public let range: Tensor
    /// The layer whose input this quantises (`blocks.0.0.conv_pw`).
    public let site: String
    /// Whether `apply` fake-quantises (off while calibrating float activations).
    public var isEnabled = true
    /// Weight of a new batch in the moving average during quantisation-aware training.
    public var averagingConstant: Float = 0.01

    enum Observation {
        case none
        case minMax
        case histogram(Histogram)
    }
    var observation = Observation.none

    public override class var bufferNames: Set<String> { ["range"] }

    public init(site: String) {
        self.site = site
        range = Tensor(shape: [2], values: [Float.infinity, -Float.infinity])
        super.init()
    }

    /// Whether a range has been set.
    public var isCalibrated: Bool { range.data[0] <= range.data[1] }

    /// The uint8 parameters of the current range.
    public var parameters: QuantizationParameters {
        QuantizationParameters.asymmetricUInt8(low: range.data[0], high: range.data[1])
    }

    /// Observes `x` as configured (calibration, or the moving average when `training`), then fake-quantises it.
    public func apply(_ x: Tensor, training: Bool) -> Tensor {
        switch observation {
        case .none:
            if training {
                let (lo, hi) = x.minMax()
                if isCalibrated {
                    range.data[0] += averagingConstant * (lo - range.data[0])
                    range.data[1] += averagingConstant * (hi - range.data[1])
                } else {
                    (range.data[0], range.data[1]) = (lo, hi)
                }
            }
        case .minMax:
            let (lo, hi) = x.minMax()
            (range.data[0], range.data[1]) = (Swift.min(range.data[0], lo), Swift.max(range.data[1], hi))
        case .histogram(let h):
            h.add(x)
        }
        guard isEnabled, isCalibrated else { return x }
        return x.fakeQuantized(parameters)
    }
}

/// A fixed-range histogram of values, for percentile calibration.
final class Histogram {
    let low: Float, high: Float
    var counts: [Int]
    private(set) var total = 0

    init(low: Float, high: Float, bins: Int = 2048) {
        (self.low, self.high) = (low, high)
        counts = [Int](repeating: 0, count: bins)
    }

    func add(_ x: Tensor) {
        let bins = counts.count
        let width = high > low ? (high - low) / Float(bins) : 1
        let p = x.data
        counts.withUnsafeMutableBufferPointer { c in
            for i in 0..<x.count {
                let b = Int((p[i] - low) / width)
                c[Swift.min(Swift.max(b, 0), bins - 1)] += 1
            }
        }
        total += x.count
    }

    /// The value below which `fraction` of the samples fall, at the lower or upper edge of the bin reached.
    func quantile(_ fraction: Double, upperEdge: Bool) -> Float {
        guard total > 0 else { return low }
        let target = fraction * Double(total)
        var seen = 0.0
        let width = (high - low) / Float(counts.count)
        for (i, c) in counts.enumerated() {
            seen += Double(c)
            if seen >= target { return low + width * Float(upperEdge ? i + 1 : i) }
        }
        return high
    }
}

extension Tensor {
    /// The smallest and largest element.
    func minMax() -> (Float, Float) {
        var lo = Float.infinity, hi = -Float.infinity
        let p = data
        for i in 0..<count {
            lo = Swift.min(lo, p[i])
            hi = Swift.max(hi, p[i])
        }
        return (lo, hi)
    }
}

/// The activation quantizers of a model, named by site (their state-dict names are `quant.<site>.range`).
public final class QuantizerSet: Module {
    public let quantizers: [ActivationQuantizer]
    /// The weights' bits, saved with the ranges (`quant.weight_bits`) so that a checkpoint runs as it was made.
    let weightBits: Tensor

    /// The state-dict name of ``weightBits``.
    static let weightBitsName = "quant.weight_bits"

    init(_ quantizers: [ActivationQuantizer], weightBits: Int) {
        self.quantizers = quantizers
        self.weightBits = Tensor(shape: [1], values: [Float(weightBits)])
        super.init()
    }

    public override var namedChildren: [(String, Module)] { quantizers.map { ($0.site, $0) } }
    public override var namedOwnTensors: [(String, Tensor)] { [("weight_bits", weightBits)] }
    public override class var bufferNames: Set<String> { ["weight_bits"] }
}
