import ClasConfig
import ClasTensor

/// PaddleClas's `DistillationDKDLoss`, `DistillationDISTLoss`, `DistillationWSLLoss`, `DistillationSKDLoss`,
/// `DistillationDistanceLoss` and `DistillationPairLoss`: a ``KDLoss`` applied to each (student, teacher) pair of
/// a `DistillationModel`, on the logits or, with `key` (`s_key`/`t_key` for the pair loss), on an intermediate
/// output the models return through `return_patterns` (see ``NamedOutputsModel``).
///
/// ```yaml
/// Loss:
///   Train:
///     - DistillationDKDLoss: {weight: 1.0, model_name_pairs: [[Student, Teacher]], temperature: 1, alpha: 1, beta: 1}
///     - DistillationDistanceLoss: {weight: 1.0, model_name_pairs: [[Student, Teacher]], key: "blocks[5]", mode: l2}
///     - DistillationPairLoss: {base_loss_name: DISTLoss, model_name_pairs: [[Student, Teacher]], s_key: logits, t_key: logits}
/// ```
/// Log keys as PaddleClas: `loss_dkd_Student_Teacher`, `loss_dist_…`, `wsl_loss_…`, `skd_loss_…`,
/// `loss_l2_loss_l2_0`, `loss_0_Student_Teacher`.
struct PairDistillationLoss: LossFunction {
    /// One base loss between two outputs, with the labels (DKD, WSL, SKD use them).
    enum Base {
        case dkd(temperature: Float, alpha: Float, beta: Float, useTargetAsGT: Bool)
        case dist(beta: Float, gamma: Float)
        case wsl(temperature: Float, useTargetAsGT: Bool)
        case skd(temperature: Float, multiplier: Float, alpha: Float, useTargetAsGT: Bool)
        case distance(DistanceMode, DMLActivation)

        func loss(_ s: Tensor, _ t: Tensor, labels: [Int]?) -> Tensor {
            func target(_ useTeacher: Bool) -> [Int] { (useTeacher ? nil : labels) ?? KDLoss.argmax(t) }
            if case .distance(let mode, let act) = self {
                return KDLoss.distance(Self.activated(s, act), Self.activated(t, act), mode: mode)
            }
            precondition(s.rank == 2 && s.shape == t.shape, "distillation loss on logits: shapes \(s.shape), \(t.shape)")
            switch self {
            case .dkd(let temperature, let alpha, let beta, let useTeacher):
                return KDLoss.dkd(student: s, teacher: t, target: target(useTeacher), temperature: temperature,
                                  alpha: alpha, beta: beta)
            case .dist(let beta, let gamma): return KDLoss.dist(student: s, teacher: t, beta: beta, gamma: gamma)
            case .wsl(let temperature, let useTeacher):
                return KDLoss.wsl(student: s, teacher: t, target: target(useTeacher), temperature: temperature)
            case .skd(let temperature, let multiplier, let alpha, let useTeacher):
                return KDLoss.skd(student: s, teacher: t, target: target(useTeacher), temperature: temperature,
                                  multiplier: multiplier, alpha: alpha)
            case .distance: fatalError("handled above")
            }
        }

        /// PaddleClas applies `act` over the last axis of its NCHW tensors: for feature maps that is the width.
        static func activated(_ x: Tensor, _ act: DMLActivation) -> Tensor {
            guard act == .softmax, x.rank == 4 else { return act.apply(x) }
            return x.permuted([0, 3, 1, 2]).softmax()
        }
    }

    var base: Base
    var pairs: [[String]]
    var studentKey: String?, teacherKey: String?
    /// The log key of pair `index`.
    var logKey: (_ index: Int, _ pair: [String]) -> String
    /// Whether the labels are passed (PaddleClas's `Distillation*Loss` wrappers pass the batch; the pair loss does not).
    var passesLabels = true

    var readsLabels: Bool {
        guard passesLabels else { return false }
        switch base {
        case .dkd(_, _, _, let teacher), .wsl(_, let teacher), .skd(_, _, _, let teacher): return !teacher
        case .dist, .distance: return false
        }
    }

    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        pairs.enumerated().map { i, pair in
            let s = outputs.output(pair[0], key: studentKey), t = outputs.output(pair[1], key: teacherKey)
            guard let s, let t else {
                preconditionFailure("no output \(pair[0]).\(studentKey ?? "logits") or \(pair[1]).\(teacherKey ?? "logits")")
            }
            return (logKey(i, pair), base.loss(s, t, labels: passesLabels ? targets.labels : nil))
        }
    }
}

/// Options shared by the pair losses: `model_name_pairs`, `key`, `name`.
struct PairKeyOptions {
    var pairs: [[String]], key: String?, name: String?
    init<K: CodingKey>(_ c: KeyedDecodingContainer<K>, pairs: K, key: K?, name: K, _ decoder: Decoder) throws {
        self.pairs = try c.decode([[String]].self, forKey: pairs)
        try decoder.configCheck(!self.pairs.isEmpty && self.pairs.allSatisfy { $0.count == 2 }, pairs,
                                "expects pairs of model names such as [[Student, Teacher]], got \(self.pairs)")
        self.key = try key.flatMap { try c.decodeIfPresent(String.self, forKey: $0) }
        self.name = try c.decodeIfPresent(String.self, forKey: name)
    }
}

/// Options of the logit losses DKD, DIST, WSL, SKD (each reads its own keys; the others are rejected).
struct KDOptions<Kind: KDKind>: ConfigOptions {
    var common: PairKeyOptions
    var base: PairDistillationLoss.Base
    static var knownKeys: [String] { ["model_name_pairs", "key", "name"] + Kind.keys }
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        common = try PairKeyOptions(c, pairs: AnyKey("model_name_pairs"), key: AnyKey("key"), name: AnyKey("name"), decoder)
        base = try Kind.base(c, decoder)
    }
}

/// One logit loss: its keys and how to read them.
protocol KDKind {
    static var keys: [String] { get }
    static func base(_ c: KeyedDecodingContainer<AnyKey>, _ decoder: Decoder) throws -> PairDistillationLoss.Base
}

extension AnyKey {
    /// A coding key from a string (the losses share option readers).
    init(_ s: String) { self.init(stringValue: s) }
}

extension KeyedDecodingContainer where Key == AnyKey {
    /// A float option with a default; `positive` rejects values <= 0.
    func number(_ key: String, _ defaultValue: Double, positive: Bool = false, _ decoder: Decoder) throws -> Float {
        let v = try decodeIfPresent(Double.self, forKey: AnyKey(key)) ?? defaultValue
        try decoder.configCheck(v.isFinite && (!positive || v > 0), AnyKey(key),
                                positive ? "must be positive, got \(v)" : "must be finite, got \(v)")
        return Float(v)
    }
    func flag(_ key: String, _ decoder: Decoder) throws -> Bool { try decodeIfPresent(Bool.self, forKey: AnyKey(key)) ?? false }
}

enum DKDKind: KDKind {
    static let keys = ["temperature", "alpha", "beta", "use_target_as_gt"]
    static func base(_ c: KeyedDecodingContainer<AnyKey>, _ d: Decoder) throws -> PairDistillationLoss.Base {
        .dkd(temperature: try c.number("temperature", 1, positive: true, d), alpha: try c.number("alpha", 1, d),
             beta: try c.number("beta", 1, d), useTargetAsGT: try c.flag("use_target_as_gt", d))
    }
}

enum DISTKind: KDKind {
    static let keys = ["beta", "gamma"]
    static func base(_ c: KeyedDecodingContainer<AnyKey>, _ d: Decoder) throws -> PairDistillationLoss.Base {
        .dist(beta: try c.number("beta", 1, d), gamma: try c.number("gamma", 1, d))
    }
}

enum WSLKind: KDKind {
    static let keys = ["temperature", "use_target_as_gt"]
    static func base(_ c: KeyedDecodingContainer<AnyKey>, _ d: Decoder) throws -> PairDistillationLoss.Base {
        .wsl(temperature: try c.number("temperature", 2, positive: true, d), useTargetAsGT: try c.flag("use_target_as_gt", d))
    }
}

enum SKDKind: KDKind {
    static let keys = ["temperature", "multiplier", "alpha", "use_target_as_gt"]
    static func base(_ c: KeyedDecodingContainer<AnyKey>, _ d: Decoder) throws -> PairDistillationLoss.Base {
        .skd(temperature: try c.number("temperature", 1, positive: true, d), multiplier: try c.number("multiplier", 2, d),
             alpha: try c.number("alpha", 0.9, d), useTargetAsGT: try c.flag("use_target_as_gt", d))
    }
}

enum DistanceKind: KDKind {
    static let keys = ["mode", "act"]
    static func base(_ c: KeyedDecodingContainer<AnyKey>, _ d: Decoder) throws -> PairDistillationLoss.Base {
        let mode = try c.decodeIfPresent(DistanceMode.self, forKey: AnyKey("mode")) ?? .l2
        var act = DMLActivation.none
        if c.contains(AnyKey("act")), try !c.decodeNil(forKey: AnyKey("act")) {
            act = try c.decode(DMLActivation.self, forKey: AnyKey("act"))
        }
        return .distance(mode, act)
    }
}

/// `DistillationPairLoss`: `base_loss_name` (DistanceLoss, DKDLoss, DISTLoss, WSLLoss, SKDLoss) with its options,
/// `s_key`/`t_key`, `model_name_pairs`, `name`. The base loss gets no labels (PaddleClas calls it with the two
/// outputs only), so DKD, WSL and SKD take the teacher's argmax as the target.
struct PairLossOptions: ConfigOptions {
    var common: PairKeyOptions
    var studentKey: String?, teacherKey: String?
    var baseName: String
    /// A fixed base loss, or one with trainable layers (MGDLoss, PEFDLoss).
    var base: PairDistillationLoss.Base?
    var trainable: TrainablePairBase?
    static let bases: [String: any KDKind.Type] = ["DistanceLoss": DistanceKind.self, "DKDLoss": DKDKind.self,
                                                   "DISTLoss": DISTKind.self, "WSLLoss": WSLKind.self, "SKDLoss": SKDKind.self]
    /// Every base loss's own keys.
    static var baseKeys: [String: [String]] { bases.mapValues { $0.keys }.merging(TrainablePairBase.keys) { a, _ in a } }
    static var knownKeys: [String] {
        ["base_loss_name", "model_name_pairs", "s_key", "t_key", "name"] + Set(baseKeys.values.joined()).sorted()
    }
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        baseName = try c.decode(String.self, forKey: AnyKey("base_loss_name"))
        guard let own = Self.baseKeys[baseName] else {
            try decoder.configCheck(false, AnyKey("base_loss_name"), "'\(baseName)' is not supported; supported: "
                                    + Self.baseKeys.keys.sorted().joined(separator: ", "))
            fatalError("unreachable")
        }
        for key in c.allKeys where Self.baseKeys.values.contains(where: { $0.contains(key.stringValue) })
            && !own.contains(key.stringValue) {
            try decoder.configCheck(false, key, "is not an option of \(baseName) (its options: \(own))")
        }
        common = try PairKeyOptions(c, pairs: AnyKey("model_name_pairs"), key: nil, name: AnyKey("name"), decoder)
        studentKey = try c.decodeIfPresent(String.self, forKey: AnyKey("s_key"))
        teacherKey = try c.decodeIfPresent(String.self, forKey: AnyKey("t_key"))
        if let kind = Self.bases[baseName] { base = try kind.base(c, decoder) } else {
            trainable = try TrainablePairBase.read(baseName, c, decoder)
        }
    }
}

extension ComponentContext {
    /// Throws unless each model of `pairs` exists and returns output `key` (nil or `logits`: always).
    func requireOutputs(_ pairs: [[String]], studentKey: String?, teacherKey: String?, path: String) throws {
        try requireModels(pairs.flatMap { $0 }, key: "model_name_pairs")
        for pair in pairs {
            for (model, key) in [(pair[0], studentKey), (pair[1], teacherKey)] {
                guard let key, key != "logits" else { continue }
                let known = outputNames[model] ?? []
                guard known.contains(key) else {
                    throw EngineError("\(path): model \(model) does not return '\(key)'; add it to the model's "
                                      + "return_patterns in Arch (it returns: logits\(known.map { ", " + $0 }.joined()))")
                }
            }
        }
    }
}

extension PairDistillationLoss {
    static func register(into r: inout Registries) {
        func logit<K: KDKind>(_ name: String, _ kind: K.Type, defaultName: String, summary: String) {
            r.loss.register(name, summary: summary, options: KDOptions<K>.self) { o, ctx in
                let c = o.common
                try ctx.requireOutputs(c.pairs, studentKey: c.key, teacherKey: c.key, path: name)
                let prefix = c.name ?? defaultName
                return PairDistillationLoss(base: o.base, pairs: c.pairs, studentKey: c.key, teacherKey: c.key,
                                            logKey: { _, p in "\(prefix)_\(p[0])_\(p[1])" })
            }
        }
        logit("DistillationDKDLoss", DKDKind.self, defaultName: "loss_dkd",
              summary: "decoupled KD: α·target-class KD + β·non-target-class KD")
        logit("DistillationDISTLoss", DISTKind.self, defaultName: "loss_dist",
              summary: "DIST: inter- and intra-class Pearson correlation of the softmaxes")
        logit("DistillationWSLLoss", WSLKind.self, defaultName: "wsl_loss",
              summary: "weighted soft labels: KD weighted by the student/teacher CE ratio")
        logit("DistillationSKDLoss", SKDKind.self, defaultName: "skd_loss",
              summary: "spherical KD: KD and CE on layer-normalised logits")
        r.loss.register("DistillationDistanceLoss", summary: "l1/l2/smooth_l1 distance between outputs (key: a feature)",
                        options: KDOptions<DistanceKind>.self) { o, ctx in
            let c = o.common
            try ctx.requireOutputs(c.pairs, studentKey: c.key, teacherKey: c.key, path: "DistillationDistanceLoss")
            guard case .distance(let mode, _) = o.base else { fatalError("DistanceKind reads a distance") }
            let prefix = (c.name ?? "loss_") + mode.rawValue
            return PairDistillationLoss(base: o.base, pairs: c.pairs, studentKey: c.key, teacherKey: c.key,
                                        logKey: { i, _ in "\(prefix)_loss_\(mode.rawValue)_\(i)" })
        }
        r.loss.register("DistillationPairLoss", summary: "a base loss (DistanceLoss, DKDLoss, …) between s_key and t_key",
                        options: PairLossOptions.self) { o, ctx in
            try ctx.requireOutputs(o.common.pairs, studentKey: o.studentKey, teacherKey: o.teacherKey,
                                   path: "DistillationPairLoss")
            let prefix = o.common.name ?? "loss"
            guard let base = o.base else {
                return TrainablePairLoss(module: o.trainable!.makeModule(), pairs: o.common.pairs, studentKey: o.studentKey,
                                         teacherKey: o.teacherKey, prefix: prefix)
            }
            var suffix = ""
            if case .distance(let mode, _) = base { suffix = "_loss_\(mode.rawValue)" }
            return PairDistillationLoss(base: base, pairs: o.common.pairs, studentKey: o.studentKey,
                                        teacherKey: o.teacherKey, logKey: { i, p in "\(prefix)_\(i)_\(p[0])_\(p[1])\(suffix)" },
                                        passesLabels: false)
        }
    }
}
