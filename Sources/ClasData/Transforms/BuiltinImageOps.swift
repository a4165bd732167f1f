import ClasTensor

/// The transform ops SwiftClas implements, as plain data for filling a config registry in a loop.
///
///     for op in BuiltinImageOps.all { registerOp(op) }   // generic helper: func registerOp<T: ConfigurableImageOp>(_: T.Type)
///
/// or, without generics, through `entries` (name, option keys, decode-and-build closure).
public enum BuiltinImageOps {
    /// The op types, in PaddleClas pipeline order.
    public static let all: [any ConfigurableImageOp.Type] = [
        DecodeImage.self, ResizeImage.self, RandCropImage.self, CropImage.self, CropImageAtRatio.self, RandFlipImage.self,
        NormalizeImage.self, ToCHWImage.self,
        // Augmentations (Transforms/Augment).
        AutoAugment.self, RandAugment.self, RandAugmentV2.self, TimmAutoAugment.self, AugMix.self, ColorJitter.self,
        RandomRotation.self, RandomGrayscale.self, RandomErasing.self, Cutout.self, GridMask.self,
    ]

    /// One op: its PaddleClas name, the option keys it accepts, its options type and a factory.
    public struct Entry: Sendable {
        public let name: String
        public let optionKeys: [String]
        public let optionsType: any ImageOpOptions.Type
        /// Decodes the options from a `Decoder` positioned on the op's mapping and builds the op.
        public let make: @Sendable (Decoder) throws -> any ImageOp
    }

    /// `all` as type-erased entries.
    public static var entries: [Entry] { all.map { entry(for: $0) } }

    /// The entry with PaddleClas name `name`, if built in.
    public static func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    private static func entry<T: ConfigurableImageOp>(for type: T.Type) -> Entry {
        Entry(name: T.name, optionKeys: T.Options.keys, optionsType: T.Options.self, make: { try T.make(from: $0) })
    }
}

/// Runs transform ops in order on samples.
public enum Transforms {
    /// Applies `ops` to `sample` in order with one random stream.
    public static func apply(_ ops: [any ImageOp], to sample: inout Sample, rng: inout RandomState) throws {
        for op in ops { try op.apply(&sample, rng: &rng) }
    }
}
