import Foundation

/// The bookkeeping of the learning-rate range test (Smith 2015, "Cyclical Learning Rates for Training Neural
/// Networks", as popularised by fast.ai; https://arxiv.org/abs/1506.01186): the rate grows exponentially from
/// `minLR` to `maxLR` over `numIter` steps, the loss is smoothed with an exponential moving average, the
/// test stops early once the smoothed loss exceeds `divergeThreshold` × its minimum (or is not finite), and the
/// suggested rate is where the smoothed loss falls fastest against log(rate).
///
/// The moving average lags the loss by about (1 − smoothing)/smoothing steps (19 for 0.05, over a decade of rate
/// with 100 steps over 6 decades), which would push the choice towards too high rates; so the choice (and the
/// plotted curve) uses a centred moving average of the recorded losses, which has no lag. The one-sided average
/// only decides when to stop.
///
/// Independent of any model, so the choice can be tested on synthetic curves.
public struct LRRangeTest {
    /// One recorded step.
    public struct Point: Equatable {
        public var lr: Double
        public var loss: Double
        public var smoothedLoss: Double
    }

    public let minLR: Double, maxLR: Double, numIter: Int
    /// Weight of each new loss in the moving average.
    public let smoothing: Double
    public let divergeThreshold: Double
    public private(set) var points: [Point] = []
    /// Why the test ended early, if it did.
    public private(set) var stopReason: String?
    private var average = 0.0
    private var bestSmoothed = Double.infinity

    public init(minLR: Double, maxLR: Double, numIter: Int, smoothing: Double = 0.05, divergeThreshold: Double = 5) {
        precondition(minLR > 0 && maxLR > minLR && numIter >= 2, "need 0 < minLR < maxLR and numIter >= 2")
        (self.minLR, self.maxLR, self.numIter) = (minLR, maxLR, numIter)
        (self.smoothing, self.divergeThreshold) = (smoothing, divergeThreshold)
    }

    /// The rate of ramp step `i` (0-based): minLR · (maxLR/minLR)^(i / (numIter − 1)).
    public func learningRate(at i: Int) -> Double {
        minLR * pow(maxLR / minLR, Double(min(max(i, 0), numIter - 1)) / Double(numIter - 1))
    }

    /// The rate of the next step.
    public var nextLearningRate: Double { learningRate(at: points.count) }

    /// Whether the test is over (all steps done, or diverged).
    public var isFinished: Bool { stopReason != nil || points.count >= numIter }

    /// Records the loss of a step taken at `lr`; returns false when the test should stop.
    @discardableResult
    public mutating func record(lr: Double, loss: Double) -> Bool {
        guard !isFinished else { return false }
        guard loss.isFinite else {
            stopReason = "the loss became \(loss) at lr \(Self.format(lr))"
            return false
        }
        // Started at the first loss, the moving average needs no bias correction (fast.ai starts at 0 and divides
        // by 1 − β^(n+1) instead).
        average = points.isEmpty ? loss : (1 - smoothing) * average + smoothing * loss
        let smoothed = average
        points.append(Point(lr: lr, loss: loss, smoothedLoss: smoothed))
        bestSmoothed = min(bestSmoothed, smoothed)
        if points.count > 1 && smoothed > divergeThreshold * bestSmoothed {
            stopReason = "the smoothed loss \(Self.format(smoothed)) exceeded \(Self.format(divergeThreshold)) × its minimum "
                + "\(Self.format(bestSmoothed)) at lr \(Self.format(lr))"
            return false
        }
        return points.count < numIter
    }

    /// The recorded losses smoothed without lag: a centred moving average over 2h + 1 points, h = 1/(2 · smoothing)
    /// (10 for 0.05), fewer at the ends. Being local, it keeps the divergence at the end from lifting the descent.
    public var centeredSmoothedLosses: [Double] {
        let h = max(1, Int((0.5 / smoothing).rounded())), losses = points.map(\.loss)
        var prefix = [0.0]
        for l in losses { prefix.append((prefix.last ?? 0) + l) }
        return losses.indices.map { i in
            let a = max(0, i - h), b = min(losses.count - 1, i + h)
            return (prefix[b + 1] - prefix[a]) / Double(b - a + 1)
        }
    }

    /// The suggested rate and its index: the point of steepest descent of the lag-free smoothed loss against log10(rate)
    /// (central differences, like `numpy.gradient`), among the points left after dropping `skipStart` first and
    /// `skipEnd` last ones, and not past the lowest smoothed loss. Nil with fewer than 3 points.
    public func suggestion(skipStart: Int = 10, skipEnd: Int = 5) -> (lr: Double, index: Int)? {
        let n = points.count
        guard n >= 3 else { return nil }
        var lo = skipStart, hi = n - 1 - skipEnd
        if hi - lo < 2 { (lo, hi) = (0, n - 1) }
        // Only the descending part: a steep rise after the minimum is divergence, not learning.
        let y = centeredSmoothedLosses, x = points.map { log10($0.lr) }
        let minimum = (lo...hi).min { y[$0] < y[$1] } ?? hi
        if minimum - lo >= 2 { hi = minimum }
        func slope(_ i: Int) -> Double {
            let a = max(i - 1, 0), b = min(i + 1, n - 1)
            return (y[b] - y[a]) / (x[b] - x[a])
        }
        guard let best = (lo...hi).min(by: { slope($0) < slope($1) }) else { return nil }
        return (points[best].lr, best)
    }

    static func format(_ v: Double) -> String { String(format: "%.4g", v) }
}
