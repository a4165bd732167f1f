/// timm's operation lists and AutoAugment policies (`auto_augment.py`, as copied by PaddleClas): each policy row is
/// a sub-policy of two (operation, probability, magnitude) steps.
enum TimmAugmentPolicies {
    typealias Step = (TimmOpName, Double, Double)

    /// RandAugment's operations.
    static let randTransforms: [TimmOpName] = [
        .autoContrast, .equalize, .invert, .rotate, .posterize, .solarize, .solarizeAdd, .color, .contrast,
        .brightness, .sharpness, .shearX, .shearY, .translateXRel, .translateYRel,
    ]

    /// RandAugment's operations whose severity grows with the magnitude (`inc1`).
    static let randIncreasingTransforms: [TimmOpName] = [
        .autoContrast, .equalize, .invert, .rotate, .posterizeIncreasing, .solarizeIncreasing, .solarizeAdd,
        .colorIncreasing, .contrastIncreasing, .brightnessIncreasing, .sharpnessIncreasing, .shearX, .shearY,
        .translateXRel, .translateYRel,
    ]

    /// `_RAND_CHOICE_WEIGHTS_0` (the `w0` op-choice weights), by operation.
    static let randChoiceWeights0: [TimmOpName: Double] = [
        .rotate: 0.3, .shearX: 0.2, .shearY: 0.2, .translateXRel: 0.1, .translateYRel: 0.1, .color: 0.025,
        .sharpness: 0.025, .autoContrast: 0.025, .solarize: 0.005, .solarizeAdd: 0.005, .contrast: 0.005,
        .brightness: 0.005, .equalize: 0.005, .posterize: 0, .invert: 0,
    ]

    /// AugMix's operations.
    static let augmixTransforms: [TimmOpName] = [
        .autoContrast, .colorIncreasing, .contrastIncreasing, .brightnessIncreasing, .sharpnessIncreasing,
        .equalize, .rotate, .posterizeIncreasing, .solarizeIncreasing, .shearX, .shearY, .translateXRel,
        .translateYRel,
    ]

    /// The AutoAugment policy `name` (`original`, `originalr`, `v0`, `v0r`).
    static func policy(_ name: String) -> [[Step]] {
        switch name {
        case "original": return original(posterize: .posterizeOriginal)
        case "originalr": return original(posterize: .posterizeIncreasing)
        case "v0r": return v0(posterize: .posterizeIncreasing)
        default: return v0(posterize: .posterize)
        }
    }

    /// ImageNet v0 policy from the TPU EfficientNet implementation.
    private static func v0(posterize p: TimmOpName) -> [[Step]] {
        [
            [(.equalize, 0.8, 1), (.shearY, 0.8, 4)], [(.color, 0.4, 9), (.equalize, 0.6, 3)],
            [(.color, 0.4, 1), (.rotate, 0.6, 8)], [(.solarize, 0.8, 3), (.equalize, 0.4, 7)],
            [(.solarize, 0.4, 2), (.solarize, 0.6, 2)], [(.color, 0.2, 0), (.equalize, 0.8, 8)],
            [(.equalize, 0.4, 8), (.solarizeAdd, 0.8, 3)], [(.shearX, 0.2, 9), (.rotate, 0.6, 8)],
            [(.color, 0.6, 1), (.equalize, 1.0, 2)], [(.invert, 0.4, 9), (.rotate, 0.6, 0)],
            [(.equalize, 1.0, 9), (.shearY, 0.6, 3)], [(.color, 0.4, 7), (.equalize, 0.6, 0)],
            [(p, 0.4, 6), (.autoContrast, 0.4, 7)], [(.solarize, 0.6, 8), (.color, 0.6, 9)],
            [(.solarize, 0.2, 4), (.rotate, 0.8, 9)], [(.rotate, 1.0, 7), (.translateYRel, 0.8, 9)],
            [(.shearX, 0.0, 0), (.solarize, 0.8, 4)], [(.shearY, 0.8, 0), (.color, 0.6, 4)],
            [(.color, 1.0, 0), (.rotate, 0.6, 2)], [(.equalize, 0.8, 4), (.equalize, 0.0, 8)],
            [(.equalize, 1.0, 4), (.autoContrast, 0.6, 2)], [(.shearY, 0.4, 7), (.solarizeAdd, 0.6, 7)],
            [(p, 0.8, 2), (.solarize, 0.6, 10)], [(.solarize, 0.6, 8), (.equalize, 0.6, 1)],
            [(.color, 0.8, 6), (.rotate, 0.4, 5)],
        ]
    }

    /// ImageNet policy of the AutoAugment paper, https://arxiv.org/abs/1805.09501.
    private static func original(posterize p: TimmOpName) -> [[Step]] {
        [
            [(p, 0.4, 8), (.rotate, 0.6, 9)], [(.solarize, 0.6, 5), (.autoContrast, 0.6, 5)],
            [(.equalize, 0.8, 8), (.equalize, 0.6, 3)], [(p, 0.6, 7), (p, 0.6, 6)],
            [(.equalize, 0.4, 7), (.solarize, 0.2, 4)], [(.equalize, 0.4, 4), (.rotate, 0.8, 8)],
            [(.solarize, 0.6, 3), (.equalize, 0.6, 7)], [(p, 0.8, 5), (.equalize, 1.0, 2)],
            [(.rotate, 0.2, 3), (.solarize, 0.6, 8)], [(.equalize, 0.6, 8), (p, 0.4, 6)],
            [(.rotate, 0.8, 8), (.color, 0.4, 0)], [(.rotate, 0.4, 9), (.equalize, 0.6, 2)],
            [(.equalize, 0.0, 7), (.equalize, 0.8, 8)], [(.invert, 0.6, 4), (.equalize, 1.0, 8)],
            [(.color, 0.6, 4), (.contrast, 1.0, 8)], [(.rotate, 0.8, 8), (.color, 1.0, 2)],
            [(.color, 0.8, 8), (.solarize, 0.8, 7)], [(.sharpness, 0.4, 7), (.invert, 0.6, 8)],
            [(.shearX, 0.6, 5), (.equalize, 1.0, 9)], [(.color, 0.4, 0), (.equalize, 0.6, 3)],
            [(.equalize, 0.4, 7), (.solarize, 0.2, 4)], [(.solarize, 0.6, 5), (.autoContrast, 0.6, 5)],
            [(.invert, 0.6, 4), (.equalize, 1.0, 8)], [(.color, 0.6, 4), (.contrast, 1.0, 8)],
            [(.equalize, 0.8, 8), (.equalize, 0.6, 3)],
        ]
    }
}
