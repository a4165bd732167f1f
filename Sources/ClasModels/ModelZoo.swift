import ClasNN

/// Every built-in architecture: PaddleClas names, timm aliases, default input size and a builder.
///
/// The config layer registers these under the Arch registry with each family's `Options` (switch over
/// ``Entry/builder``); tools such as `tools benchmark` and the tests build them by name directly.
public enum ModelZoo {
    /// How an entry builds its model from its family's options, typed so a registry can decode the right struct.
    public enum Builder: Sendable {
        case mobileNetV3(@Sendable (MobileNetV3.Options) throws -> Module)
        case efficientNet(@Sendable (EfficientNet.Options) throws -> Module)
        case mobileOne(@Sendable (MobileOne.Options) throws -> Module)
        case resNet(@Sendable (ResNet.Options) throws -> Module)

        /// The option keys of the family.
        public var optionKeys: [String] {
            switch self {
            case .mobileNetV3: return MobileNetV3.Options.knownKeys
            case .efficientNet: return EfficientNet.Options.knownKeys
            case .mobileOne: return MobileOne.Options.knownKeys
            case .resNet: return ResNet.Options.knownKeys
            }
        }
    }

    /// Where a family's classifier and backbone are, for fine-tuning (reset or re-learn the head, freeze the rest).
    public struct HeadInfo: Sendable, Equatable {
        /// Name prefixes of the classifier parameters (`classifier.`, `fc.`, `head.fc.`).
        public let classifierPrefixes: [String]
    }

    /// One registered architecture.
    public struct Entry: Sendable {
        /// The PaddleClas name (e.g. `MobileNetV3_small_x1_0`).
        public let name: String
        /// Other accepted names (timm's, e.g. `mobilenetv3_small_100`).
        public let aliases: [String]
        /// Family, for grouping in listings.
        public let family: String
        /// Default square input resolution.
        public let resolution: Int
        /// One line for listings.
        public let summary: String
        /// Builds the model from its family's options.
        public let builder: Builder
        /// The classifier's parameter-name prefixes; everything else is backbone.
        public let head: HeadInfo

        /// Builds the model for `classCount` classes with the family's default options.
        public func make(_ classCount: Int) throws -> Module { try make(classCount: classCount) }

        /// Builds the model with the options every family shares; nil keeps the family's default (dropout 0.2 for
        /// MobileNetV3, the variant's for EfficientNet, 0 otherwise; drop path 0.2 for EfficientNet, 0 otherwise).
        public func make(classCount: Int, dropRate: Float? = nil, dropPathRate: Float? = nil, inChannels: Int = 3)
            throws -> Module
        {
            switch builder {
            case .mobileNetV3(let f):
                var o = MobileNetV3.Options(classNum: classCount, inChannels: inChannels)
                if let dropRate { o.dropRate = dropRate }
                if let dropPathRate { o.dropPathRate = dropPathRate }
                return try f(o)
            case .efficientNet(let f):
                var o = EfficientNet.Options(classNum: classCount, dropRate: dropRate, inChannels: inChannels)
                if let dropPathRate { o.dropPathRate = dropPathRate }
                return try f(o)
            case .mobileOne(let f):
                return try f(MobileOne.Options(classNum: classCount, dropRate: dropRate ?? 0,
                                               dropPathRate: dropPathRate ?? 0, inChannels: inChannels))
            case .resNet(let f):
                return try f(ResNet.Options(classNum: classCount, dropRate: dropRate ?? 0, dropPathRate: dropPathRate ?? 0,
                                            inChannels: inChannels))
            }
        }
    }

    /// All entries, in listing order.
    public static let entries: [Entry] = mobileNetV3Entries + efficientNetEntries + mobileOneEntries + resNetEntries

    /// Finds an entry by name or alias (exact match).
    public static func entry(named name: String) -> Entry? {
        entries.first { $0.name == name || $0.aliases.contains(name) }
    }

    /// Builds a model by name or alias with default options.
    public static func make(_ name: String, classCount: Int = 1000) throws -> Module {
        guard let e = entry(named: name) else { throw ModelError.invalidOption("no model named '\(name)'") }
        return try e.make(classCount)
    }

    /// MobileNetV3 large/small at the five PaddleClas scales.
    static var mobileNetV3Entries: [Entry] {
        let scales: [(String, Double, String)] = [("0_35", 0.35, "035"), ("0_5", 0.5, "050"), ("0_75", 0.75, "075"),
                                                  ("1_0", 1.0, "100"), ("1_25", 1.25, "125")]
        var out: [Entry] = []
        for size in [MobileNetV3.Size.large, .small] {
            for (suffix, width, timm) in scales {
                out.append(Entry(
                    name: "MobileNetV3_\(size.rawValue)_x\(suffix)", aliases: ["mobilenetv3_\(size.rawValue)_\(timm)"],
                    family: "MobileNetV3", resolution: 224, summary: "MobileNetV3 \(size.rawValue) ×\(width)",
                    builder: .mobileNetV3 { try MobileNetV3.make(size, widthMultiplier: width, options: $0) },
                    head: HeadInfo(classifierPrefixes: ["classifier."])))
            }
        }
        return out
    }

    /// EfficientNet B0–B7 (timm `efficientnet_b0` …).
    static var efficientNetEntries: [Entry] {
        EfficientNet.variants.map { v in
            Entry(name: "EfficientNet\(v.name.uppercased())", aliases: ["efficientnet_\(v.name)"], family: "EfficientNet",
                  resolution: v.resolution,
                  summary: "EfficientNet-\(v.name.uppercased()) (width ×\(v.widthMultiplier), depth ×\(v.depthMultiplier))",
                  builder: .efficientNet { try EfficientNet.make(v, options: $0) },
                  head: HeadInfo(classifierPrefixes: ["classifier."]))
        }
    }

    /// MobileOne S0–S4 (timm `mobileone_s0` …; not in PaddleClas, named in its style).
    static var mobileOneEntries: [Entry] {
        MobileOne.variants.map { v in
            Entry(name: "MobileOne_\(v.name.uppercased())", aliases: ["mobileone_\(v.name)"], family: "MobileOne",
                  resolution: 224, summary: "MobileOne-\(v.name.uppercased()) (re-parameterizable)",
                  builder: .mobileOne { MobileOne.make(v, options: $0) },
                  head: HeadInfo(classifierPrefixes: ["head.fc."]))
        }
    }

    /// ResNet18/34/50 and the D (`_vd`) variants.
    static var resNetEntries: [Entry] {
        ResNet.variants.map { v in
            Entry(name: v.name, aliases: [v.timmName], family: "ResNet", resolution: 224,
                  summary: "\(v.name) (\(v.block.rawValue) blocks \(v.depths)\(v.deep ? ", deep stem, avg-pool shortcut" : ""))",
                  builder: .resNet { ResNet.make(v, options: $0) },
                  head: HeadInfo(classifierPrefixes: ["fc."]))
        }
    }
}
