import ClasConfig
import ClasModels
import ClasNN

/// Options every built-in architecture accepts (PaddleClas's factory keyword arguments).
struct ArchOptions: ConfigOptions {
    /// Classifier outputs; defaults to the data's class count.
    var classNum: Int?
    /// Dropout before the classifier (PaddleClas `dropout_prob`, timm `drop_rate`).
    var dropoutProb: Double?
    /// Stochastic depth (timm `drop_path_rate`, PaddleClas/EfficientNet `drop_connect_rate`).
    var dropPathRate: Double?
    /// MobileNetV3 head width (PaddleClas `class_expand`).
    var classExpand: Int?
    /// Weights to load inside the factory: false, or a path prefix.
    var pretrained: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case classNum = "class_num", dropoutProb = "dropout_prob", dropRate = "drop_rate"
        case dropPathRate = "drop_path_rate", dropConnectRate = "drop_connect_rate", classExpand = "class_expand"
        case pretrained
    }

    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    static let ignoredKeys: [String: String] = [
        "use_ssld": "official PaddleClas weights are not downloaded; use Global.pretrained_model",
        "use_sync_bn": "SwiftClas trains in one process",
        "infer_model_name": "", "infer_output_key": "", "infer_add_softmax": "",
    ]

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        classNum = try c.decodeIfPresent(Int.self, forKey: .classNum)
        dropoutProb = try c.decodeIfPresent(Double.self, forKey: .dropoutProb) ?? c.decodeIfPresent(Double.self, forKey: .dropRate)
        dropPathRate = try c.decodeIfPresent(Double.self, forKey: .dropPathRate)
            ?? c.decodeIfPresent(Double.self, forKey: .dropConnectRate)
        classExpand = try c.decodeIfPresent(Int.self, forKey: .classExpand)
        if let flag = try? c.decodeIfPresent(Bool.self, forKey: .pretrained) {
            pretrained = flag == true ? "true" : nil
        } else {
            pretrained = try c.decodeIfPresent(String.self, forKey: .pretrained)
        }
        if let classNum { try decoder.configCheck(classNum >= 1, CodingKeys.classNum, "must be at least 1, got \(classNum)") }
        if let p = dropoutProb { try decoder.configCheck(p >= 0 && p < 1, CodingKeys.dropoutProb, "must be in [0, 1), got \(p)") }
        if let p = dropPathRate { try decoder.configCheck(p >= 0 && p < 1, CodingKeys.dropPathRate, "must be in [0, 1), got \(p)") }
        if pretrained == "true" {
            throw ConfigError("Arch.pretrained: True downloads PaddleClas weights, which SwiftClas cannot do; "
                              + "set Global.pretrained_model to a .safetensors file (timm weights work)",
                              at: decoder.configNode?.entry("pretrained")?.value.location ?? .unknown)
        }
    }
}

extension Registries {
    static func registerModels(into r: inout Registries) {
        for entry in ModelZoo.entries {
            r.arch.register(entry.name, aliases: entry.aliases, summary: "\(entry.family), \(entry.resolution) px",
                            options: ArchOptions.self) { o, ctx in
                try ModelFactory.make(entry, options: o, classCount: o.classNum ?? ctx.classCount)
            }
        }
    }
}

/// Applies the generic options to a zoo entry.
enum ModelFactory {
    static func make(_ entry: ModelZoo.Entry, options o: ArchOptions, classCount: Int) throws -> Module {
        switch entry.family {
        case "MobileNetV3":
            let size: MobileNetV3.Size = entry.name.contains("large") ? .large : .small
            let width = MobileNetV3.widthMultiplier(forName: entry.name)
            return try MobileNetV3(size: size, widthMultiplier: width, classCount: classCount, headChannels: o.classExpand,
                                   dropRate: Float(o.dropoutProb ?? 0.2), dropPathRate: Float(o.dropPathRate ?? 0))
        default:
            guard o.classExpand == nil else { throw ModelError.invalidOption("class_expand applies to MobileNetV3 only") }
            return try entry.make(classCount)
        }
    }
}
