import ClasTensor
import Foundation

/// The random draws of the augmentation ops (Python's `random` and NumPy's `np.random` functions they use), all
/// from the sample's `RandomState`, so a seed fixes every result whatever the thread count.
extension RandomState {
    /// Uniform double in (0, 1): never 0, for logarithms.
    mutating func openUniform() -> Double {
        while true {
            let u = uniformDouble()
            if u > 0 { return u }
        }
    }

    /// Standard normal in double precision (Box–Muller).
    public mutating func gaussian() -> Double {
        let u1 = openUniform(), u2 = uniformDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Normal with mean `mu` and standard deviation `sigma` (Python's `random.gauss`).
    public mutating func gauss(_ mu: Double, _ sigma: Double) -> Double { mu + sigma * gaussian() }

    /// `random.choice([-1, 1])`: -1 or 1 with equal probability.
    mutating func sign() -> Double { int(below: 2) == 0 ? -1 : 1 }

    /// The logarithm of a Gamma(`shape`, 1) variate (Marsaglia & Tsang, https://doi.org/10.1145/358407.358414;
    /// shapes below 1 use `G(a) = G(a+1)·U^(1/a)` in log space, so tiny shapes do not underflow to 0).
    public mutating func logGamma(shape: Double) -> Double {
        precondition(shape > 0, "gamma shape must be positive")
        if shape < 1 { return logGamma(shape: shape + 1) + log(openUniform()) / shape }
        let d = shape - 1.0 / 3.0, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = gaussian()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = openUniform()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return log(d) + log(v) }
        }
    }

    /// A Beta(`a`, `b`) variate (`np.random.beta`), as `X / (X + Y)` of two gamma variates.
    public mutating func beta(_ a: Double, _ b: Double) -> Double {
        let lx = logGamma(shape: a), ly = logGamma(shape: b)
        return 1 / (1 + exp(ly - lx))
    }

    /// A Dirichlet(`alpha`) variate (`np.random.dirichlet`): normalised gamma variates.
    public mutating func dirichlet(_ alpha: [Double]) -> [Double] {
        let logs = alpha.map { logGamma(shape: $0) }
        let top = logs.max() ?? 0
        let e = logs.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// An index drawn with probability proportional to `weights` (`random.choices(..., weights)`).
    public mutating func index(weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var u = uniformDouble() * total
        for (i, w) in weights.enumerated() {
            if u < w { return i }
            u -= w
        }
        return max(weights.lastIndex { $0 > 0 } ?? 0, 0)
    }

    /// `count` distinct indices drawn with probabilities proportional to `weights`, renormalising after each draw
    /// (`np.random.choice(n, count, replace=False, p=weights)`).
    public mutating func indicesWithoutReplacement(weights: [Double], count: Int) -> [Int] {
        var w = weights, picked: [Int] = []
        for _ in 0..<min(count, w.filter { $0 > 0 }.count) {
            let i = index(weights: w)
            picked.append(i)
            w[i] = 0
        }
        return picked
    }

    /// Fisher–Yates shuffle (`random.shuffle`).
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, int(below: i + 1))
        }
    }
}
