import Foundation

/// Tick positions and labels for an axis.
public enum Ticks {
    /// About `count` evenly spaced "nice" ticks (steps of 1, 2 or 5 × 10^k) covering `lower...upper`, and the
    /// range widened to the outer ticks.
    public static func linear(_ lower: Double, _ upper: Double, count: Int = 5) -> (range: ClosedRange<Double>, ticks: [Double]) {
        var (lo, hi) = (lower, upper)
        if !(hi > lo) {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            (lo, hi) = (lo - pad, hi + pad)
        }
        let step = niceStep((hi - lo) / Double(max(count, 1)))
        let first = (lo / step).rounded(.down) * step, last = (hi / step).rounded(.up) * step
        let n = Int(((last - first) / step).rounded())
        let ticks = (0...n).map { first + Double($0) * step }.map { abs($0) < step * 1e-9 ? 0 : $0 }
        return (first...last, ticks)
    }

    /// The nice step (1, 2 or 5 × 10^k) nearest above `raw`.
    public static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let f = raw / magnitude
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude
    }

    /// Decade ticks (10^k) covering `lower...upper` (both positive), and the range widened to whole decades.
    public static func logarithmic(_ lower: Double, _ upper: Double) -> (range: ClosedRange<Double>, ticks: [Double]) {
        let lo = log10(max(lower, .leastNormalMagnitude)).rounded(.down)
        var hi = log10(max(upper, lower)).rounded(.up)
        if hi <= lo { hi = lo + 1 }
        let ticks = stride(from: lo, through: hi, by: 1).map { pow(10, $0) }
        return (pow(10, lo)...pow(10, hi), ticks)
    }

    /// A short label for a linear tick: as many decimals as the step needs, exponent form for extreme values.
    public static func label(_ value: Double, step: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 { return exponentLabel(value) }
        let decimals = max(0, Int((-log10(step)).rounded(.up)))
        return String(format: "%.\(decimals)f", value)
    }

    /// `1e-3`, `2.5e4`: a compact exponent form.
    public static func exponentLabel(_ value: Double) -> String {
        guard value != 0, value.isFinite else { return value == 0 ? "0" : "\(value)" }
        let e = Int(log10(abs(value)).rounded(.down))
        let mantissa = value / pow(10, Double(e))
        let m = abs(mantissa - mantissa.rounded()) < 1e-9 ? String(Int(mantissa.rounded())) : String(format: "%.2g", mantissa)
        return "\(m)e\(e)"
    }
}
