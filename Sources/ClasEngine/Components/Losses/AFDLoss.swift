import ClasConfig
import ClasNN
import ClasTensor
import Foundation

/// Attention-based feature distillation (Ji et al., https://arxiv.org/abs/2102.02973; PaddleClas's
/// `ppcls/loss/afdloss.py`): every teacher feature attends over the student's features, and the loss is the
/// attention-weighted mean squared distance between the student's and the teacher's normalised spatial energies.
///
/// ```yaml
/// - AFDLoss: {weight: 50.0, model_name_pair: [Student, Teacher], student_keys: [bilinear_key, value],
///             teacher_keys: [query, value], s_shapes: […], t_shapes: […], qk_dim: 128}
/// ```
/// The two models are ``AttentionModel``s ending in `LinearTransformStudent` / `LinearTransformTeacher`. With
/// query q_t [N, t, d] from the teacher and bilinear keys k [N, s, t, d] from the student, the attention of teacher
/// feature i over the student's is softmax_j((k_{j,i}·q_i + p_t,i·p_s,j) / √d), p_t [t, d] and p_s [s, d] being the
/// loss's own trainable position embeddings (Xavier-normal, saved in checkpoints under `loss.`); the loss sums over
/// i the batch mean of Σ_j att_ij · mean((v_s,j − v_t,i)²), v_s taken at teacher feature i's shape.
public final class AFDAttention: Module {
    public let pT: Tensor, pS: Tensor
    /// For each teacher feature, the index of its shape among the distinct teacher shapes (the student values).
    public let teacherShapeIndex: [Int]
    public let qkDim: Int

    public init(teacherShapes: [FeatureShape], studentCount: Int, qkDim: Int) {
        func xavierNormal(_ rows: Int, _ cols: Int) -> Tensor {
            let t = Tensor(uninitializedShape: [rows, cols])
            t.requiresGrad = true
            Init.normal(t, std: (2 / Float(rows + cols)).squareRoot())
            return t
        }
        pT = xavierNormal(teacherShapes.count, qkDim)
        pS = xavierNormal(studentCount, qkDim)
        teacherShapeIndex = FeatureShape.distinct(teacherShapes).index
        self.qkDim = qkDim
        super.init()
    }

    public override var namedOwnTensors: [(String, Tensor)] { [("p_t", pT), ("p_s", pS)] }

    /// - Parameters: bilinearKey [N, s, t, d], query [N, t, d], studentValues[j] [N, s, HW_j] per distinct teacher
    ///   shape, teacherValues[i] [N, HW_i] per teacher feature.
    public func loss(bilinearKey: Tensor, query: Tensor, studentValues: [Tensor], teacherValues: [Tensor]) -> Tensor {
        let (n, s, t) = (bilinearKey.shape[0], bilinearKey.shape[1], bilinearKey.shape[2])
        precondition(query.shape == [n, t, qkDim] && pS.shape[0] == s && pT.shape[0] == t && teacherValues.count == t,
                     "AFDLoss: keys \(bilinearKey.shape), query \(query.shape) do not fit s_shapes/t_shapes (\(s), \(t))")
        let scores = (bilinearKey.permuted([0, 2, 1, 3]) * query.reshaped([n, t, 1, qkDim])).sum(axes: [3])
        let logits = (scores + Tensor.matmul(pT, pS.transposed())) * (1 / Float(qkDim).squareRoot())
        let attention = logits.softmax()   // [N, t, s]
        var total: Tensor?
        for (i, vt) in teacherValues.enumerated() {
            let vs = studentValues[teacherShapeIndex[i]]
            precondition(vs.shape == [n, s, vt.shape[1]], "AFDLoss: teacher feature \(i) has \(vt.shape[1]) cells but the "
                         + "student's values pooled to t_shapes[\(i)] have \(vs.shape.last ?? 0): t_shapes and s_shapes "
                         + "must be the models' feature shapes at the training image size")
            let d = vs - vt.reshaped([n, 1, -1])
            let term = ((d * d).mean(axes: [2]) * attention.narrowed(axis: 1, start: i, length: 1).reshaped([n, s]))
                .sum(axes: [1]).mean()
            total = total.map { $0 + term } ?? term
        }
        return total!
    }
}

/// `AFDLoss` as a loss entry: reads the two models' outputs and owns the ``AFDAttention`` parameters.
struct AFDLoss: LossFunction {
    let attention: AFDAttention
    let student: String, teacher: String
    let studentKeys: [String], teacherKeys: [String]
    let name: String

    var readsLabels: Bool { false }
    var trainableModule: Module? { attention }

    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        func list(_ model: String, _ key: String) -> [Tensor] {
            var items: [Tensor] = []
            while let v = outputs.output(model, key: "\(key)[\(items.count)]") { items.append(v) }
            precondition(!items.isEmpty, "AFDLoss: \(model) returned no '\(key)'")
            return items
        }
        guard let key = outputs.output(student, key: studentKeys[0]), let query = outputs.output(teacher, key: teacherKeys[0])
        else { preconditionFailure("AFDLoss: no \(student).\(studentKeys[0]) or \(teacher).\(teacherKeys[0])") }
        return [(name, attention.loss(bilinearKey: key, query: query, studentValues: list(student, studentKeys[1]),
                                      teacherValues: list(teacher, teacherKeys[1])))]
    }
}

/// PaddleClas's keyword arguments of `AFDLoss`.
struct AFDOptions: ConfigOptions {
    var pair: [String]
    var studentKeys: [String], teacherKeys: [String]
    var studentShapes: [FeatureShape], teacherShapes: [FeatureShape]
    var qkDim: Int
    var name: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case pair = "model_name_pair", studentKeys = "student_keys", teacherKeys = "teacher_keys"
        case studentShapes = "s_shapes", teacherShapes = "t_shapes", qkDim = "qk_dim", name
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        pair = try c.decodeIfPresent([String].self, forKey: .pair) ?? ["Student", "Teacher"]
        try decoder.configCheck(pair.count == 2, CodingKeys.pair, "expects [student, teacher], got \(pair)")
        studentKeys = try c.decodeIfPresent([String].self, forKey: .studentKeys) ?? ["bilinear_key", "value"]
        teacherKeys = try c.decodeIfPresent([String].self, forKey: .teacherKeys) ?? ["query", "value"]
        try decoder.configCheck(studentKeys.count == 2, CodingKeys.studentKeys, "expects [bilinear key, value], got \(studentKeys)")
        try decoder.configCheck(teacherKeys.count == 2, CodingKeys.teacherKeys, "expects [query, value], got \(teacherKeys)")
        func shapes(_ key: CodingKeys) throws -> [FeatureShape] {
            let raw = try c.decode([[Int]].self, forKey: key)
            try decoder.configCheck(!raw.isEmpty && raw.allSatisfy { $0.count == 3 && $0.allSatisfy { $0 > 0 } }, key,
                                    "expects [channels, height, width] lists of positive sizes, got \(raw)")
            return raw.map(FeatureShape.init)
        }
        studentShapes = try shapes(.studentShapes)
        teacherShapes = try shapes(.teacherShapes)
        qkDim = try c.decodeIfPresent(Int.self, forKey: .qkDim) ?? 128
        try decoder.configCheck(qkDim > 0, CodingKeys.qkDim, "must be positive, got \(qkDim)")
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "loss_afd"
    }
}

extension AFDLoss {
    static func register(into r: inout Registries) {
        r.loss.register("AFDLoss", summary: "attention-based feature distillation between AttentionModels",
                        options: AFDOptions.self) { o, ctx in
            try ctx.requireModels(o.pair, key: "model_name_pair")
            for (model, keys) in [(o.pair[0], o.studentKeys), (o.pair[1], o.teacherKeys)] {
                let known = ctx.outputNames[model] ?? []
                for (k, isList) in zip(keys, [false, true]) where !known.contains(isList ? "\(k)[0]" : k) {
                    throw EngineError("AFDLoss: model \(model) does not return '\(k)'; AFDLoss reads the outputs of "
                                      + "AttentionModels ending in LinearTransformStudent/LinearTransformTeacher (\(model) "
                                      + "returns: logits\(known.map { ", " + $0 }.joined()))")
                }
            }
            return AFDLoss(attention: AFDAttention(teacherShapes: o.teacherShapes, studentCount: o.studentShapes.count,
                                                   qkDim: o.qkDim),
                           student: o.pair[0], teacher: o.pair[1], studentKeys: o.studentKeys, teacherKeys: o.teacherKeys,
                           name: o.name)
        }
    }
}
