import ClasTensor
import Foundation

/// `RandomErasing`: PaddleClas's random erasing (`ppcls/data/preprocess/ops/random_erasing.py`), from "Random
/// Erasing Data Augmentation", https://arxiv.org/abs/1708.04896. Placed after `NormalizeImage` (float images), it
/// also works on 8-bit images.
///
/// With probability `EPSILON`, up to `attempt` times: draw an area fraction in [`sl`, `sh`] and an aspect ratio in
/// [`r1`, 1/`r1`] (log-uniform with `use_log_aspect`); `h = round(sqrt(area·ratio))`, `w = round(sqrt(area/ratio))`;
/// if the box fits strictly inside the image, fill it at a random place and stop. Fill (`mode`): `const` — `mean`;
/// `rand` — one standard-normal value per channel; `pixel` — a standard-normal value per component.
///
/// Options (PaddleClas defaults): `EPSILON` 0.5, `sl` 0.02, `sh` 0.4, `r1` 0.3, `mean` [0, 0, 0], `attempt` 100,
/// `use_log_aspect` false, `mode` const. Numbers may be strings such as `1.0/3.0` (PaddleClas evaluates them).
/// As in PaddleClas, an image without 3 channels has only channel 0 erased. On 8-bit images the fill values are
/// rounded and saturated.
public struct RandomErasing: ConfigurableImageOp, PixelOp {
    public static let name = "RandomErasing"

    /// How the erased box is filled.
    public enum Mode: String, CaseIterable, Sendable { case const, rand, pixel }

    public struct Options: ImageOpOptions {
        public var epsilon = 0.5
        public var sl = 0.02
        public var sh = 0.4
        public var r1 = 0.3
        public var mean = [0.0, 0.0, 0.0]
        public var attempt = 100
        public var useLogAspect = false
        public var mode = "const"

        enum CodingKeys: String, CodingKey, CaseIterable {
            case epsilon = "EPSILON", sl, sh, r1, mean, attempt, useLogAspect = "use_log_aspect", mode
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(epsilon: Double = 0.5, sl: Double = 0.02, sh: Double = 0.4, r1: Double = 0.3,
                    mean: [Double] = [0, 0, 0], attempt: Int = 100, useLogAspect: Bool = false, mode: String = "const") {
            (self.epsilon, self.sl, self.sh, self.r1) = (epsilon, sl, sh, r1)
            (self.mean, self.attempt, self.useLogAspect, self.mode) = (mean, attempt, useLogAspect, mode)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            epsilon = try c.decodeIfPresent(NumberOption.self, forKey: .epsilon)?.value ?? 0.5
            sl = try c.decodeIfPresent(NumberOption.self, forKey: .sl)?.value ?? 0.02
            sh = try c.decodeIfPresent(NumberOption.self, forKey: .sh)?.value ?? 0.4
            r1 = try c.decodeIfPresent(NumberOption.self, forKey: .r1)?.value ?? 0.3
            mean = try c.decodeIfPresent(NumberList.self, forKey: .mean)?.values ?? [0, 0, 0]
            attempt = try c.decodeIfPresent(Int.self, forKey: .attempt) ?? 100
            useLogAspect = try c.decodeIfPresent(Bool.self, forKey: .useLogAspect) ?? false
            mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "const"
        }
    }

    public let epsilon: Double
    public let areaRange: (Double, Double)
    /// The aspect-ratio range (its logarithm with `useLogAspect`).
    public let aspectRange: (Double, Double)
    public let useLogAspect: Bool
    public let mean: [Float]
    public let attempt: Int
    public let mode: Mode

    public init(_ options: Options = Options()) throws {
        let o = options
        try OptionsError.require((0...1).contains(o.epsilon), Self.name, "EPSILON must be in [0, 1], got \(o.epsilon)")
        try OptionsError.require(o.sl >= 0 && o.sl <= o.sh && o.sh <= 1, Self.name,
                                 "sl and sh must satisfy 0 <= sl <= sh <= 1, got sl \(o.sl), sh \(o.sh)")
        try OptionsError.require(o.r1 > 0 && o.r1.isFinite, Self.name, "r1 must be > 0, got \(o.r1)")
        try OptionsError.require(o.attempt >= 0, Self.name, "attempt must be >= 0, got \(o.attempt)")
        try OptionsError.require(!o.mean.isEmpty && o.mean.count <= 3, Self.name, "mean needs 1 to 3 values, got \(o.mean)")
        guard let mode = Mode(rawValue: o.mode) else {
            throw OptionsError(op: Self.name, "mode must be 'const', 'rand' or 'pixel', got '\(o.mode)'")
        }
        epsilon = o.epsilon
        areaRange = (o.sl, o.sh)
        aspectRange = o.useLogAspect ? (log(o.r1), log(1 / o.r1)) : (o.r1, 1 / o.r1)
        useLogAspect = o.useLogAspect
        mean = o.mean.map { Float($0) }
        attempt = o.attempt
        self.mode = mode
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        if rng.uniformDouble() > epsilon { return image }
        let (H, W, ch) = (image.height, image.width, image.channels)
        let area = Double(H * W)
        for _ in 0..<attempt {
            let target = rng.uniformDouble(areaRange.0, areaRange.1) * area
            var ratio = rng.uniformDouble(aspectRange.0, aspectRange.1)
            if useLogAspect { ratio = exp(ratio) }
            let h = pythonRound((target * ratio).squareRoot()), w = pythonRound((target / ratio).squareRoot())
            guard w < W && h < H else { continue }
            let erasedChannels = ch == 3 ? 3 : 1
            var values: [Float]
            switch mode {
            case .const: values = (0..<erasedChannels).map { mean[min($0, mean.count - 1)] }
            case .rand: values = (0..<3).map { _ in Float(rng.gaussian()) }
            case .pixel: values = (0..<(h * w * erasedChannels)).map { _ in Float(rng.gaussian()) }
            }
            let top = rng.int(in: 0...(H - h)), left = rng.int(in: 0...(W - w))
            var out = image
            out.pixels.withUnsafeMutableBufferPointer { p in
                guard let base = p.baseAddress else { return }
                for y in 0..<h {
                    for x in 0..<w {
                        let o = base + ((top + y) &* W &+ left &+ x) &* ch
                        for k in 0..<erasedChannels {
                            let v = mode == .pixel ? values[(y * w + x) * erasedChannels + k] : values[k]
                            o[k] = C.converting(v)
                        }
                    }
                }
            }
            return out
        }
        return image
    }
}
