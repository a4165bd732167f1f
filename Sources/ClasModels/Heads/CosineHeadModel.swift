import ClasNN
import ClasTensor

/// A zoo model whose linear classifier is replaced by a ``CosineClassifier`` (AM-softmax head), built from
/// `Arch: {name: MobileNetV3_small_x1_0, head: {name: AMSoftmax, scale: 30}}`.
///
/// Parameter names are the model's own, with the cosine classifier in the linear classifier's place
/// (`classifier.weight`, `fc.weight`, `head.fc.weight`) and no classifier bias, so timm/backbone weights load as
/// usual. The dropout before the classifier is kept.
public final class CosineHeadModel: Module, LayeredModel, Reparameterizable {
    /// The wrapped model (its linear classifier is no longer used or saved).
    public let base: Module & LayeredModel
    /// The AM-softmax classifier.
    public let classifier: CosineClassifier
    /// Where the classifier sits: `["classifier"]`, `["fc"]` or `["head", "fc"]`.
    public let classifierPath: [String]
    private let dropout: Dropout?
    private let poolsBeforeClassifier: Bool
    private let children: [(String, Module)]

    /// - Parameters:
    ///   - base: a built-in family (its last layer is a linear classifier, or timm's `ClassifierHead`).
    ///   - classifierPrefix: the classifier's parameter prefix from the model's ``ModelCard`` (`classifier.`, …).
    ///   - scale: the AM-softmax scale s.
    public init(base: Module & LayeredModel, classifierPrefix: String, scale: Float) throws {
        let path = classifierPrefix.split(separator: ".").map(String.init)
        guard let last = base.layers.last, last.modules.count == 1, let name = path.first else {
            throw ModelError.invalidOption("head AMSoftmax: cannot find the classifier of \(type(of: base))")
        }
        let linear: Linear
        switch last.modules[0] {
        case let l as Linear:
            linear = l
            dropout = base.namedChildren.first { $0.0 == "dropout" }?.1 as? Dropout
            poolsBeforeClassifier = false
        case let h as ClassifierHead:
            linear = h.fc
            dropout = h.drop
            poolsBeforeClassifier = true
        default:
            throw ModelError.invalidOption("head AMSoftmax: the last layer of \(type(of: base)) is not a linear classifier")
        }
        guard base.namedChildren.contains(where: { $0.0 == name }) else {
            throw ModelError.invalidOption("head AMSoftmax: \(type(of: base)) has no '\(name)'")
        }
        self.base = base
        classifierPath = path
        let cosine = CosineClassifier(linear.inFeatures, linear.outFeatures, scale: scale)
        classifier = cosine
        // The base's children with the classifier (or the head holding it) replaced.
        children = base.namedChildren.map { childName, module in
            guard childName == name else { return (childName, module) }
            return (name, path.dropFirst().reversed().reduce(cosine as Module) { inner, key in NamedModules([(key, inner)]) })
        }
        super.init()
    }

    public override var namedChildren: [(String, Module)] { children }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// The base's layers up to its classifier, then (pooling,) dropout and the cosine classifier.
    public var layers: [ModelLayer] {
        var out = Array(base.layers.dropLast())
        if poolsBeforeClassifier { out.append(ModelLayer("global_pool") { Tensor.globalAvgPool($0, keepDims: false) }) }
        out.append(ModelLayer(classifierPath.joined(separator: "."), [classifier]) { [dropout, classifier] x in
            classifier(dropout?.callAsFunction(x) ?? x)
        })
        return out
    }

    public func reparameterize() { (base as? Reparameterizable)?.reparameterize() }

    public var reparameterizedParameterCount: Int {
        guard let r = base as? Reparameterizable else { return parameterCount }
        return parameterCount - base.parameterCount + r.reparameterizedParameterCount
    }
}

/// A container whose children are given explicitly (keeps nested parameter names such as `head.fc.weight`).
final class NamedModules: Module {
    let children: [(String, Module)]
    init(_ children: [(String, Module)]) {
        self.children = children
        super.init()
    }
    override var namedChildren: [(String, Module)] { children }
}
