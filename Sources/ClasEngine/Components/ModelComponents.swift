import ClasConfig
import ClasModels
import ClasNN

extension MobileNetV3.Options: ConfigOptions {}
extension EfficientNet.Options: ConfigOptions {}
extension MobileOne.Options: ConfigOptions {}
extension ResNet.Options: ConfigOptions {}

extension Registries {
    /// Every `ModelZoo` entry under its PaddleClas name and timm alias, with its family's options plus `head`
    /// (``HeadOptions``). The class count is the engine's (`Arch.class_num`, else the data's).
    static func registerModels(into r: inout Registries) {
        for entry in ModelZoo.entries {
            let summary = "\(entry.summary), \(entry.resolution) px"
            switch entry.builder {
            case .mobileNetV3(let make):
                r.arch.register(entry.name, aliases: entry.aliases, summary: summary, options: WithHead<MobileNetV3.Options>.self) {
                    var o = $0.base
                    o.classNum = $1.classCount
                    return try $0.head.apply(to: make(o), entry: entry)
                }
            case .efficientNet(let make):
                r.arch.register(entry.name, aliases: entry.aliases, summary: summary, options: WithHead<EfficientNet.Options>.self) {
                    var o = $0.base
                    o.classNum = $1.classCount
                    return try $0.head.apply(to: make(o), entry: entry)
                }
            case .mobileOne(let make):
                r.arch.register(entry.name, aliases: entry.aliases, summary: summary, options: WithHead<MobileOne.Options>.self) {
                    var o = $0.base
                    o.classNum = $1.classCount
                    return try $0.head.apply(to: make(o), entry: entry)
                }
            case .resNet(let make):
                r.arch.register(entry.name, aliases: entry.aliases, summary: summary, options: WithHead<ResNet.Options>.self) {
                    var o = $0.base
                    o.classNum = $1.classCount
                    return try $0.head.apply(to: make(o), entry: entry)
                }
            }
        }
        registerDistillationModel(into: &r)
    }
}
