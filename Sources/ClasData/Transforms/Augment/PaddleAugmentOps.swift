import ClasTensor

/// The sub-operations of PaddleClas's `AutoAugment` (ImageNet policy) and `RandAugment`
/// (`ppcls/data/preprocess/ops/autoaugment.py`, `randaugment.py`): PIL operations with their PaddleClas
/// parameterisation (https://arxiv.org/abs/1805.09501, https://arxiv.org/abs/1909.13719).
///
/// - shearX/shearY: affine shear by ±magnitude, bicubic, `fillcolor`.
/// - translateX/translateY: shift by ±magnitude × image width/height, nearest, `fillcolor`.
/// - rotate: `rotate_with_fill`, counter-clockwise by +magnitude degrees (never negative), nearest, filled with
///   gray 128 whatever `fillcolor` says (PaddleClas hard-codes it).
/// - color/contrast/sharpness/brightness: `ImageEnhance` with factor 1 ± magnitude.
/// - posterize (bits), solarize (threshold), autocontrast, equalize, invert: `ImageOps`.
/// The ± signs are drawn when the operation runs (`random.choice([-1, 1])`).
enum PaddleAugmentOp: String, CaseIterable, Sendable {
    case shearX, shearY, translateX, translateY, rotate, color, posterize, solarize, contrast, sharpness, brightness
    case autocontrast, equalize, invert

    /// `ranges[op][index]` of the AutoAugment policy table (NumPy `linspace` over 10 levels).
    func policyMagnitude(_ index: Int) -> Double {
        let t = Double(index) / 9
        switch self {
        case .shearX, .shearY: return 0.3 * t
        case .translateX, .translateY: return 150.0 / 331.0 * t
        case .rotate: return 30 * t
        case .color, .contrast, .sharpness, .brightness: return 0.9 * t
        case .posterize: return (8 - 4 * t).rounded(.toNearestOrEven)
        case .solarize: return 256 - 256 * t
        case .autocontrast, .equalize, .invert: return 0
        }
    }

    /// RandAugment's `level_map` value for `magnitude` (out of `max_level` 10).
    func randMagnitude(_ magnitude: Double) -> Double {
        let level = magnitude / 10
        switch self {
        case .shearX, .shearY: return 0.3 * level
        case .translateX, .translateY: return 150.0 / 331.0 * level
        case .rotate: return 30 * level
        case .color, .contrast, .sharpness, .brightness: return 0.9 * level
        case .posterize: return Double(Int(4.0 * level))
        case .solarize: return 256.0 * level
        case .autocontrast, .equalize, .invert: return 0
        }
    }

    /// Runs the operation on `image` with `magnitude`, drawing the sign from `rng` where PaddleClas does.
    func apply(_ image: Image, magnitude m: Double, fill: [UInt8], rng: inout RandomState) -> Image {
        let c = image.channels
        let fillColor = FillColorOption.color(fill, channels: c)
        switch self {
        case .shearX: return PIL.affine(image, [1, m * rng.sign(), 0, 0, 1, 0], resample: .bicubic, fill: fillColor)
        case .shearY: return PIL.affine(image, [1, 0, 0, m * rng.sign(), 1, 0], resample: .bicubic, fill: fillColor)
        case .translateX:
            return PIL.affine(image, [1, 0, m * Double(image.width) * rng.sign(), 0, 1, 0], resample: .nearest, fill: fillColor)
        case .translateY:
            return PIL.affine(image, [1, 0, 0, 0, 1, m * Double(image.height) * rng.sign()], resample: .nearest, fill: fillColor)
        case .rotate:
            return PIL.rotate(image, degrees: m, resample: .nearest, fill: [UInt8](repeating: 128, count: c))
        case .color: return PIL.color(image, factor: Float(1 + m * rng.sign()))
        case .contrast: return PIL.contrast(image, factor: Float(1 + m * rng.sign()))
        case .sharpness: return PIL.sharpness(image, factor: Float(1 + m * rng.sign()))
        case .brightness: return PIL.brightness(image, factor: Float(1 + m * rng.sign()))
        case .posterize: return PIL.posterize(image, bits: Int(m))
        case .solarize: return PIL.solarize(image, threshold: m)
        case .autocontrast: return PIL.autocontrast(image)
        case .equalize: return PIL.equalize(image)
        case .invert: return PIL.invert(image)
        }
    }
}
