import ClasNN

/// Every built-in architecture: PaddleClas names, timm aliases, default input size and a builder.
///
/// The config layer registers these under the Arch registry with per-family options; tools such as
/// `tools benchmark` and the tests build them by name directly.
public enum ModelZoo {
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
        /// Builds the model for `classCount` classes with default options.
        public let make: @Sendable (_ classCount: Int) throws -> Module
    }

    /// All entries, in listing order.
    public static var entries: [Entry] { mobileNetV3Entries }

    /// Finds an entry by name or alias (exact match).
    public static func entry(named name: String) -> Entry? {
        entries.first { $0.name == name || $0.aliases.contains(name) }
    }

    /// Builds a model by name or alias.
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
                out.append(Entry(name: "MobileNetV3_\(size.rawValue)_x\(suffix)", aliases: ["mobilenetv3_\(size.rawValue)_\(timm)"],
                                 family: "MobileNetV3", resolution: 224,
                                 make: { try MobileNetV3(size: size, widthMultiplier: width, classCount: $0) }))
            }
        }
        return out
    }
}
