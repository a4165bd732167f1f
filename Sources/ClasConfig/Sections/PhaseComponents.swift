/// A section made of component lists per phase: `Loss` and `Metric` (`Train: [- CELoss: {weight: 1.0}]`, `Eval: …`).
public struct PhaseComponents: ConfigOptions, Sendable, Equatable {
    /// Components used in training, or nil when the section has no `Train`.
    public var train: [ComponentSpec]?
    /// Components used in evaluation, or nil when the section has no `Eval`.
    public var eval: [ComponentSpec]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case train = "Train"
        case eval = "Eval"
    }

    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    /// Creates a section from lists.
    public init(train: [ComponentSpec]? = nil, eval: [ComponentSpec]? = nil) {
        self.train = train
        self.eval = eval
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        train = try c.decodeIfPresent([ComponentSpec].self, forKey: .train)
        eval = try c.decodeIfPresent([ComponentSpec].self, forKey: .eval)
    }
}
