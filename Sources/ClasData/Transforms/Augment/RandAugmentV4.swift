import ClasTensor

/// `RandAugmentV4` (PaddleClas's for ML-Decoder; no options): one sub-policy of two operations drawn uniformly from
/// all pairs of (operation, level 1...9) over 15 operations — the 14 of ``RandAugment`` plus cutout — each applied
/// with probability 0.5 at its AutoAugment-table magnitude (`np.linspace` over 10 levels, e.g. rotate 30·level/9
/// degrees, posterize `round(8 - 4·level/9)` bits, cutout half-size `round(20·level/9)` filled with 0), with the
/// operations of ``AutoAugment`` (bicubic shear, nearest translate, gray-filled rotate, enhance 1 ± m).
public struct RandAugmentV4: ConfigurableImageOp, ByteImageOp {
    public static let name = "RandAugmentV4"

    public struct Options: ImageOpOptions {
        public static var keys: [String] { [] }
        public init() {}
    }

    public init(_ options: Options = Options()) throws {}

    static let fill: [UInt8] = [128, 128, 128]

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        // Uniform over the 135 x 135 (operation, level) pairs = two independent uniform draws.
        let picks = (0..<2).map { _ in (op: rng.int(below: 15), level: 1 + rng.int(below: 9)) }
        var out = image
        for pick in picks where rng.uniformDouble() < 0.5 {
            if pick.op == 14 {
                out = RandAugmentLayers.cutout(out, halfSize: pythonRound(20 * Double(pick.level) / 9), value: 0, rng: &rng)
            } else {
                let op = RandAugment.operations[pick.op]
                out = op.apply(out, magnitude: op.policyMagnitude(pick.level), fill: Self.fill, rng: &rng)
            }
        }
        return out
    }
}
