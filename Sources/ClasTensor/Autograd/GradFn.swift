/// The backward rule of one operation: where its inputs' gradients go and how to compute them from the output's.
///
/// The rule refers to the rules that produced its inputs (and to leaf tensors), never to intermediate tensors:
/// like PyTorch's graph, it keeps alive only what its closure captured (the storages its backward reads), so an
/// intermediate result that no backward needs (a branch output that is only summed, a partial sum) is freed as soon
/// as the forward code drops it.
final class GradFn {
    /// Where an input's gradient goes: the rule that produced it, or the leaf tensor (a parameter) itself.
    enum Edge {
        case rule(GradFn)
        case leaf(Tensor)

        var id: ObjectIdentifier {
            switch self {
            case .rule(let fn): return ObjectIdentifier(fn)
            case .leaf(let t): return ObjectIdentifier(t)
            }
        }
    }

    let name: StaticString
    /// One edge per input; nil for inputs that need no gradient.
    var edges: [Edge?]
    /// The inputs' shapes (each gradient is checked against its input's).
    let inputShapes: [[Int]]
    /// Returns one gradient per input (nil where an input needs none). Must not modify `grad` in place.
    var backward: ((Tensor) -> [Tensor?])?
    /// The tensor this rule produced while it is alive (for `retainsGrad`, and to detach it after the pass).
    weak var output: Tensor?

    init(name: StaticString, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        edges = inputs.map { t -> Edge? in
            guard t.requiresGrad else { return nil }
            return t.gradFn.map { Edge.rule($0) } ?? Edge.leaf(t)
        }
        inputShapes = inputs.map(\.shape)
        self.backward = backward
    }
}

extension Tensor {
    /// True when an operation on `inputs` must record its backward rule.
    @inline(__always) static func needsGrad(_ inputs: Tensor?...) -> Bool {
        guard GradMode.isEnabled else { return false }
        for case let t? in inputs where t.requiresGrad { return true }
        return false
    }

    /// Attaches a backward rule (call only when `needsGrad` said so). Capture storages, not `self`, in the rule.
    @inline(__always) func record(_ name: StaticString, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?])
        -> Tensor
    {
        let fn = GradFn(name: name, inputs: inputs, backward: backward)
        fn.output = self
        gradFn = fn
        requiresGrad = true
        return self
    }

    /// Whether this tensor was produced by a recorded operation.
    public var isLeaf: Bool { gradFn == nil }

    /// The name of the operation that produced this tensor (for debugging and profiles).
    public var opName: String? { gradFn.map { "\($0.name)" } }

    /// Back-propagates from this tensor: `seed` (default: ones, for a scalar loss) times d(self)/d(leaf) is added to
    /// every leaf's `grad`. The graph is released as it is consumed unless `retainGraph`.
    /// - Parameter onLeafGradient: called with each leaf as soon as its `grad` is final for this pass (every
    ///   operation using it has run), e.g. to start averaging gradients across processes during the backward pass.
    public func backward(_ seed: Tensor? = nil, retainGraph: Bool = false, onLeafGradient: ((Tensor) -> Void)? = nil) {
        precondition(requiresGrad, "backward() on a tensor that does not require grad")
        let start = seed ?? Tensor(shape: shape, repeating: 1)
        precondition(start.shape == shape, "backward seed \(start.shape) for tensor \(shape)")
        let root = gradFn.map { GradFn.Edge.rule($0) } ?? GradFn.Edge.leaf(self)
        let order = Tensor.topologicalOrder(root)
        var grads: [ObjectIdentifier: Tensor] = [root.id: start]
        for node in order.reversed() {
            guard let g = grads.removeValue(forKey: node.id) else { continue }
            switch node {
            case .leaf(let t):
                guard t.requiresGrad else { continue }
                t.grad = t.grad.map { $0.adding(g) } ?? g
                onLeafGradient?(t)
            case .rule(let fn):
                if let out = fn.output, out.retainsGrad { out.grad = out.grad.map { $0.adding(g) } ?? g }
                guard let rule = fn.backward else { continue }
                let inputGrads = GradMode.withoutGrad { Profiler.measure("\(fn.name) backward") { rule(g) } }
                for (i, ig) in inputGrads.enumerated() {
                    guard let ig, let edge = fn.edges[i] else { continue }
                    precondition(ig.shape == fn.inputShapes[i],
                                 "\(fn.name) backward gave \(ig.shape) for input \(fn.inputShapes[i])")
                    grads[edge.id] = grads[edge.id].map { $0.adding(ig) } ?? ig
                }
                if !retainGraph {
                    fn.backward = nil
                    fn.edges = []
                    if let out = fn.output, out.gradFn === fn { out.gradFn = nil }
                }
            }
        }
    }

    /// The rules and leaves reachable from `root`, each after all its inputs.
    private static func topologicalOrder(_ root: GradFn.Edge) -> [GradFn.Edge] {
        var order: [GradFn.Edge] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradFn.Edge, Bool)] = [(root, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded {
                order.append(node)
                continue
            }
            guard visited.insert(node.id).inserted else { continue }
            stack.append((node, true))
            if case .rule(let fn) = node {
                for case let input? in fn.edges where !visited.contains(input.id) { stack.append((input, false)) }
            }
        }
        return order
    }
}
