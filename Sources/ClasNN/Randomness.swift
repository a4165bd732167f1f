import ClasTensor

/// The random streams layers draw from. Training code seeds them, so a seed reproduces a run bit for bit.
public enum Randomness {
    /// Parameter initialisation draws. Seed it before building a model.
    nonisolated(unsafe) public static var initialization = RandomState(seed: 0)
    /// Dropout and drop-path draws. The trainer reseeds it at every step from (seed, step), which makes
    /// resumed runs identical to uninterrupted ones without saving generator state.
    nonisolated(unsafe) public static var training = RandomState(seed: 0, stream: 1)

    /// Seeds parameter initialisation (and resets the training stream).
    public static func seed(_ seed: UInt64) {
        initialization = RandomState(seed: seed)
        training = RandomState(seed: seed, stream: 1)
    }

    /// Reseeds the training stream for a given optimisation step.
    public static func beginStep(seed: UInt64, step: Int) {
        training = RandomState(seed: seed, stream: 0x5EED_0000 &+ UInt64(step))
    }
}

/// Weight initialisers, as timm applies them.
public enum Init {
    /// Normal(0, √(2 / fan_out)) with fan_out = kh·kw·out/groups: timm's `_init_weight_goog` for convolutions
    /// (Kaiming normal, fan-out mode, ReLU gain).
    public static func kaimingNormalFanOut(_ t: Tensor, fanOut: Int) {
        let std = (2 / Float(max(fanOut, 1))).squareRoot()
        for i in 0..<t.count { t.data[i] = std * Randomness.initialization.normal() }
    }

    /// Uniform(−r, r) with r = 1/√fan: timm's classifier initialisation (fan = out features).
    public static func uniform(_ t: Tensor, bound: Float) {
        for i in 0..<t.count { t.data[i] = Randomness.initialization.uniform(-bound, bound) }
    }

    /// Normal(0, std).
    public static func normal(_ t: Tensor, std: Float) {
        for i in 0..<t.count { t.data[i] = std * Randomness.initialization.normal() }
    }
}
