import ClasEngine
import ClasModels
import ClasNN
import ClasTensor

/// An export failure, naming the operation, value or file concerned.
public struct ExportError: Error, CustomStringConvertible {
    /// What went wrong and where.
    public let message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Records a forward pass into an ``ExportGraph`` while installed as the ``OpTrace`` tracer.
///
/// Tensors are recognised by identity: the traced input, the outputs of recorded operations, and the model's
/// parameters and buffers (which become named constants). A tensor sharing storage with a known one (a `detached()`
/// view) is that value, reshaped if needed. Any other tensor is a constant created by the forward pass and is
/// snapshotted. Every tensor seen is retained until the trace ends, so identities cannot be reused.
final class GraphTracer: OpTracer {
    let graph = ExportGraph()
    /// Snapshot constants, in creation order (compared between two traces).
    private(set) var snapshots: [Int] = []
    /// The first problem seen (operations cannot throw).
    private(set) var failure: ExportError?

    private var byTensor: [ObjectIdentifier: Int] = [:]
    private var byStorage: [ObjectIdentifier: [Int]] = [:]
    private var retained: [Tensor] = []
    private let parameterNames: [ObjectIdentifier: String]
    private let parameterByStorage: [ObjectIdentifier: Tensor]

    init(parameters: [(String, Tensor)]) {
        var names: [ObjectIdentifier: String] = [:], storages: [ObjectIdentifier: Tensor] = [:]
        for (name, t) in parameters {
            names[ObjectIdentifier(t)] = name
            storages[ObjectIdentifier(t.storage)] = t
        }
        parameterNames = names
        parameterByStorage = storages
    }

    /// Registers the image batch.
    func setInput(_ x: Tensor) {
        graph.input = graph.addValue(.input, shape: x.shape, batchAxis: 0)
        register(x, as: graph.input)
    }

    func record(_ op: TracedOp, inputs: [Tensor], output: Tensor) {
        if case .batchNorm(_, _, true, _, _) = op, failure == nil {
            failure = ExportError("batch norm ran in training mode during export (node \(graph.nodes.count)); "
                                  + "the exporter calls eval() on the model, so a layer forces training statistics")
        }
        let ids = inputs.map(value(of:))
        let out = graph.addNode(.tensor(op), inputs: ids, shape: output.shape, batchAxis: nil)
        register(output, as: out)
    }

    /// The value of a tensor met as an operation input.
    func value(of t: Tensor) -> Int {
        if let v = byTensor[ObjectIdentifier(t)] { return v }
        if let name = parameterNames[ObjectIdentifier(t)] {
            let v = graph.addValue(.constant(t), shape: t.shape, name: name)
            register(t, as: v)
            return v
        }
        if let candidates = byStorage[ObjectIdentifier(t.storage)] {
            if let same = candidates.last(where: { graph.values[$0].shape == t.shape }) {
                byTensor[ObjectIdentifier(t)] = same
                retained.append(t)
                return same
            }
            if let base = candidates.last { return view(t, of: base) }
        }
        if let parameter = parameterByStorage[ObjectIdentifier(t.storage)] {
            let base = value(of: parameter)
            if parameter.shape == t.shape {
                byTensor[ObjectIdentifier(t)] = base
                retained.append(t)
                return base
            }
            return view(t, of: base)
        }
        let v = graph.addValue(.constant(t.detachedCopy()), shape: t.shape)
        snapshots.append(v)
        register(t, as: v)
        return v
    }

    /// A tensor that shares `base`'s storage with another shape: a reshape of it.
    private func view(_ t: Tensor, of base: Int) -> Int {
        let v = graph.addNode(.tensor(.reshape(t.shape)), inputs: [base], shape: t.shape, batchAxis: nil)
        register(t, as: v)
        return v
    }

    private func register(_ t: Tensor, as v: Int) {
        byTensor[ObjectIdentifier(t)] = v
        byStorage[ObjectIdentifier(t.storage), default: []].append(v)
        retained.append(t)
    }

    /// The value of the model's output, which must come from a recorded operation (or be the input).
    func outputValue(_ t: Tensor) throws -> Int {
        guard let v = byTensor[ObjectIdentifier(t)] ?? byStorage[ObjectIdentifier(t.storage)]?.last else {
            throw ExportError("the model's output (shape \(t.shape)) was not produced by any traced operation: "
                              + "custom kernels must be built from ClasTensor operations to be exported")
        }
        if case .constant = graph.values[v].source {
            throw ExportError("the model's output (shape \(t.shape)) does not depend on its input")
        }
        return v
    }
}

extension ExportGraph {
    /// Traces `model`'s evaluation-mode forward pass on `height`×`width`×`channels` images.
    ///
    /// The model is re-parameterized first when it can be (MobileOne), switched to evaluation mode (no dropout or
    /// drop path, running batch-norm statistics) and restored afterwards. The pass is traced twice, with batches of
    /// 1 and 2 and different random images: the dimensions that change are the batch dimensions (kept dynamic on
    /// export), and a tensor that no traced operation produced but that changes with the input is an error (it would
    /// be frozen into the graph).
    /// - Parameters:
    ///   - forward: how to run the model; by default its logits (`outputs(_:).logits`).
    ///   - reparameterize: fuse the model's branches first (false leaves a model being trained as it is).
    public static func trace(_ model: Module, height: Int, width: Int, channels: Int = 3,
                             forward: ((Tensor) -> Tensor)? = nil, reparameterize: Bool = true) throws -> ExportGraph {
        if reparameterize, let m = model as? Reparameterizable { m.reparameterize() }
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let run = forward ?? { model.outputs($0).logits }
        let parameters = model.stateDict()
        func once(batch: Int, seed: UInt64) throws -> GraphTracer {
            let tracer = GraphTracer(parameters: parameters)
            var rng = RandomState(seed: seed)
            let x = Tensor.randomNormal([batch, height, width, channels], using: &rng)
            tracer.setInput(x)
            let y = GradMode.withoutGrad { OpTrace.tracing(tracer) { run(x) } }
            if let failure = tracer.failure { throw failure }
            tracer.graph.output = try tracer.outputValue(y)
            return tracer
        }
        let a = try once(batch: 1, seed: 0x5EED_0001), b = try once(batch: 2, seed: 0x5EED_0002)
        try compare(a, b)
        let graph = a.graph
        graph.setNodes(graph.nodes)
        graph.labelLayers()
        return graph
    }

    /// Checks that two traces ran the same operations and finds each value's batch dimension.
    private static func compare(_ a: GraphTracer, _ b: GraphTracer) throws {
        let ga = a.graph, gb = b.graph
        guard ga.nodes.count == gb.nodes.count, ga.values.count == gb.values.count, ga.output == gb.output,
              zip(ga.nodes, gb.nodes).allSatisfy({ describe($0.op) == describe($1.op) && $0.inputs == $1.inputs })
        else {
            throw ExportError("the forward pass ran different operations for batches of 1 and 2 "
                              + "(\(ga.nodes.count) vs \(gb.nodes.count)); export needs a pass that does not depend on the input")
        }
        for v in ga.values.indices {
            let sa = ga.values[v].shape, sb = gb.values[v].shape
            guard sa.count == sb.count else { throw ExportError("value \(v) has rank \(sa.count) or \(sb.count) by batch size") }
            let differing = sa.indices.filter { sa[$0] != sb[$0] }
            guard differing.count <= 1 else {
                throw ExportError("a tensor of shape \(sa) depends on the batch size in \(differing.count) dimensions; "
                                  + "export keeps one batch dimension dynamic")
            }
            ga.values[v].batchAxis = differing.first
        }
        for v in a.snapshots {
            guard let ta = ga.constant(v), let tb = gb.constant(v) else { continue }
            let user = ga.nodes.firstIndex { $0.inputs.contains(v) }.map { "node \($0) (\(describe(ga.nodes[$0].op)))" } ?? "no node"
            if ta.shape != tb.shape {
                throw ExportError("a tensor that no traced operation produced has a batch-dependent shape \(ta.shape) "
                                  + "(first used by \(user)): it is computed outside ClasTensor's operations (a custom "
                                  + "kernel) or created from the batch size; write it with ClasTensor operations")
            }
            if ta.scalars != tb.scalars {
                throw ExportError("a tensor of shape \(ta.shape) that no traced operation produced changes with the input "
                                  + "(first used by \(user)): an operation outside ClasTensor's ops cannot be exported; "
                                  + "write it with ClasTensor operations")
            }
        }
    }

    /// Names convolution and linear nodes after their weight (`blocks.0.0.conv_dw`).
    func labelLayers() {
        for k in nodes.indices {
            guard case .tensor(let op) = nodes[k].op else { continue }
            switch op {
            case .conv2d, .linear:
                if let name = values[nodes[k].inputs[1]].name {
                    nodes[k].label = name.hasSuffix(".weight") ? String(name.dropLast(".weight".count)) : name
                }
            default: break
            }
        }
    }
}
