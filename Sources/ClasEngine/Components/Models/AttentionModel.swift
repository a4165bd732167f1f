import ClasConfig
import ClasModels
import ClasNN
import ClasTensor

/// PaddleClas's `AttentionModel`: one model of a ``DistillationModel`` that is a backbone followed by feature
/// transforms (``FeatureTransform``), each reading the previous one's outputs, as attention-based feature
/// distillation (``AFDLoss``) needs:
///
/// ```yaml
/// - Teacher:
///     name: AttentionModel
///     freeze_params_list: [True, False]          # per model: the backbone frozen, the transform trained
///     models:
///       - ResNet34: {name: ResNet34, return_patterns: ["blocks[0]", …]}
///       - LinearTransformTeacher: {name: LinearTransformTeacher, qk_dim: 128, keys: ["blocks[0]", …],
///                                  t_shapes: [[64, 56, 56], …]}
/// ```
/// Parameters are named `<Key>.<model key>.<name>` (`Teacher.ResNet34.conv1.weight`). Its logits are the backbone's
/// (evaluation, inference and export use the backbone alone); its named outputs are the backbone's
/// `return_patterns` and every transform's outputs. A frozen part runs in evaluation mode without a graph.
public final class AttentionModel: Module, NamedOutputsModel {
    public let backbone: NamedOutputsModel
    public let backboneKey: String
    /// The backbone's Arch name (`ResNet34`), for its weights written alone.
    public let backboneArchName: String
    public let transforms: [(key: String, transform: FeatureTransform)]
    /// The backbone outputs returned (`return_patterns`).
    public let backbonePatterns: Set<String>
    /// One flag per part, the backbone first.
    public let frozen: [Bool]

    /// - Precondition: one flag per part; each transform reads only the previous part's outputs.
    public init(backbone: NamedOutputsModel, key: String, archName: String, patterns: Set<String>,
                transforms: [(String, FeatureTransform)], frozen: [Bool]) {
        precondition(frozen.count == transforms.count + 1, "AttentionModel: one freeze flag per model")
        var available = patterns
        for (key, t) in transforms {
            precondition(Set(t.inputKeys).isSubset(of: available), "AttentionModel: \(key) reads \(t.inputKeys)")
            available = Set(t.outputNames)
        }
        self.backbone = backbone
        backboneKey = key
        backboneArchName = archName
        backbonePatterns = patterns
        self.transforms = transforms.map { (key: $0.0, transform: $0.1) }
        self.frozen = frozen
        super.init()
        for (part, f) in zip(parts, frozen) where f { part.freeze() }
    }

    private var parts: [Module] { [backbone] + transforms.map(\.transform) }

    public override var namedChildren: [(String, Module)] {
        [(backboneKey, backbone)] + transforms.map { ($0.key, $0.transform as Module) }
    }

    /// The backbone's logits.
    public override func forward(_ x: Tensor) -> Tensor { run(0) { backbone(x) } }

    public var outputNames: [String] {
        backbonePatterns.sorted() + transforms.flatMap(\.transform.outputNames)
    }

    public func forward(_ x: Tensor, returning names: Set<String>) -> (logits: Tensor, outputs: [String: Tensor]) {
        let first = run(0) { backbone.forward(x, returning: backbonePatterns) }
        var previous = first.outputs, all = previous
        for (i, t) in transforms.enumerated() {
            previous = run(i + 1) { t.transform.transform(previous) }
            all.merge(previous) { _, new in new }
        }
        return (first.logits, all.filter { names.contains($0.key) })
    }

    /// Runs part `i`: frozen, in evaluation mode without a graph.
    private func run<T>(_ i: Int, _ body: () -> T) -> T {
        guard frozen[i] else { return body() }
        if parts[i].isTraining { parts[i].eval() }
        return GradMode.withoutGrad(body)
    }
}

extension AttentionModel {
    /// The feature transforms an AttentionModel's later models may be.
    static let transformNames = ["LinearTransformTeacher", "LinearTransformStudent"]

    /// Builds the AttentionModel `spec` describes, inside a DistillationModel: its first model through the Arch
    /// registry (as a DistillationModel's models are built), the others as feature transforms.
    static func build(_ spec: ComponentSpec, registry: ModelRegistry, classCount: Int,
                      decoder: ConfigDecoder) throws -> AttentionModel {
        if let node = spec.args["infer_model_name"] {
            throw ConfigError("\(spec.path).infer_model_name is not read by AttentionModel (its backbone infers)", at: node.location)
        }
        let o = try decoder.decode(DistillationOptions.self, from: spec.args, path: spec.path, label: spec.name)
        let (key, backboneSpec) = o.models[0]
        if transformNames.contains(backboneSpec.name) || ["DistillationModel", "AttentionModel"].contains(backboneSpec.name) {
            throw ConfigError("\(backboneSpec.path): the first model of an AttentionModel is a backbone, not "
                              + backboneSpec.name, at: backboneSpec.nameLocation)
        }
        let (model, patterns) = try DistillationModel.buildMember(backboneSpec, registry: registry, classCount: classCount,
                                                                 decoder: decoder)
        guard let backbone = model as? NamedOutputsModel else {
            throw ConfigError("\(backboneSpec.path): \(backboneSpec.name) does not name its intermediate outputs",
                              at: backboneSpec.nameLocation)
        }
        var transforms: [(String, FeatureTransform)] = []
        var available = patterns
        for (name, tspec) in o.models.dropFirst() {
            guard transformNames.contains(tspec.name) else {
                throw ConfigError("\(tspec.path): an AttentionModel's later models are feature transforms ("
                                  + transformNames.joined(separator: ", ") + "), not '\(tspec.name)'."
                                  + Suggest.didYouMean(tspec.name, in: transformNames), at: tspec.nameLocation)
            }
            let t = try decoder.decode(LinearTransformOptions.self, from: tspec.args, path: tspec.path, label: tspec.name)
                .make(tspec)
            for k in t.inputKeys where !available.contains(k) {
                throw ConfigError("\(tspec.path).keys: '\(k)' is not an output of the model before it (it returns: "
                                  + available.sorted().joined(separator: ", ") + "); add it to return_patterns",
                                  at: tspec.args["keys"]?.location ?? tspec.nameLocation)
            }
            available = Set(t.outputNames)
            transforms.append((name, t))
        }
        return AttentionModel(backbone: backbone, key: key, archName: backboneSpec.name, patterns: patterns, transforms: transforms, frozen: o.frozen)
    }

    /// `AttentionModel` is listed by `tools list models`; it is built only as a model of a DistillationModel.
    static func register(into r: inout Registries) {
        r.arch.register("AttentionModel", summary: "a backbone and feature transforms, in a DistillationModel (AFD)",
                        options: DistillationOptions.self) { _, _ in
            throw EngineError("AttentionModel is one model of a DistillationModel (Arch.models); the top-level Arch "
                              + "cannot be one")
        }
    }
}
