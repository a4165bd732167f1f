import ClasConfig
import ClasNN
import ClasTensor

/// The base losses of `DistillationPairLoss` that have trainable layers of their own, with PaddleClas's semantics
/// (`ppcls/loss/mgd_loss.py`, `pefdloss.py`). One instance serves every pair, as in PaddleClas; its parameters are
/// trained with the model's, saved in checkpoints under `loss.<entry>.` and restored on resume
/// (``LossFunction/trainableModule``).
///
/// ```yaml
/// - DistillationPairLoss: {base_loss_name: MGDLoss, model_name_pairs: [[Student, Teacher]], s_key: "blocks[7]",
///                          t_key: "blocks[15]", name: loss_mgd, student_channels: 512, teacher_channels: 512}
/// - DistillationPairLoss: {base_loss_name: PEFDLoss, model_name_pairs: [[Student, Teacher]], s_key: avg_pool,
///                          t_key: avg_pool, name: loss_pefd, student_channel: 512, teacher_channel: 512}
/// ```
public protocol PairLossModule: Module {
    /// The loss between a student and a teacher output.
    func loss(_ student: Tensor, _ teacher: Tensor) -> Tensor
}

/// Masked generative distillation (Yang et al., https://arxiv.org/abs/2205.01529): a random channel mask
/// (each (sample, channel) dropped with probability λ) on the student's map, optionally aligned to the teacher's
/// channels by a 1×1 convolution, then two 3×3 convolutions must regenerate the teacher's map; α·MSE.
public final class MGDLoss: Module, PairLossModule {
    public let align: Conv2d?
    public let generation: Sequential
    public let alpha: Float, lambda: Float

    public init(studentChannels: Int, teacherChannels: Int, alpha: Float = 1.756, lambda: Float = 0.15) {
        align = studentChannels == teacherChannels ? nil
            : Conv2d(studentChannels, teacherChannels, kernelSize: 1, bias: true)
        generation = Sequential(Conv2d(teacherChannels, teacherChannels, kernelSize: 3, bias: true), ActivationLayer(.relu),
                                Conv2d(teacherChannels, teacherChannels, kernelSize: 3, bias: true))
        (self.alpha, self.lambda) = (alpha, lambda)
        super.init()
    }

    /// The mask comes from the training stream, which the trainer reseeds at every step (exact resume).
    public func loss(_ student: Tensor, _ teacher: Tensor) -> Tensor {
        precondition(student.rank == 4 && teacher.rank == 4 && student.shape[1...2] == teacher.shape[1...2],
                     "MGDLoss compares feature maps of one size: \(student.shape), \(teacher.shape)")
        let s = align?(student) ?? student
        let (n, c) = (teacher.shape[0], teacher.shape[3])
        let mask = Tensor(uninitializedShape: [n, 1, 1, c])
        for i in 0..<mask.count { mask.data[i] = Randomness.training.uniform() < lambda ? 0 : 1 }
        let generated = generation(s * mask)
        let d = generated - teacher
        return (d * d).mean() * alpha
    }
}

/// Feature distillation with a projector ensemble (Chen et al., https://arxiv.org/abs/2210.15274): the mean of
/// `projectors` linear+ReLU maps of the student's features against the teacher's, 1 − cosine similarity averaged
/// over the batch. `gap` pools feature maps first; `flatten` flattens them in PaddleClas's (NCHW) order.
public final class PEFDLoss: Module, PairLossModule {
    public let projectors: [Linear]
    public let gap: Bool

    public init(studentChannel: Int, teacherChannel: Int, projectors: Int = 3, gap: Bool = false) {
        self.projectors = (0..<projectors).map { _ in
            let l = Linear(studentChannel, teacherChannel)
            // Paddle's Linear: Xavier-uniform weight, zero bias.
            Init.uniform(l.weight, bound: (6 / Float(studentChannel + teacherChannel)).squareRoot())
            l.bias?.fill(0)
            return l
        }
        self.gap = gap
        super.init()
    }

    public override var namedChildren: [(String, Module)] { projectors.enumerated().map { ("projectors.\($0.offset)", $0.element) } }

    public func loss(_ student: Tensor, _ teacher: Tensor) -> Tensor {
        func flat(_ x: Tensor) -> Tensor {
            guard x.rank == 4 else { return x.flattened() }
            return gap ? Tensor.globalAvgPool(x, keepDims: false) : x.permuted([0, 3, 1, 2]).flattened()
        }
        let s = flat(student), t = flat(teacher)
        let fs = projectors.dropFirst().reduce(projectors[0](s).relu()) { $0 + $1(s).relu() } * (1 / Float(projectors.count))
        func unit(_ x: Tensor) -> Tensor { x / (x * x).sum(axes: [1], keepDims: true).sqrt() }
        let cos = (unit(fs) * unit(t)).sum(axes: [1])
        return (1 - cos).mean()
    }
}

/// A `DistillationPairLoss` whose base loss is a ``PairLossModule``.
struct TrainablePairLoss: LossFunction {
    let module: PairLossModule
    var pairs: [[String]]
    var studentKey: String?, teacherKey: String?
    var prefix: String

    var readsLabels: Bool { false }
    var trainableModule: Module? { module }

    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        pairs.enumerated().map { i, pair in
            guard let s = outputs.output(pair[0], key: studentKey), let t = outputs.output(pair[1], key: teacherKey) else {
                preconditionFailure("no output \(pair[0]).\(studentKey ?? "logits") or \(pair[1]).\(teacherKey ?? "logits")")
            }
            return ("\(prefix)_\(i)_\(pair[0])_\(pair[1])", module.loss(s, t))
        }
    }
}

/// The options of the trainable base losses (PaddleClas's keyword arguments).
enum TrainablePairBase {
    case mgd(studentChannels: Int, teacherChannels: Int, alpha: Float, lambda: Float)
    case pefd(studentChannel: Int, teacherChannel: Int, projectors: Int, gap: Bool)

    static let keys: [String: [String]] = [
        "MGDLoss": ["student_channels", "teacher_channels", "alpha_mgd", "lambda_mgd"],
        "PEFDLoss": ["student_channel", "teacher_channel", "num_projectors", "mode"],
    ]

    static func read(_ name: String, _ c: KeyedDecodingContainer<AnyKey>, _ d: Decoder) throws -> TrainablePairBase {
        func channels(_ key: String) throws -> Int {
            let v = try c.decode(Int.self, forKey: AnyKey(key))
            try d.configCheck(v > 0, AnyKey(key), "must be a positive channel count, got \(v)")
            return v
        }
        if name == "MGDLoss" {
            let lambda = try c.number("lambda_mgd", 0.15, d)
            try d.configCheck((0..<1).contains(lambda), AnyKey("lambda_mgd"), "is a masking probability in [0, 1), got \(lambda)")
            return .mgd(studentChannels: try channels("student_channels"), teacherChannels: try channels("teacher_channels"),
                        alpha: try c.number("alpha_mgd", 1.756, d), lambda: lambda)
        }
        let projectors = try c.decodeIfPresent(Int.self, forKey: AnyKey("num_projectors")) ?? 3
        try d.configCheck(projectors > 0, AnyKey("num_projectors"), "must be positive, got \(projectors)")
        let mode = try c.decodeIfPresent(String.self, forKey: AnyKey("mode")) ?? "flatten"
        try d.configCheck(["flatten", "gap"].contains(mode), AnyKey("mode"), "must be flatten or gap, got '\(mode)'")
        return .pefd(studentChannel: try channels("student_channel"), teacherChannel: try channels("teacher_channel"),
                     projectors: projectors, gap: mode == "gap")
    }

    func makeModule() -> PairLossModule {
        switch self {
        case let .mgd(s, t, alpha, lambda): return MGDLoss(studentChannels: s, teacherChannels: t, alpha: alpha, lambda: lambda)
        case let .pefd(s, t, n, gap): return PEFDLoss(studentChannel: s, teacherChannel: t, projectors: n, gap: gap)
        }
    }
}

/// The parameters of a run's trainable losses, as one module: `<entry index>.<name>` (the checkpoint adds `loss.`).
final class LossParameters: Module {
    let entries: [(String, Module)]
    init(_ losses: [WeightedLoss]) {
        entries = losses.enumerated().compactMap { i, l in l.loss.trainableModule.map { ("\(i)", $0) } }
        super.init()
    }
    override var namedChildren: [(String, Module)] { entries }
}
