import ClasConfig
import ClasData

/// `MultiScaleSampler` options (PaddleClas, MobileViT recipes): `scales` (sides, or `[w, h]` pairs), `first_bs` (the
/// first scale's batch size), `divided_factor` (32), `is_training` (True), `shuffle` (True). See ``MultiScalePlan``.
public struct MultiScaleSettings {
    public var scales: [(width: Int, height: Int)]
    public var firstBatchSize: Int
    public var dividedFactor: Int
    public var isTraining: Bool
}

struct MultiScaleSamplerOptions: ConfigOptions {
    var settings: MultiScaleSettings, shuffle: Bool
    enum CodingKeys: String, CodingKey, CaseIterable {
        case scales, firstBS = "first_bs", dividedFactor = "divided_factor", isTraining = "is_training", shuffle
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    static let ignoredKeys = ["seed": "SwiftClas shuffles from Global.seed and the epoch",
                              "batch_size": "MultiScaleSampler takes first_bs"]
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let scales: [(width: Int, height: Int)]
        if let sides = try? c.decode([Int].self, forKey: .scales) {
            scales = sides.map { ($0, $0) }
        } else {
            let pairs = try c.decode([[Int]].self, forKey: .scales)
            try decoder.configCheck(pairs.allSatisfy { $0.count == 2 }, CodingKeys.scales,
                                    "expects sides [256, 224] or [w, h] pairs [[256, 256], [224, 224]]")
            scales = pairs.map { ($0[0], $0[1]) }
        }
        try decoder.configCheck(!scales.isEmpty && scales.allSatisfy { $0.width > 0 && $0.height > 0 }, CodingKeys.scales,
                                "must be a non-empty list of positive sizes")
        let first = try c.decode(Int.self, forKey: .firstBS)
        try decoder.configCheck(first > 0, CodingKeys.firstBS, "must be positive, got \(first)")
        let factor = try c.decode(.dividedFactor, default: 32)
        try decoder.configCheck(factor > 0 && scales.allSatisfy { $0.width >= factor && $0.height >= factor },
                                CodingKeys.dividedFactor, "must be positive and at most the smallest scale, got \(factor)")
        settings = MultiScaleSettings(scales: scales, firstBatchSize: first, dividedFactor: factor,
                                      isTraining: try c.decode(.isTraining, default: true))
        shuffle = try c.decode(.shuffle, default: true)
    }
}

extension DataRegistries {
    /// `MultiScaleSampler` and `MultiScaleDataset` (an `ImageNetDataset` list whose resizing ops take each batch's
    /// size).
    mutating func registerMultiScale() {
        sampler.register("MultiScaleSampler", summary: "per-batch image sizes from scales; first_bs, divided_factor",
                         options: MultiScaleSamplerOptions.self) { o, _ in
            SamplerSettings(batchSize: o.settings.firstBatchSize, shuffle: o.shuffle, dropLast: false, multiScale: o.settings)
        }
        dataset.register("MultiScaleDataset", summary: "list file of `path label` lines, for MultiScaleSampler",
                         options: ImageNetDatasetOptions.self) { o, ctx in
            try ImageNetDataset(imageRoot: o.imageRoot, listPath: o.listPath, delimiter: o.delimiter,
                                relabel: o.relabel, classCount: ctx.classCount)
        }
    }

    /// The ops whose `size` MultiScaleDataset replaces with each batch's (their other options are dropped, as in
    /// PaddleClas, which rebuilds them with `{size: (w, h)}` only).
    static let multiScaleResizeOps: Set<String> = ["RandCropImage", "ResizeImage", "CropImage"]

    /// The transforms of `specs` for batches of `width` x `height`.
    func resizedTransforms(_ specs: [ComponentSpec], width: Int, height: Int) throws -> [any ImageOp] {
        try specs.map { spec in
            guard Self.multiScaleResizeOps.contains(spec.name) else {
                return try transform.build(spec, context: (), decoder: ConfigDecoder())
            }
            let size = ConfigNode.sequence([.scalar(String(width)), .scalar(String(height))])
            let node = ConfigNode.mapping([.init(key: spec.name, value: .mapping([.init(key: "size", value: size)]))])
            return try transform.build(ComponentSpec(node: node, path: spec.path), context: (), decoder: ConfigDecoder())
        }
    }
}
