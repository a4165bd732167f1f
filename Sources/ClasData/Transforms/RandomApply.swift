import ClasTensor

/// `RandomApply`: runs its `transforms` in order with probability `p`, else leaves the sample unchanged
/// (PaddleClas `RandomApply`: skipped when `p < U[0, 1)`).
///
/// ```yaml
/// - RandomApply:
///     p: 0.8
///     transforms:
///       - ColorJitter: {brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1}
/// ```
/// The config registry builds the inner ops (any registered transform op); see `DataRegistries`.
public struct RandomApply: ImageOp {
    public static let name = "RandomApply"
    public let p: Double
    public let ops: [any ImageOp]

    /// - Throws: `OptionsError` unless `p` is in [0, 1].
    public init(p: Double, ops: [any ImageOp]) throws {
        try OptionsError.require((0...1).contains(p), Self.name, "p must be in [0, 1], got \(p)")
        (self.p, self.ops) = (p, ops)
    }

    public func apply(_ sample: inout Sample, rng: inout RandomState) throws {
        if p < rng.uniformDouble() { return }
        try Transforms.apply(ops, to: &sample, rng: &rng)
    }
}
