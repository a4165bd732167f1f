import ClasKernels
import ClasTensor
import Foundation

/// Runs an ``OnnxProgram`` with SwiftClas's tensor operations (inference only, no graph recorded).
///
/// ONNX images are NCHW, SwiftClas's kernels NHWC: every float value remembers whether it is stored NHWC (a rank-4
/// NCHW value with its channels last). Convolutions, pools and the elementwise operations between them work on NHWC
/// storage, so a network of them runs without a transpose; an operation that needs ONNX order (`Flatten`, `Reshape`,
/// `Gemm`, …) gets it by one permute. Constant weights are converted once (OIHW → OHWI) and cached. Before any
/// kernel runs, each operation checks its inputs' shapes and attributes and throws an ``OnnxImportError`` naming the
/// node, so a malformed file cannot trip a precondition.
public final class OnnxInterpreter {
    public let program: OnnxProgram

    /// A runtime value.
    enum Value {
        /// Float data; `nhwc`: a rank-4 NCHW value stored with channels last.
        case float(Tensor, nhwc: Bool)
        case integers(shape: [Int], values: [Int])
        /// uint8 data from a `QuantizeLinear` (read by native int8 layers, or dequantised).
        case quantized(QuantizedActivation)
    }

    /// The quantised layers that run with integer kernels (empty for a float model, see ``Int8Plan``).
    let int8: Int8Plan

    /// Per node index, the computed values no later node reads (dropped after it runs, so their memory returns to
    /// the buffer cache for the next layers).
    private let releases: [[Int]]
    /// Constant weights converted once for the float operators (``weight(_:_:_:)``), and their lock.
    var prepared: [String: Tensor] = [:]
    let lock = NSLock()

    /// Prepares `program` and runs it once on zeros of the declared input shape (batch 2 when dynamic), so a file
    /// whose shapes do not fit together is refused here rather than during prediction.
    /// - Parameter integerKernels: run the quantised layers of a QDQ model with the integer kernels (default: when
    ///   the CPU has AVX512-VNNI or AVX-VNNI, or as `CLAS_INT8=native|float` says), else dequantise them to float.
    /// - Parameter chainIntegerLayers: let an integer layer quantise its output for the next one in its epilogue (the
    ///   same values as quantising the float output; default on, `CLAS_INT8_CHAIN=0` turns it off for comparisons).
    /// - Parameter fuseProducts: let a `QuantizeLinear` compute the `Mul` it reads (squeeze-excite scaling) in its
    ///   pass (the same values; default on, `CLAS_INT8_FUSE_MUL=0` turns it off for comparisons).
    public init(_ program: OnnxProgram, integerKernels: Bool? = nil, chainIntegerLayers: Bool? = nil,
                fuseProducts: Bool? = nil) throws {
        self.program = program
        let env = ProcessInfo.processInfo.environment
        let plan = Int8Plan(program, native: integerKernels ?? Int8Plan.usesIntegerKernels,
                            chain: chainIntegerLayers ?? (env["CLAS_INT8_CHAIN"] != "0"),
                            fuseProducts: fuseProducts ?? (env["CLAS_INT8_FUSE_MUL"] != "0"))
        int8 = plan
        releases = OnnxInterpreter.lastUses(program, plan)
        let s = program.inputShape
        let probe = Tensor.zeros([s[0] ?? 2, s[2]!, s[3]!, s[1]!])
        let y = try run(nhwc: probe)
        guard y.rank == 2, y.shape[0] == probe.shape[0] else {
            throw OnnxImportError("the output '\(program.outputName)' has shape \(y.shape) for a batch of "
                                  + "\(probe.shape[0]); a classifier's is [N, classes]")
        }
    }

    /// How many convolution and linear layers run with the integer kernels.
    public var integerLayerCount: Int { int8.steps.count }
    /// How many of them quantise their output for the next integer layer in their epilogue (chained).
    public var chainedLayerCount: Int { int8.steps.values.filter { $0.quantized != nil }.count }
    /// How many `Mul`s are computed inside the quantisation that reads them (squeeze-excite scaling).
    public var fusedProductCount: Int { int8.fusedProducts.count }
    /// The integer kernels' instruction set ("AVX512-VNNI", "AVX-VNNI", "portable").
    public static var integerKernelISA: String { String(cString: clas_q8_isa_name(clas_q8_isa())) }

    /// The declared input as (channels, height, width).
    public var inputSize: (channels: Int, height: Int, width: Int) {
        (program.inputShape[1]!, program.inputShape[2]!, program.inputShape[3]!)
    }

    /// The output `[N, classes]` for an NHWC image batch `x`.
    public func run(nhwc x: Tensor) throws -> Tensor {
        let s = program.inputShape
        guard x.rank == 4, x.shape[3] == s[1], x.shape[1] == s[2], x.shape[2] == s[3],
              s[0] == nil || s[0] == x.shape[0] else {
            let declared = s.map { $0.map(String.init) ?? "N" }
            throw OnnxImportError("input '\(program.inputName)' expects [N, C, H, W] = \(declared), "
                                  + "got images of NHWC shape \(x.shape) (check the preprocessing's size)")
        }
        return try run(nhwc: x, groupSize: groupSize(batch: x.shape[0]))
    }

    /// Images per group when a batch of a model with integer layers is split into image groups: one group per
    /// thread (`CLAS_ONNX_GROUP=n` sets n images per group). The whole batch at once for float models, a batch of
    /// one, a declared (fixed) batch size, or one thread.
    func groupSize(batch: Int) -> Int {
        guard !int8.steps.isEmpty, program.inputShape[0] == nil else { return batch }
        if let n = OnnxInterpreter.imagesPerGroup { return max(1, min(n, batch)) }
        let threads = max(1, Int(clas_num_threads()))
        return (batch + threads - 1) / threads
    }

    /// `CLAS_ONNX_GROUP`: images per group (for measurements), nil: one group per thread.
    nonisolated(unsafe) static var imagesPerGroup = ProcessInfo.processInfo.environment["CLAS_ONNX_GROUP"].flatMap { Int($0) }

    /// `run(nhwc:)` with `group` images per image group. Each group runs through the whole graph (every integer
    /// layer chained, its activations its own); with several threads each thread claims groups one at a time and
    /// the kernels inside run on that thread, so the threads never wait for each other between layers. With one group
    /// (`group` ≥ batch), the graph runs once over the batch and every layer is split across the threads. The logits
    /// of an image do not depend on the grouping (integer layers are exact; the float operators between them work
    /// image by image).
    func run(nhwc x: Tensor, groupSize group: Int) throws -> Tensor {
        let batch = x.shape[0]
        guard group < batch else { return try GradMode.withoutGrad { try runGraph(x) } }
        let groups = (batch + group - 1) / group
        let threads = Profiler.isEnabled ? 1 : min(Int(clas_num_threads()), groups)
        let perImage = x.count / max(batch, 1)
        let outputs = UnsafeMutablePointer<Result<Tensor, Error>?>.allocate(capacity: groups)
        outputs.initialize(repeating: nil, count: groups)
        defer { outputs.deinitialize(count: groups); outputs.deallocate() }
        return try GradMode.withoutGrad {  // set once here: the group threads only read it
            forEachImageGroup(groups, threads: threads) { begin, end, _ in
                for g in begin..<end {
                    let images = Swift.min(group, batch - g * group)
                    let xg = Tensor(uninitializedShape: [images] + x.shape.dropFirst())
                    xg.data.update(from: x.data + g * group * perImage, count: xg.count)
                    outputs[g] = Result { try self.runGraph(xg) }
                }
            }
            let ys = try (0..<groups).map { try outputs[$0]!.get() }
            guard ys.allSatisfy({ $0.rank == 2 && $0.shape[1] == ys[0].shape[1] }) else {
                throw OnnxImportError("the output '\(program.outputName)' of an image group is not [N, classes]")
            }
            return Tensor.concat(ys, axis: 0)
        }
    }

    /// Runs every node once over the batch `x` (grad mode already off; no shared state is written, so several
    /// threads may run it at once on different batches).
    private func runGraph(_ x: Tensor) throws -> Tensor {
        var env = [Value?](repeating: nil, count: program.valueCount)
        for (id, c) in program.constants {
            switch c {
            case .float(let t): env[id] = .float(t, nhwc: false)
            case let .integers(shape, values): env[id] = .integers(shape: shape, values: values)
            }
        }
        for (id, t) in int8.folded { env[id] = .float(t, nhwc: false) }
        env[program.input] = .float(x, nhwc: true)
        for (index, node) in program.nodes.enumerated() {
            if int8.skipped.contains(index) { continue }
            if let step = int8.steps[index] {
                guard case .quantized(let q)? = env[step.input] else {
                    throw OnnxImportError("\(node.label) reads a quantised value not computed yet")
                }
                var residual: Tensor?
                if let r = step.residual {
                    guard case .float(let t, let nhwc)? = env[r], nhwc else {
                        throw OnnxImportError("\(node.label): the residual added to it is not an NHWC float image")
                    }
                    residual = t
                }
                let (y, yq) = try Profiler.measure("int8 \(step.layer.kind)") {
                    try step.layer.run(q, activation: step.activation, residual: residual,
                                       quantize: step.quantized?.quantization, keepFloat: step.keepFloat)
                }
                if let y { for o in step.outputs { env[o] = .float(y, nhwc: step.layer.kind != .linear) } }
                if let yq, let o = step.quantized?.output { env[o] = .quantized(yq) }
                for v in releases[index] { env[v] = nil }
                continue
            }
            var node = node
            if let fused = int8.fusedActivations[index] {  // the quantisation reads the activation's input
                node = OnnxProgram.Node(op: node.op, name: node.name, inputs: [fused.input] + node.inputs.dropFirst(),
                                        output: node.output, attributes: node.attributes)
            }
            let product = int8.fusedProducts[index]  // the quantisation reads the Mul's inputs (its own input 0 is nil)
            let inputs = try node.inputs.enumerated().map { k, id -> Value? in
                guard let id, product == nil || k > 0 else { return nil }
                guard let v = env[id] else { throw OnnxImportError("\(node.label) reads a value not computed yet") }
                return v
            }
            env[node.output] = try Profiler.measure("onnx \(node.op)") {
                if let product {
                    guard let a = env[product.a], let b = env[product.b] else {
                        throw OnnxImportError("\(node.label) reads a value not computed yet")
                    }
                    return try quantizeProduct(Args(node: node, values: inputs, uint8Constants: program.uint8Constants), a, b)
                }
                return try apply(node, inputs, activation: int8.fusedActivations[index]?.activation ?? 0)
            }
            for v in releases[index] { env[v] = nil }
        }
        guard case .float(let y, let nhwc)? = env[program.output] else {
            throw OnnxImportError("the output '\(program.outputName)' is not a float tensor")
        }
        return nhwc ? y.permuted([0, 3, 1, 2]) : y
    }

    /// ``releases``: each computed value (not a constant, the input or the output) after the last node that reads it,
    /// counting the reads the ``Int8Plan`` redirects (a layer's uint8 input and residual, a fused activation's input,
    /// a fused `Mul`'s inputs).
    private static func lastUses(_ p: OnnxProgram, _ plan: Int8Plan) -> [[Int]] {
        var last: [Int: Int] = [:]
        func read(_ v: Int?, _ i: Int) { if let v { last[v] = Swift.max(last[v] ?? i, i) } }
        for (i, n) in p.nodes.enumerated() { for v in n.inputs { read(v, i) } }
        for (i, step) in plan.steps { read(step.input, i); read(step.residual, i) }
        for (i, f) in plan.fusedActivations { read(f.input, i) }
        for (i, f) in plan.fusedProducts { read(f.a, i); read(f.b, i) }
        var releases = [[Int]](repeating: [], count: p.nodes.count)
        for (v, i) in last where v != p.output && v != p.input && p.constants[v] == nil && plan.folded[v] == nil {
            releases[i].append(v)
        }
        return releases
    }
}
