import ClasConfig
import ClasOptim
import ClasTensor

/// Options shared by the optimizers: PaddleClas's weight-decay switches.
struct DecayOptions {
    var noWeightDecayName: [String] = []
    var oneDimParamNoWeightDecay = false
}

/// `no_weight_decay_name` is a space-separated list of name fragments in PaddleClas.
func decodeDecay<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ names: K, _ oneDim: K) throws -> DecayOptions {
    var d = DecayOptions()
    if let text = try c.decodeIfPresent(String.self, forKey: names) {
        d.noWeightDecayName = text.split(separator: " ").map(String.init)
    }
    d.oneDimParamNoWeightDecay = try c.decode(oneDim, default: false)
    return d
}

/// The decay policy: an explicit coefficient wins over none; the regularizer supplies it when given.
func policy(_ coefficient: Double?, _ regularizer: WeightDecayPolicy?, _ d: DecayOptions) -> WeightDecayPolicy {
    WeightDecayPolicy(coefficient: Float(regularizer?.coefficient ?? Float(coefficient ?? 0)),
                      excludedNameParts: d.noWeightDecayName, excludeOneDimensional: d.oneDimParamNoWeightDecay)
}

/// `regularizer: {name: L2, coeff}` (coupled L2 decay). L1 is refused.
struct L2RegularizerOptions: ConfigOptions {
    var coeff: Double
    enum CodingKeys: String, CodingKey, CaseIterable { case coeff }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        coeff = try c.decode(Double.self, forKey: .coeff)
        try decoder.configCheck(coeff >= 0, CodingKeys.coeff, "must not be negative, got \(coeff)")
    }
}
