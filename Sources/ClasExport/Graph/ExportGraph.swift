import ClasTensor

/// A model's forward pass as a graph of tensor operations, in SwiftClas's own semantics (NHWC images, OHWI
/// weights), recorded by tracing (``GraphTracer``). Graph passes rewrite it (batch-norm folding, quantisation),
/// ``GraphExecutor`` runs it with the ordinary tensor operations (so it can be checked against the model and
/// fine-tuned), and ``OnnxLowering`` turns it into ONNX.
///
/// Nodes are kept in execution order: every node's inputs are the graph input, constants, or outputs of earlier
/// nodes.
public final class ExportGraph {
    /// Where a value comes from.
    public enum Source {
        /// The image batch fed to the model.
        case input
        /// A fixed tensor: a parameter or buffer of the model (the live tensor, so training the model changes it), or
        /// a snapshot of a tensor the forward pass created.
        case constant(Tensor)
        /// The output of `nodes[i]`.
        case node(Int)
    }

    /// One tensor of the graph.
    public struct Value {
        /// Where the value comes from.
        public var source: Source
        /// Shape at the traced batch size.
        public var shape: [Int]
        /// The dimension that grows with the batch size (nil when none does).
        public var batchAxis: Int?
        /// A name for constants: the parameter's state-dict name, or a name chosen by a pass.
        public var name: String?
    }

    /// What a node computes.
    public enum Operation {
        /// A recorded tensor operation, with its attributes.
        case tensor(TracedOp)
        /// Simulated int8 of a weight: symmetric per-channel scales along `axis`, recomputed from the weight each run,
        /// with `bits` (8, or 7 for onnxruntime's `reduce_range`).
        case weightFakeQuant(axis: Int, bits: Int)
        /// Simulated uint8 of an activation with a calibrated range (see ``ActivationQuantizer``).
        case activationFakeQuant(ActivationQuantizer)
    }

    /// One operation.
    public struct Node {
        /// What the node computes.
        public var op: Operation
        /// Indices of its input values.
        public var inputs: [Int]
        /// Index of the value it produces.
        public var output: Int
        /// The module the operation belongs to, for convolutions and linear layers (their weight's name without
        /// `.weight`), used to name quantisation sites and initializers.
        public var label: String?
    }

    /// Every tensor of the graph, by index.
    public internal(set) var values: [Value] = []
    /// The operations, in execution order.
    public internal(set) var nodes: [Node] = []
    /// The image batch (NHWC).
    public internal(set) var input = 0
    /// The model's output (logits).
    public internal(set) var output = 0

    init() {}

    /// Adds a value and returns its index.
    @discardableResult
    func addValue(_ source: Source, shape: [Int], batchAxis: Int? = nil, name: String? = nil) -> Int {
        values.append(Value(source: source, shape: shape, batchAxis: batchAxis, name: name))
        return values.count - 1
    }

    /// Adds a node computing a new value of `shape`; returns the value.
    @discardableResult
    func addNode(_ op: Operation, inputs: [Int], shape: [Int], batchAxis: Int?, label: String? = nil) -> Int {
        let out = addValue(.node(nodes.count), shape: shape, batchAxis: batchAxis)
        nodes.append(Node(op: op, inputs: inputs, output: out, label: label))
        return out
    }

    /// The constant tensor of a value, if it is one.
    public func constant(_ v: Int) -> Tensor? {
        if case .constant(let t) = values[v].source { return t }
        return nil
    }

    /// The node producing a value, if any.
    public func producer(_ v: Int) -> Int? {
        if case .node(let i) = values[v].source { return i }
        return nil
    }

    /// True when the value depends only on constants (a weight or something computed from weights).
    public func isConstantDerived(_ v: Int) -> Bool {
        var memo: [Int: Bool] = [:]
        func visit(_ v: Int) -> Bool {
            if let known = memo[v] { return known }
            let result: Bool
            switch values[v].source {
            case .input: result = false
            case .constant: result = true
            case .node(let i):
                if case .activationFakeQuant = nodes[i].op { result = false } else {
                    result = nodes[i].inputs.allSatisfy(visit)
                }
            }
            memo[v] = result
            return result
        }
        return visit(v)
    }

    /// Number of nodes reading each value (the graph output counts as one reader).
    func useCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: values.count)
        for n in nodes { for i in n.inputs { counts[i] += 1 } }
        counts[output] += 1
        return counts
    }

    /// Redirects every reader of `old` (and the graph output) to `new`.
    func replaceUses(of old: Int, with new: Int) {
        for k in nodes.indices { nodes[k].inputs = nodes[k].inputs.map { $0 == old ? new : $0 } }
        if output == old { output = new }
    }

    /// Replaces the node list (in execution order) and renumbers the producers; drops nodes the output does not
    /// need.
    func setNodes(_ newNodes: [Node]) {
        var needed = Set<Int>([output])
        var kept: [Node] = []
        for n in newNodes.reversed() where needed.contains(n.output) {
            kept.append(n)
            needed.formUnion(n.inputs)
        }
        nodes = kept.reversed()
        for (i, n) in nodes.enumerated() { values[n.output].source = .node(i) }
    }

    /// One line per node, for debugging and error messages.
    public var summary: String {
        nodes.enumerated().map { i, n in
            "\(i): v\(n.output) \(values[n.output].shape) = \(ExportGraph.describe(n.op))(\(n.inputs.map { "v\($0)" }.joined(separator: ", ")))"
                + (n.label.map { "  # \($0)" } ?? "")
        }.joined(separator: "\n")
    }

    /// A short name for an operation (its case name).
    public static func describe(_ op: Operation) -> String {
        switch op {
        case .tensor(let t): return String(describing: t).prefix { $0 != "(" }.description
        case .weightFakeQuant: return "weightFakeQuant"
        case .activationFakeQuant: return "activationFakeQuant"
        }
    }
}
