import ClasTensor

/// The operations of timm's `auto_augment.py` as PaddleClas copies it (`ppcls/data/preprocess/ops/
/// timm_autoaugment.py`): names, magnitude-to-argument functions (`LEVEL_TO_ARG`) and `AugmentOp`.
enum TimmOpName: String, CaseIterable, Sendable {
    case autoContrast = "AutoContrast", equalize = "Equalize", invert = "Invert", rotate = "Rotate"
    case posterize = "Posterize", posterizeIncreasing = "PosterizeIncreasing", posterizeOriginal = "PosterizeOriginal"
    case solarize = "Solarize", solarizeIncreasing = "SolarizeIncreasing", solarizeAdd = "SolarizeAdd"
    case color = "Color", colorIncreasing = "ColorIncreasing", contrast = "Contrast"
    case contrastIncreasing = "ContrastIncreasing", brightness = "Brightness"
    case brightnessIncreasing = "BrightnessIncreasing", sharpness = "Sharpness"
    case sharpnessIncreasing = "SharpnessIncreasing", shearX = "ShearX", shearY = "ShearY"
    case translateX = "TranslateX", translateY = "TranslateY", translateXRel = "TranslateXRel"
    case translateYRel = "TranslateYRel"
}

/// Settings shared by the operations of one transform (timm's `hparams`).
struct TimmHParams: Sendable {
    /// Maximum absolute translation in pixels (`int(img_size * 0.45)`).
    var translateConst = 250.0
    /// Maximum relative translation (0.45; AugMix uses 0.3).
    var translatePct = 0.45
    /// Fill colour of uncovered areas (`img_mean`).
    var fill: [UInt8] = [128, 128, 128]
    /// Resampling of geometric operations; nil draws bilinear or bicubic per operation.
    var interpolation: PIL.Resample? = .bilinear
    /// Standard deviation of the magnitude noise (`mstd`); infinity samples uniformly in [0, magnitude].
    var magnitudeStd = 0.0
    /// Upper clip of the (noisy) magnitude (`mmax`, default 10).
    var magnitudeMax = 10.0
}

/// timm's `AugmentOp`: one named operation with an application probability and a magnitude out of 10.
struct TimmAugmentOp: Sendable {
    let name: TimmOpName
    let prob: Double
    let magnitude: Double
    let hparams: TimmHParams

    /// Applies the operation with probability `prob` (`random.random() > prob` skips it), after drawing the
    /// magnitude noise and clipping to [0, `magnitudeMax`].
    func apply(_ image: Image, rng: inout RandomState) -> Image {
        if prob < 1 && rng.uniformDouble() > prob { return image }
        var m = magnitude
        if hparams.magnitudeStd > 0 {
            m = hparams.magnitudeStd.isInfinite ? rng.uniformDouble(0, m) : rng.gauss(m, hparams.magnitudeStd)
        }
        m = min(hparams.magnitudeMax, max(0, m))
        return run(image, level: m, rng: &rng)
    }

    /// The operation at level `m` (0...10), drawing random signs (`_randomly_negate`) and the random resampling.
    func run(_ image: Image, level m: Double, rng: inout RandomState) -> Image {
        @inline(__always) func negate(_ v: Double, _ rng: inout RandomState) -> Double { rng.uniformDouble() > 0.5 ? -v : v }
        let fill = FillColorOption.color(hparams.fill, channels: image.channels)
        func resample(_ rng: inout RandomState) -> PIL.Resample {
            hparams.interpolation ?? (rng.int(below: 2) == 0 ? .bilinear : .bicubic)
        }
        func affine(_ a: [Double], _ rng: inout RandomState) -> Image {
            PIL.affine(image, a, resample: resample(&rng), fill: fill)
        }
        let enhance = m / 10 * 1.8 + 0.1
        func increasing(_ rng: inout RandomState) -> Float { Float(1.0 + negate(m / 10 * 0.9, &rng)) }
        switch name {
        case .autoContrast: return PIL.autocontrast(image)
        case .equalize: return PIL.equalize(image)
        case .invert: return PIL.invert(image)
        case .rotate:
            let degrees = negate(m / 10 * 30, &rng)
            return PIL.rotate(image, degrees: degrees, resample: resample(&rng), fill: fill)
        case .posterize: return posterize(image, Int(m / 10 * 4))
        case .posterizeIncreasing: return posterize(image, 4 - Int(m / 10 * 4))
        case .posterizeOriginal: return posterize(image, Int(m / 10 * 4) + 4)
        case .solarize: return PIL.solarize(image, threshold: Double(Int(m / 10 * 256)))
        case .solarizeIncreasing: return PIL.solarize(image, threshold: Double(256 - Int(m / 10 * 256)))
        case .solarizeAdd: return PIL.solarizeAdd(image, add: Int(m / 10 * 110))
        case .color: return PIL.color(image, factor: Float(enhance))
        case .colorIncreasing: return PIL.color(image, factor: increasing(&rng))
        case .contrast: return PIL.contrast(image, factor: Float(enhance))
        case .contrastIncreasing: return PIL.contrast(image, factor: increasing(&rng))
        case .brightness: return PIL.brightness(image, factor: Float(enhance))
        case .brightnessIncreasing: return PIL.brightness(image, factor: increasing(&rng))
        case .sharpness: return PIL.sharpness(image, factor: Float(enhance))
        case .sharpnessIncreasing: return PIL.sharpness(image, factor: increasing(&rng))
        case .shearX: return affine([1, negate(m / 10 * 0.3, &rng), 0, 0, 1, 0], &rng)
        case .shearY: return affine([1, 0, 0, negate(m / 10 * 0.3, &rng), 1, 0], &rng)
        case .translateX: return affine([1, 0, negate(m / 10 * hparams.translateConst, &rng), 0, 1, 0], &rng)
        case .translateY: return affine([1, 0, 0, 0, 1, negate(m / 10 * hparams.translateConst, &rng)], &rng)
        case .translateXRel:
            return affine([1, 0, negate(m / 10 * hparams.translatePct, &rng) * Double(image.width), 0, 1, 0], &rng)
        case .translateYRel:
            return affine([1, 0, 0, 0, 1, negate(m / 10 * hparams.translatePct, &rng) * Double(image.height)], &rng)
        }
    }

    /// timm's `posterize`: 8 or more bits is the identity.
    private func posterize(_ image: Image, _ bits: Int) -> Image { bits >= 8 ? image : PIL.posterize(image, bits: bits) }
}
