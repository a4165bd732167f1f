import ClasConfig
import ClasData
import ClasEngine
import ClasModels
import ClasTensor
import Foundation

/// The input an exported model takes, from the config.
public enum ExportInput {
    /// (channels, height, width): `Global.image_shape`, else the size of the last `CropImage`/`ResizeImage` of
    /// `Infer.transforms` (or `DataLoader.Eval`), else the input size of the architecture's card, else 224.
    public static func shape(for config: RunConfig, models: ModelRegistry) -> (channels: Int, height: Int, width: Int) {
        if let s = config.global.imageShape { return (s[0], s[1], s[2]) }
        let ops = config.infer?.transforms ?? config.dataLoader?.eval?.transformOps ?? []
        for op in ops.reversed() where op.name == "CropImage" || op.name == "ResizeImage" {
            guard let size = op.args["size"] else { continue }
            if let text = size.scalar?.text, let s = Scalars.int(text) { return (3, s, s) }
            if let items = size.items, items.count == 2, let w = items[0].scalar.flatMap({ Scalars.int($0.text) }),
               let h = items[1].scalar.flatMap({ Scalars.int($0.text) }) {
                return (3, h, w)
            }
        }
        let r = models.card(named: config.arch.name)?.inputSize ?? 224
        return (3, r, r)
    }
}

/// `Slim.quant`: how `tools quantize` and `tools compress` quantise (PaddleClas's section; SwiftClas's keys).
///
/// | key | default | meaning |
/// |---|---|---|
/// | `name` | — | PaddleClas's method name (`pact`); accepted, SwiftClas always uses min/max observers |
/// | `calibration_images` | 512 | training images used to calibrate activation ranges |
/// | `calibration` | `percentile` | `minmax` or `percentile` |
/// | `percentile` | 99.99 | for `percentile`: clip this upper (and 100 − this lower) percentile |
/// | `batch_size` | 64 | calibration batch size |
public struct QuantizationOptions: ConfigOptions, Sendable, Equatable {
    /// PaddleClas's method name (informational).
    public var name: String?
    /// Training images used for calibration.
    public var calibrationImages = 512
    /// How activation ranges are set.
    public var calibration = CalibrationMethod.percentile
    /// The upper percentile kept by `.percentile`.
    public var percentile = 99.99
    /// Calibration batch size.
    public var batchSize = 64
    /// 7-bit weights (onnxruntime's `reduce_range`): for onnxruntime on CPUs without VNNI, whose u8 × s8 kernels
    /// saturate pairs of products with full-range weights. SwiftClas's own int8 kernels are exact either way.
    public var reduceRange = false

    /// Bits of the quantised weights.
    public var weightBits: Int { reduceRange ? 7 : 8 }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, calibrationImages = "calibration_images", calibration, percentile, batchSize = "batch_size"
        case reduceRange = "reduce_range"
    }
    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    /// The defaults.
    public init() {}

    /// Decodes `Slim.quant`, checking ranges.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        calibrationImages = try c.decode(.calibrationImages, default: 512)
        let method = try c.decode(.calibration, default: "percentile")
        percentile = try c.decode(.percentile, default: 99.99)
        batchSize = try c.decode(.batchSize, default: 64)
        reduceRange = try c.decode(.reduceRange, default: false)
        try decoder.configCheck(calibrationImages >= 1, CodingKeys.calibrationImages,
                                "must be at least 1, got \(calibrationImages)")
        try decoder.configCheck(batchSize >= 1, CodingKeys.batchSize, "must be at least 1, got \(batchSize)")
        try decoder.configCheck(percentile > 50 && percentile <= 100, CodingKeys.percentile,
                                "must be in (50, 100], got \(percentile)")
        guard let m = CalibrationMethod(rawValue: method) else {
            try decoder.configCheck(false, CodingKeys.calibration, "must be 'minmax' or 'percentile', got '\(method)'")
            calibration = .minmax
            return
        }
        calibration = m
    }

    /// The options of a config (`Slim.quant`, or the defaults).
    public static func from(_ config: RunConfig, decoder: ConfigDecoder) throws -> QuantizationOptions {
        guard let node = config.slim?.node["quant"], !node.isNull else { return QuantizationOptions() }
        return try decoder.decode(QuantizationOptions.self, from: node, path: "Slim.quant")
    }
}

/// Calibration images: `DataLoader.Train`'s dataset in a seeded random order, preprocessed like evaluation images
/// (`DataLoader.Eval.transform_ops`, else `Infer.transforms`, else the training transforms).
public struct CalibrationData {
    let loader: DataLoader
    /// Batches used per pass.
    public let batches: Int
    /// Images used per pass.
    public var imageCount: Int { batches * loader.sampler.batchSize }

    /// The calibration images of `engine`'s config.
    public init(engine: Engine, images: Int, batchSize: Int) throws {
        try self.init(config: engine.config, registries: engine.registries, decoder: engine.decoder, seed: engine.seed,
                      images: images, batchSize: batchSize)
    }

    /// The calibration images of a config: `images` of them in batches of `batchSize`.
    public init(config: RunConfig, registries: Registries, decoder: ConfigDecoder, seed: UInt64, images: Int,
                batchSize: Int) throws {
        guard let train = config.dataLoader?.train else {
            throw ExportError("calibration reads DataLoader.Train images, and the config has no DataLoader.Train")
        }
        let dataset = try registries.data.dataset.build(train.dataset, context: DatasetContext(classCount: config.classNum),
                                                        decoder: decoder)
        let specs = config.dataLoader?.eval?.transformOps ?? config.infer?.transforms ?? train.transformOps
        let ops = try specs.map { try registries.data.transform.build($0, context: (), decoder: decoder) }
        let size = max(min(batchSize, images, dataset.count), 1)
        let sampler = try BatchSampler(datasetCount: dataset.count, batchSize: size, shuffle: true, seed: seed)
        loader = try DataLoader(dataset: dataset, transforms: ops, sampler: sampler,
                                options: .init(numWorkers: train.loader.numWorkers ?? 2, seed: seed,
                                               skipBadImages: config.global.skipBadImages))
        batches = min(sampler.batchCount, (images + size - 1) / size)
    }

    /// Calls `body` with each calibration batch (the same batches every call).
    public func forEach(_ body: (Tensor) throws -> Void) throws {
        let epoch = loader.epoch(0)
        defer { epoch.cancel() }
        var n = 0
        while n < batches, let batch = try epoch.next() {
            try body(batch.images)
            n += 1
        }
    }
}
