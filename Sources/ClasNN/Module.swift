import ClasTensor

/// The base of every layer and model: holds parameters, buffers and child modules, found by reflection.
///
/// Stored properties of type `Tensor`, `Module`, optionals of them and arrays of them are discovered
/// automatically and named after the property in snake_case (`convStem` → `conv_stem`, arrays by index), so a
/// user's layer needs no registration and gets timm-style names such as `blocks.3.1.conv_pw.weight`.
/// Tensors listed in `bufferNames` are buffers (saved, not trained); all other tensors are parameters.
open class Module {
    /// Whether the module is in training mode (batch statistics, dropout) or evaluation mode.
    public private(set) var isTraining = true

    public init() {}

    /// Names (snake_case) of this module's own tensors that are buffers, e.g. BatchNorm's running statistics.
    open class var bufferNames: Set<String> { [] }

    /// Runs the module. Subclasses that map a tensor to a tensor override this.
    open func forward(_ x: Tensor) -> Tensor {
        preconditionFailure("\(type(of: self)) does not implement forward(_:)")
    }

    /// Calls `forward(_:)` (timed per layer type when the profiler is on).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard Profiler.isEnabled, isLeafLayer else { return forward(x) }
        return Profiler.measure("\(type(of: self)) forward") { forward(x) }
    }

    /// Layers without child modules are timed by the profiler (composite ones would double count).
    private var isLeafLayer: Bool { namedChildren.isEmpty }

    /// Direct children with their names; by default found by reflection over stored properties.
    open var namedChildren: [(String, Module)] { reflect().modules }

    /// This module's own tensors (not its children's) with their names.
    open var namedOwnTensors: [(String, Tensor)] { reflect().tensors }

    /// Every module in the tree, depth first, with dotted names ("" for self).
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        var out: [(String, Module)] = [(prefix, self)]
        for (name, child) in namedChildren {
            out += child.namedModules(prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
        }
        return out
    }

    /// Every trainable parameter with its dotted name.
    public func namedParameters() -> [(String, Tensor)] { namedTensors(buffers: false) }

    /// Every buffer with its dotted name.
    public func namedBuffers() -> [(String, Tensor)] { namedTensors(buffers: true) }

    /// Parameters then buffers: what a checkpoint holds.
    public func stateDict() -> [(String, Tensor)] { namedParameters() + namedBuffers() }

    /// The parameters, in a stable order.
    public func parameters() -> [Tensor] { namedParameters().map(\.1) }

    /// Total number of parameter elements.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Sets training mode on this module and every descendant.
    public func train(_ on: Bool = true) {
        for (_, m) in namedModules() { m.isTraining = on }
    }

    /// Sets evaluation mode on this module and every descendant.
    public func eval() { train(false) }

    /// Stops (or restarts) gradient flow into every parameter.
    public func freeze(_ frozen: Bool = true) {
        for p in parameters() { p.requiresGrad = !frozen }
    }

    private func namedTensors(buffers: Bool) -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        for (prefix, m) in namedModules() {
            let bufferSet = type(of: m).bufferNames
            for (name, t) in m.namedOwnTensors where bufferSet.contains(name) == buffers {
                out.append((prefix.isEmpty ? name : "\(prefix).\(name)", t))
            }
        }
        return out
    }

    private func reflect() -> (modules: [(String, Module)], tensors: [(String, Tensor)]) {
        var modules: [(String, Module)] = [], tensors: [(String, Tensor)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        var mirrors: [Mirror] = []
        while let m = mirror, m.subjectType != Module.self {
            mirrors.append(m)
            mirror = m.superclassMirror
        }
        // Superclass properties first, so names follow declaration order from the base down.
        for m in mirrors.reversed() {
            for child in m.children {
                guard let label = child.label else { continue }
                let name = Module.snakeCase(label)
                Module.collect(child.value, name: name, modules: &modules, tensors: &tensors)
            }
        }
        return (modules, tensors)
    }

    private static func collect(_ value: Any, name: String, modules: inout [(String, Module)],
                                tensors: inout [(String, Tensor)]) {
        switch value {
        case let m as Module: modules.append((name, m))
        case let t as Tensor: tensors.append((name, t))
        case let list as [Module]: for (i, m) in list.enumerated() { modules.append(("\(name).\(i)", m)) }
        case let list as [Tensor]: for (i, t) in list.enumerated() { tensors.append(("\(name).\(i)", t)) }
        default:
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional, let inner = mirror.children.first?.value {
                collect(inner, name: name, modules: &modules, tensors: &tensors)
            }
        }
    }

    /// `convStem` → `conv_stem`; a leading underscore (property wrappers) is dropped.
    static func snakeCase(_ label: String) -> String {
        var out = ""
        for ch in label.drop(while: { $0 == "_" }) {
            if ch.isUppercase {
                if !out.isEmpty { out.append("_") }
                out.append(contentsOf: ch.lowercased())
            } else {
                out.append(ch)
            }
        }
        return out
    }
}

/// Modules applied one after another; children are named by position ("0", "1", …) as in PyTorch.
public final class Sequential: Module {
    public let layers: [Module]

    public init(_ layers: [Module]) {
        self.layers = layers
        super.init()
    }

    public convenience init(_ layers: Module...) { self.init(layers) }

    public override var namedChildren: [(String, Module)] { layers.enumerated().map { ("\($0.offset)", $0.element) } }

    public override func forward(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}

/// Passes its input through unchanged.
public final class Identity: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x }
}
