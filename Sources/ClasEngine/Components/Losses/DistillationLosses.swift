import ClasConfig
import ClasTensor

/// Losses between the models of a `DistillationModel`, with PaddleClas's names, options and log keys.
///
/// ```yaml
/// Loss:
///   Train:
///     - DistillationGTCELoss: {weight: 1.0, model_names: [Student, Teacher]}     # CELoss_Student, CELoss_Teacher
///     - DistillationDMLLoss: {weight: 1.0, model_name_pairs: [[Student, Teacher]]} # DMLLoss_Student_Teacher_0
///     - DistillationCELoss: {weight: 1.0, model_name_pairs: [[Student, Teacher]]}  # CELoss_Student_Teacher
///     - DistillationKLDivLoss: {weight: 1.0, model_name_pairs: [[Student, Teacher]], temperature: 4}
/// ```
public enum DistillationLoss {
    /// PaddleClas's `DMLLoss` (deep mutual learning, Zhang et al., https://arxiv.org/abs/1706.00384):
    /// (KL(p‖q) + KL(q‖p))/2 per row, averaged over rows, with p, q the activations of `a` and `b` and
    /// log(· + eps) as PaddleClas. Gradients reach both inputs, so each model learns toward the other.
    /// `sumAcrossClasses` multiplies by the class count (PaddleClas's `sum_across_class_dim`).
    /// `weights` [N, classes] weight each term (PaddleClas's multi-label DML with `weight_ratio`).
    public static func dml(_ a: Tensor, _ b: Tensor, activation: DMLActivation = .softmax, eps: Float = 1e-12,
                           sumAcrossClasses: Bool = false, weights: Tensor? = nil) -> Tensor {
        precondition(a.shape == b.shape && a.rank == 2, "DMLLoss: shapes \(a.shape) and \(b.shape)")
        let p = activation.apply(a), q = activation.apply(b)
        // p·log(p/q) + q·log(q/p) = (p − q)·(log p − log q)
        let terms = (p - q) * ((p + eps).log() - (q + eps).log())
        let symmetric = (weights.map { terms * $0 } ?? terms).sum()
        let rows = Float(a.shape[0]), classes = Float(a.shape[1])
        return symmetric * ((sumAcrossClasses ? classes : 1) / (2 * rows))
    }

    /// Hinton's distillation term (PaddleClas's `KLDivLoss`): T²·KL(softmax(t/T) ‖ softmax(s/T)) averaged over rows;
    /// the teacher side is detached.
    public static func klDiv(student s: Tensor, teacher t: Tensor, temperature: Float) -> Tensor {
        let logP = (t.detached() * (1 / temperature)).logSoftmax()
        let logQ = (s * (1 / temperature)).logSoftmax()
        return Tensor.klDivergence(logP: logP, logQ: logQ) * (temperature * temperature)
    }

    /// PaddleClas's `DistillationCELoss`: cross-entropy of `a` against softmax(`b`) (detached), label-smoothed by
    /// `epsilon`.
    public static func softTargetCE(_ a: Tensor, _ b: Tensor, epsilon: Float) -> Tensor {
        let target = b.detached().softmax()
        let classes = Float(a.shape[1])
        return Tensor.softCrossEntropy(a, target: epsilon > 0 ? target.affine(1 - epsilon, epsilon / classes) : target)
    }
}

/// The activation DMLLoss applies to both inputs (`act`).
public enum DMLActivation: String, Decodable, Sendable, CaseIterable {
    case softmax, sigmoid, none = "None"

    func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .softmax: return x.softmax()
        case .sigmoid: return x.sigmoid()
        case .none: return x
        }
    }
}

/// `DistillationGTCELoss`: each named model against the ground truth (`CELoss_<model>`).
struct DistillationGTCELoss: LossFunction {
    var modelNames: [String], epsilon: Float
    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        modelNames.map { ("CELoss_\($0)", CrossEntropyLoss.loss(outputs.required($0), targets, epsilon: epsilon)) }
    }
}

/// `DistillationCELoss`: model a against model b's softmax (`CELoss_<a>_<b>`).
struct DistillationCELoss: LossFunction {
    var pairs: [[String]], epsilon: Float
    var readsLabels: Bool { false }
    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        pairs.map { ("CELoss_\($0[0])_\($0[1])",
                     DistillationLoss.softTargetCE(outputs.required($0[0]), outputs.required($0[1]), epsilon: epsilon)) }
    }
}

/// `DistillationDMLLoss`: symmetric KL between the models of each pair (`DMLLoss_<a>_<b>_<index>`); `DMLLoss`
/// applies it to every pair of the DistillationModel's models, averaged (key `DMLLoss`).
struct DistillationDMLLoss: LossFunction {
    var pairs: [[String]], activation: DMLActivation, sumAcrossClasses: Bool
    var averagedKey: String? = nil
    /// Multi-label data: weight each term as `MultiLabelLoss`'s `weight_ratio` does (unknown targets get 0).
    var weightRatio = false
    var readsLabels: Bool { false }
    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        var weights: Tensor? = nil
        if weightRatio {
            guard let multiHot = targets.multiHot, let ratio = targets.labelRatio else {
                preconditionFailure("DistillationDMLLoss weight_ratio needs multi-label targets and their label_ratio")
            }
            weights = MultiLabelLoss.ratioWeights(multiHot, ratio: ratio)
        }
        let each = pairs.enumerated().map { i, pair in
            ("DMLLoss_\(pair[0])_\(pair[1])_\(i)",
             DistillationLoss.dml(outputs.required(pair[0]), outputs.required(pair[1]), activation: activation,
                                  sumAcrossClasses: sumAcrossClasses, weights: weights))
        }
        guard let key = averagedKey, let first = each.first?.1 else { return each }
        let sum = each.dropFirst().reduce(first) { $0 + $1.1 }
        return [(key, each.count == 1 ? sum : sum * (1 / Float(each.count)))]
    }
}

/// `DistillationKLDivLoss`: Hinton's soft-target term for each (student, teacher) pair (`loss_kl_<s>_<t>`).
struct DistillationKLDivLoss: LossFunction {
    var pairs: [[String]], temperature: Float
    var readsLabels: Bool { false }
    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        pairs.map { ("loss_kl_\($0[0])_\($0[1])",
                     DistillationLoss.klDiv(student: outputs.required($0[0]), teacher: outputs.required($0[1]),
                                            temperature: temperature)) }
    }
}

/// `model_names` of `DistillationGTCELoss`.
struct GTCEOptions: ConfigOptions {
    var modelNames: [String], epsilon: Float
    enum CodingKeys: String, CodingKey, CaseIterable { case modelNames = "model_names", epsilon, key, name, mode }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelNames = try c.decode([String].self, forKey: .modelNames)
        try decoder.configCheck(!modelNames.isEmpty, CodingKeys.modelNames, "needs at least one model name")
        epsilon = try decodeEpsilon(c, .epsilon, decoder)
        try checkCommon(c, key: .key, name: .name, decoder)
        let mode = try c.decode(.mode, default: "model")
        try decoder.configCheck(mode == "model", CodingKeys.mode, "only 'model' is supported, got '\(mode)'")
    }
}

/// `model_name_pairs` (+ `epsilon`) of `DistillationCELoss`.
struct PairCEOptions: ConfigOptions {
    var pairs: [[String]], epsilon: Float
    enum CodingKeys: String, CodingKey, CaseIterable { case pairs = "model_name_pairs", epsilon, key, name }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        pairs = try decodePairs(c, .pairs, decoder)
        epsilon = try decodeEpsilon(c, .epsilon, decoder)
        try checkCommon(c, key: .key, name: .name, decoder)
    }
}

/// `DistillationDMLLoss`: `model_name_pairs`, `act`, `sum_across_class_dim`.
struct DMLOptions: ConfigOptions {
    var pairs: [[String]], activation: DMLActivation, sumAcrossClasses: Bool, weightRatio: Bool
    enum CodingKeys: String, CodingKey, CaseIterable {
        case pairs = "model_name_pairs", act, sum = "sum_across_class_dim", weightRatio = "weight_ratio", key, name
        case multilabel
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        pairs = try decodePairs(c, .pairs, decoder)
        activation = try decodeActivation(c, .act)
        sumAcrossClasses = try c.decode(.sum, default: false)
        weightRatio = try c.decode(.weightRatio, default: false)
        let multi = try c.decode(.multilabel, default: false)
        try decoder.configCheck(!multi, CodingKeys.multilabel, "multi-label DML is not supported")
        try checkCommon(c, key: .key, name: .name, decoder)
    }
}

/// `DMLLoss` (every pair of the DistillationModel): `act`, `sum_across_class_dim`, `eps`.
struct PlainDMLOptions: ConfigOptions {
    var activation: DMLActivation, sumAcrossClasses: Bool
    enum CodingKeys: String, CodingKey, CaseIterable { case act, sum = "sum_across_class_dim", eps }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        activation = try decodeActivation(c, .act)
        sumAcrossClasses = try c.decode(.sum, default: false)
        let eps = try c.decode(.eps, default: 1e-12)
        try decoder.configCheck(eps == 1e-12, CodingKeys.eps, "is fixed at 1e-12")
    }
}

/// `act`: softmax by default; `None` (null) applies none (the outputs are probabilities already).
private func decodeActivation<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> DMLActivation {
    guard c.contains(key) else { return .softmax }
    return try c.decodeNil(forKey: key) ? .none : try c.decode(DMLActivation.self, forKey: key)
}

/// `model_name_pairs` and `temperature` of `DistillationKLDivLoss`.
struct KLDivOptions: ConfigOptions {
    var pairs: [[String]], temperature: Float
    enum CodingKeys: String, CodingKey, CaseIterable { case pairs = "model_name_pairs", temperature, key, name }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        pairs = try decodePairs(c, .pairs, decoder)
        let t = try c.decode(.temperature, default: 4.0)
        try decoder.configCheck(t > 0, CodingKeys.temperature, "must be positive, got \(t)")
        temperature = Float(t)
        try checkCommon(c, key: .key, name: .name, decoder)
    }
}

private func decodePairs<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K, _ decoder: Decoder) throws -> [[String]] {
    let pairs = try c.decode([[String]].self, forKey: key)
    try decoder.configCheck(!pairs.isEmpty && pairs.allSatisfy { $0.count == 2 }, key,
                            "expects pairs of model names such as [[Student, Teacher]], got \(pairs)")
    return pairs
}

private func decodeEpsilon<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K, _ decoder: Decoder) throws -> Float {
    guard let e = try c.decodeIfPresent(Double.self, forKey: key) else { return 0 }
    try decoder.configCheck(e >= 0 && e < 1, key, "must be in [0, 1), got \(e)")
    return Float(e)
}

/// PaddleClas's `key` (an entry of dict outputs; SwiftClas models output logits only) and `name` (log prefix).
private func checkCommon<K: CodingKey>(_ c: KeyedDecodingContainer<K>, key: K, name: K, _ decoder: Decoder) throws {
    if let k = try c.decodeIfPresent(String.self, forKey: key) {
        try decoder.configCheck(k == "logits", key, "selects a dict output; SwiftClas models output logits only")
    }
    _ = try c.decodeIfPresent(String.self, forKey: name)
}

extension DistillationLoss {
    /// The losses between the models of a `DistillationModel` (and `DMLLoss`).
    static func register(into r: inout Registries) {
        r.loss.register("DistillationGTCELoss", summary: "each named model vs the labels (CELoss_<model>)",
                        options: GTCEOptions.self) { o, ctx in
            try ctx.requireModels(o.modelNames, key: "model_names")
            return DistillationGTCELoss(modelNames: o.modelNames, epsilon: o.epsilon)
        }
        r.loss.register("DistillationCELoss", summary: "model a vs softmax of model b (CELoss_<a>_<b>)",
                        options: PairCEOptions.self) { o, ctx in
            try ctx.requireModels(o.pairs.flatMap { $0 }, key: "model_name_pairs")
            return DistillationCELoss(pairs: o.pairs, epsilon: o.epsilon)
        }
        r.loss.register("DistillationDMLLoss", summary: "mutual learning: symmetric KL per model pair (DMLLoss_<a>_<b>_<i>)",
                        options: DMLOptions.self) { o, ctx in
            try ctx.requireModels(o.pairs.flatMap { $0 }, key: "model_name_pairs")
            if o.weightRatio, ctx.multiLabel.map({ !$0.isMultiLabel || !$0.hasLabelRatio }) ?? false {
                throw EngineError("DistillationDMLLoss weight_ratio weights by multi-label targets: it needs a "
                                  + "MultiLabelDataset with label_ratio: True")
            }
            return DistillationDMLLoss(pairs: o.pairs, activation: o.activation, sumAcrossClasses: o.sumAcrossClasses,
                                       weightRatio: o.weightRatio)
        }
        r.loss.register("DMLLoss", summary: "mutual learning: symmetric KL averaged over all model pairs",
                        options: PlainDMLOptions.self) { o, ctx in
            let names = ctx.modelNames
            guard names.count >= 2 else { throw EngineError("DMLLoss needs a DistillationModel with at least two models") }
            let pairs = names.indices.flatMap { i in names.indices.filter { $0 > i }.map { [names[i], names[$0]] } }
            return DistillationDMLLoss(pairs: pairs, activation: o.activation, sumAcrossClasses: o.sumAcrossClasses,
                                       averagedKey: "DMLLoss")
        }
        r.loss.register("DistillationKLDivLoss", summary: "knowledge distillation: T²·KL(teacher/T ‖ student/T)",
                        options: KLDivOptions.self) { o, ctx in
            try ctx.requireModels(o.pairs.flatMap { $0 }, key: "model_name_pairs")
            return DistillationKLDivLoss(pairs: o.pairs, temperature: o.temperature)
        }
    }
}
