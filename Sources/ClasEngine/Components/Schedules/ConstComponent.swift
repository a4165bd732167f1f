import ClasConfig
import ClasOptim

struct ConstOptions: ConfigOptions {
    var w: WarmupKeys
    static let knownKeys = CommonKey.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws { w = try decodeCommon(decoder) }
}

extension ConstantLR {
    /// `ConstLR` (`Constant`).
    static func register(into r: inout Registries) {
        r.lrScheduler.register("ConstLR", aliases: ["Constant"], summary: "a constant rate (with optional warm-up)",
                               options: ConstOptions.self) { o, ctx in
            withWarmup(o.w, ctx) { _, _ in ConstantLR(Float(o.w.learningRate)) }
        }
    }
}
