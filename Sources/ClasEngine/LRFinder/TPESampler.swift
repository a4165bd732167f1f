import ClasTensor
import Foundation

/// Tree-structured Parzen estimator for one real parameter in `lower...upper`, maximising a score (Bergstra et
/// al. 2011, "Algorithms for Hyper-Parameter Optimization", https://papers.nips.cc/paper/4443).
///
/// After `startupTrials` uniform draws, the observations are split into the best `gamma` fraction and the rest;
/// each group becomes a mixture of Gaussians (one per observation, plus a wide prior at the centre, each truncated
/// to the bounds, with hyperopt's bandwidth: the larger gap to a neighbour, clipped). `candidates` points are drawn
/// from the good mixture and the one with the highest density ratio good/bad is proposed.
public struct TPESampler {
    public let lower: Double, upper: Double
    public var gamma = 0.25
    public var startupTrials: Int
    public var candidates = 24
    public private(set) var observations: [(x: Double, score: Double)] = []
    private var rng: RandomState

    public init(lower: Double, upper: Double, seed: UInt64, startupTrials: Int = 3) {
        precondition(upper > lower, "TPE needs lower < upper")
        (self.lower, self.upper, self.startupTrials) = (lower, upper, max(startupTrials, 1))
        rng = RandomState(seed: seed, stream: 0x7E5)
    }

    /// Records the score of a tried value.
    public mutating func observe(x: Double, score: Double) { observations.append((x, score)) }

    /// The next value to try.
    public mutating func suggest() -> Double {
        guard observations.count >= startupTrials else { return lower + (upper - lower) * uniform() }
        let ranked = observations.sorted { $0.score > $1.score }
        let goodCount = max(1, Int((gamma * Double(ranked.count)).rounded(.up)))
        let good = Mixture(ranked.prefix(goodCount).map(\.x), lower: lower, upper: upper)
        let bad = Mixture(ranked.dropFirst(goodCount).map(\.x), lower: lower, upper: upper)
        var best = (x: good.means[0], ratio: -Double.infinity)
        for _ in 0..<candidates {
            let x = good.sample(&rng)
            let ratio = good.logDensity(x) - bad.logDensity(x)
            if ratio > best.ratio { best = (x, ratio) }
        }
        return best.x
    }

    private mutating func uniform() -> Double { Double(rng.next() >> 11) * 0x1p-53 }

    /// An equally weighted mixture of Gaussians truncated to the bounds.
    struct Mixture {
        let means: [Double], sigmas: [Double], lower: Double, upper: Double

        /// Components at `points` and a prior component at the centre with the width of the range.
        init(_ points: [Double], lower: Double, upper: Double) {
            let width = upper - lower
            let prior = (lower + upper) / 2
            let sorted = (points + [prior]).sorted()
            let minSigma = width / min(100, Double(sorted.count + 1))
            var sigmaOf: [Double] = sorted.indices.map { i in
                let left = i > 0 ? sorted[i] - sorted[i - 1] : sorted[i] - lower
                let right = i + 1 < sorted.count ? sorted[i + 1] - sorted[i] : upper - sorted[i]
                return min(max(max(left, right), minSigma), width)
            }
            // The prior keeps the full width.
            if let p = sorted.firstIndex(of: prior) { sigmaOf[p] = width }
            (means, sigmas, self.lower, self.upper) = (sorted, sigmaOf, lower, upper)
        }

        func logDensity(_ x: Double) -> Double {
            var total = 0.0
            for (m, s) in zip(means, sigmas) {
                let mass = Self.cdf((upper - m) / s) - Self.cdf((lower - m) / s)
                let z = (x - m) / s
                total += exp(-0.5 * z * z) / (s * (2 * Double.pi).squareRoot() * max(mass, 1e-12))
            }
            return log(max(total / Double(means.count), 1e-300))
        }

        func sample(_ rng: inout RandomState) -> Double {
            let k = rng.int(below: means.count)
            for _ in 0..<64 {
                let x = means[k] + sigmas[k] * Double(rng.normal())
                if x >= lower && x <= upper { return x }
            }
            return min(max(means[k], lower), upper)
        }

        static func cdf(_ z: Double) -> Double { 0.5 * (1 + erf(z / 2.0.squareRoot())) }
    }
}
