/// The backward rule of one operation: its inputs and how to turn the output's gradient into theirs.
final class GradFn {
    let name: StaticString
    let inputs: [Tensor]
    /// Returns one gradient per input (nil where an input needs none). Must not modify `grad` in place.
    var backward: ((Tensor) -> [Tensor?])?

    init(name: StaticString, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
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
        gradFn = GradFn(name: name, inputs: inputs, backward: backward)
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
        let order = topologicalOrder()
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): start]
        for t in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
            if t.gradFn == nil || t.retainsGrad {
                t.grad = t.grad.map { $0.adding(g) } ?? g
                if t.gradFn == nil { onLeafGradient?(t) }
            }
            guard let fn = t.gradFn, let rule = fn.backward else { continue }
            let inputGrads = GradMode.withoutGrad { Profiler.measure("\(fn.name) backward") { rule(g) } }
            for (input, ig) in zip(fn.inputs, inputGrads) {
                guard let ig, input.requiresGrad else { continue }
                precondition(ig.shape == input.shape, "\(fn.name) backward gave \(ig.shape) for input \(input.shape)")
                let key = ObjectIdentifier(input)
                grads[key] = grads[key].map { $0.adding(ig) } ?? ig
            }
            if !retainGraph { t.gradFn = nil }
        }
    }

    /// Tensors reachable through recorded operations, each after all its inputs.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded {
                order.append(t)
                continue
            }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            if let fn = t.gradFn {
                for input in fn.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }
        return order
    }
}
