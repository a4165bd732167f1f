import ClasTensor

/// `AutoAugment`: PaddleClas's ImageNet policy (`ImageNetPolicy` in `ppcls/data/preprocess/ops/autoaugment.py`),
/// from "AutoAugment: Learning Augmentation Policies from Data", https://arxiv.org/abs/1805.09501.
///
/// Each image gets one of the 25 sub-policies, chosen uniformly; each of its two operations runs with its
/// probability at its magnitude (see ``PaddleAugmentOp`` for the operations). Works on 8-bit images, so it goes
/// before `NormalizeImage`. Option: `fillcolor` (default `[128, 128, 128]`), the colour of the areas uncovered by
/// shear and translate.
public struct AutoAugment: ConfigurableImageOp, ByteImageOp {
    public static let name = "AutoAugment"

    public struct Options: ImageOpOptions {
        public var fillcolor = FillColorOption([128, 128, 128])

        enum CodingKeys: String, CodingKey, CaseIterable { case fillcolor }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(fillcolor: [Int] = [128, 128, 128]) { self.fillcolor = FillColorOption(fillcolor) }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            fillcolor = try c.decodeIfPresent(FillColorOption.self, forKey: .fillcolor) ?? FillColorOption([128, 128, 128])
        }
    }

    /// One sub-policy: two (probability, operation, magnitude index) steps.
    struct SubPolicy: Sendable {
        let steps: [(p: Double, op: PaddleAugmentOp, index: Int)]
        init(_ p1: Double, _ op1: PaddleAugmentOp, _ i1: Int, _ p2: Double, _ op2: PaddleAugmentOp, _ i2: Int) {
            steps = [(p1, op1, i1), (p2, op2, i2)]
        }
    }

    /// The ImageNet policy, in PaddleClas's order.
    static let imageNetPolicy: [SubPolicy] = [
        SubPolicy(0.4, .posterize, 8, 0.6, .rotate, 9), SubPolicy(0.6, .solarize, 5, 0.6, .autocontrast, 5),
        SubPolicy(0.8, .equalize, 8, 0.6, .equalize, 3), SubPolicy(0.6, .posterize, 7, 0.6, .posterize, 6),
        SubPolicy(0.4, .equalize, 7, 0.2, .solarize, 4), SubPolicy(0.4, .equalize, 4, 0.8, .rotate, 8),
        SubPolicy(0.6, .solarize, 3, 0.6, .equalize, 7), SubPolicy(0.8, .posterize, 5, 1.0, .equalize, 2),
        SubPolicy(0.2, .rotate, 3, 0.6, .solarize, 8), SubPolicy(0.6, .equalize, 8, 0.4, .posterize, 6),
        SubPolicy(0.8, .rotate, 8, 0.4, .color, 0), SubPolicy(0.4, .rotate, 9, 0.6, .equalize, 2),
        SubPolicy(0.0, .equalize, 7, 0.8, .equalize, 8), SubPolicy(0.6, .invert, 4, 1.0, .equalize, 8),
        SubPolicy(0.6, .color, 4, 1.0, .contrast, 8), SubPolicy(0.8, .rotate, 8, 1.0, .color, 2),
        SubPolicy(0.8, .color, 8, 0.8, .solarize, 7), SubPolicy(0.4, .sharpness, 7, 0.6, .invert, 8),
        SubPolicy(0.6, .shearX, 5, 1.0, .equalize, 9), SubPolicy(0.4, .color, 0, 0.6, .equalize, 3),
        SubPolicy(0.4, .equalize, 7, 0.2, .solarize, 4), SubPolicy(0.6, .solarize, 5, 0.6, .autocontrast, 5),
        SubPolicy(0.6, .invert, 4, 1.0, .equalize, 8), SubPolicy(0.6, .color, 4, 1.0, .contrast, 8),
        SubPolicy(0.8, .equalize, 8, 0.6, .equalize, 3),
    ]

    public let fillcolor: [UInt8]

    public init(_ options: Options = Options()) throws {
        try options.fillcolor.validate(Self.name, key: "fillcolor")
        fillcolor = options.fillcolor.values.map { UInt8($0) }
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        let policy = Self.imageNetPolicy[rng.int(in: 0...(Self.imageNetPolicy.count - 1))]
        return apply(policy, to: image, rng: &rng)
    }

    /// Runs one sub-policy (exposed for tests: `policyIndex` in 0..<25).
    func apply(policyIndex: Int, to image: Image, rng: inout RandomState) -> Image {
        apply(Self.imageNetPolicy[policyIndex], to: image, rng: &rng)
    }

    private func apply(_ policy: SubPolicy, to image: Image, rng: inout RandomState) -> Image {
        var out = image
        for step in policy.steps where rng.uniformDouble() < step.p {
            out = step.op.apply(out, magnitude: step.op.policyMagnitude(step.index), fill: fillcolor, rng: &rng)
        }
        return out
    }
}
