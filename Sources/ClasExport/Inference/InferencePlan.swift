import ClasEngine
import ClasKernels
import ClasNN
import ClasTensor
import Foundation

/// A model's evaluation forward pass compiled for inference (the engine's inference mode, see `InferenceMode`):
/// traced into an ``ExportGraph``, batch norms folded into the convolutions, constants folded, then
/// ``InferenceCompiler`` fuses residual additions and activations into the convolution epilogues and packs the
/// weights once. Memory is planned once per batch size (``InferenceMemory``): running allocates only the output (and,
/// for a batch in several phases, each phase's gathered result).
public final class InferencePlan {
    /// The image shape [H, W, C] the plan was traced for (any batch size runs).
    public let imageShape: [Int]
    let graph: ExportGraph
    let steps: [InferenceStep]
    /// Value → the value whose memory it shares (reshapes).
    let aliases: [Int: Int]
    /// The phases a batch split into image groups goes through (consecutive step ranges, the first from step 0):
    /// later phases, whose activations are smaller, take more images per group, so their weights stream from memory
    /// fewer times; the last may be the tail (``tailStart``).
    let phases: [BatchPhase]
    /// The first step of the tail, the last steps whose outputs are small per image (at most ``tailFloats`` each: a
    /// 1×1 convolution and the classifier after global pooling, and at low resolution the last stage's 2×2 maps),
    /// which run in one share of the batch per thread. `steps.count` when there are none.
    var tailStart: Int { phases.last.flatMap { $0.imagesPerGroup == .max ? $0.steps.lowerBound : nil } ?? steps.count }
    /// The largest output per image (floats) of a tail step: 32 images of it fit a 1 MiB L2.
    static let tailFloats = 8192
    /// The weights (bytes) that a later phase must read before it takes larger image groups.
    static let phaseWeightBytes = 4 << 20
    private var memories: [[Int]: InferenceMemory] = [:]

    /// The value whose memory `v` uses.
    func root(_ v: Int) -> Int { aliases[v].map(root) ?? v }

    /// Compiles an evaluation-mode graph (as traced; BN folding and constant folding happen here).
    public init(graph traced: ExportGraph) throws {
        let g = traced.copy()
        g.foldBatchNorms()
        g.removeIdentities()
        g.foldConstants()
        for node in g.nodes {
            guard case .tensor = node.op else {
                throw ExportError("the inference mode runs float graphs; \(ExportGraph.describe(node.op)) is not supported")
            }
        }
        guard g.values[g.input].shape.count == 4 else { throw ExportError("the inference mode needs NHWC images") }
        graph = g
        imageShape = Array(g.values[g.input].shape.dropFirst())
        (steps, aliases) = InferenceCompiler(g).compile()
        phases = Self.phases(steps, graph: g, aliases: aliases)
    }

    /// Splits the steps into phases at boundaries that only one value crosses (the steps from the boundary on read
    /// only constants, each other's outputs and the output of the step before it). The first phase starts at step 0;
    /// a later one starts where the images per group that keep the largest activation from there on within
    /// ``groupBytes`` at least double, if the weights from there to the tail are over ``phaseWeightBytes`` (fewer
    /// stream cheaply enough from L3 once per image, and larger groups would crowd the L2); the tail starts at the
    /// earliest boundary after which every output holds at most ``tailFloats`` per image (at least one step stays
    /// before it).
    private static func phases(_ steps: [InferenceStep], graph: ExportGraph, aliases: [Int: Int]) -> [BatchPhase] {
        func root(_ v: Int) -> Int { aliases[v].map(root) ?? v }
        let n = steps.count
        let floats = steps.map { graph.values[root($0.output)].shape.dropFirst().reduce(1, *) }
        var boundary = [Bool](repeating: false, count: n)
        var written: Set<Int> = [], read: Set<Int> = []  // by steps k… (constants left out)
        for k in stride(from: n - 1, through: 1, by: -1) {
            written.insert(root(steps[k].output))
            read.formUnion(steps[k].inputs.map(root).filter { graph.constant($0) == nil })
            boundary[k] = read.subtracting(written) == [root(steps[k - 1].output)]
        }
        var tail = n
        for k in stride(from: n - 1, through: 1, by: -1) {
            guard floats[k] <= tailFloats else { break }
            if boundary[k] { tail = k }
        }
        // Images per group from step k to the tail, and the weights from k to the tail.
        var largest = [Int](repeating: 0, count: tail + 1), weights = largest
        for k in stride(from: tail - 1, through: 0, by: -1) {
            largest[k] = max(floats[k], largest[k + 1])
            weights[k] = steps[k].weightFloats + weights[k + 1]
        }
        func images(_ k: Int) -> Int { max(1, groupBytes / (MemoryLayout<Float>.size * max(largest[k], 1))) }
        var starts = [0], current = images(0)
        for k in 1..<max(tail, 1)
        where boundary[k] && images(k) >= 2 * current && weights[k] * MemoryLayout<Float>.size > phaseWeightBytes {
            starts.append(k)
            current = images(k)
        }
        var phases = starts.indices.map { i in
            let end = i + 1 < starts.count ? starts[i + 1] : tail
            return BatchPhase(steps: starts[i]..<end, imagesPerGroup: images(starts[i]))
        }
        if tail < n { phases.append(BatchPhase(steps: tail..<n, imagesPerGroup: .max)) }
        return phases.filter { !$0.steps.isEmpty }
    }

    /// Traces `model` (evaluation mode; not re-parameterised here: callers fuse MobileOne-like models first, so a
    /// model being trained keeps its branches) and compiles it for `height`×`width`×`channels` images.
    public convenience init(model: Module, height: Int, width: Int, channels: Int = 3) throws {
        try self.init(graph: ExportGraph.trace(model, height: height, width: width, channels: channels,
                                               reparameterize: false))
    }

    /// Makes the engine's inference mode (`InferenceMode`, used by `tools eval`, `tools infer` and evaluation during
    /// training) compile models with ``InferencePlan``. `tools` calls this at start.
    public static func install() {
        InferenceMode.compiler = { model, shape in
            let plan = try InferencePlan(model: model, height: shape[0], width: shape[1], channels: shape[2])
            return plan.run
        }
    }

    /// One line per step (what each step fused), for `tools benchmark --profile` and debugging.
    public var summary: String {
        steps.enumerated().map { "\($0): v\($1.output) \(graph.values[$1.output].shape) = \($1.fused)" }
            .joined(separator: "\n")
    }

    /// The phases of a batch run in image groups, for `tools benchmark --profile`.
    public var phaseSummary: String {
        "batch phases: " + phases.enumerated().map { i, p in
            let steps = "steps \(p.steps.lowerBound)–\(p.steps.upperBound - 1)"
            if p.imagesPerGroup == .max { return steps + " (tail): one share of the batch per thread" }
            if i == 0 { return steps + ": groups that fit \(Self.groupBytes >> 20) MiB" }
            return steps + ": groups of \(p.imagesPerGroup)"
        }.joined(separator: "; ")
    }

    /// Number of steps, and of steps that fall back to the ordinary tensor operations.
    public var stepCounts: (total: Int, fallback: Int) {
        (steps.count, steps.filter { if case .fallback = $0.kernel { return true } else { return false } }.count)
    }

    /// The logits for an NHWC batch `x` of the traced image shape (any batch size). A batch of several images runs
    /// image group by image group (``groupSize(batch:)`` images each), every group through the whole network while
    /// its activations are still in cache; with several threads each thread claims whole groups one at a time
    /// (kernels inside run on that thread), phase by phase (``phases``: later ones in larger groups, the tail in one
    /// share of the batch per thread). A single image runs layer by layer with every layer split across the threads.
    public func run(_ x: Tensor) -> Tensor { run(x, groupSize: groupSize(batch: x.shape[0])) }

    /// `run` with a given number of images per group in the first phase.
    func run(_ x: Tensor, groupSize group: Int) -> Tensor {
        precondition(Array(x.shape.dropFirst()) == imageShape,
                     "inference plan traced for images \(imageShape), got a batch \(x.shape)")
        let batch = x.shape[0]
        let out = Tensor(uninitializedShape: memory(batch: batch, slot: 0).shapes[graph.output])
        guard group < batch, out.shape.first == batch else {
            runSteps(memory(batch: batch, slot: 0), input: x.data, output: out.data)
            return out
        }
        let threads = Profiler.isEnabled ? 1 : Int(clas_num_threads())
        var input = x, inputValue = graph.input
        for (i, phase) in phases.enumerated() {
            // Later phases: their own group size, but at least one group per thread.
            let size = i == 0 ? group : min(phase.imagesPerGroup, (batch + threads - 1) / threads)
            let result = i == phases.count - 1 ? graph.output : root(steps[phase.steps.upperBound - 1].output)
            var shape = graph.values[result].shape
            shape[0] = batch
            let output = i == phases.count - 1 ? out : Tensor(uninitializedShape: shape)
            runPhase(i, batch: batch, group: min(size, batch), threads: threads, input: input, inputValue: inputValue,
                     result: result, output: output)
            (input, inputValue) = (output, result)
        }
        return out
    }

    /// Phase `i` over the batch in `input` (values `inputValue`), `group` images per group on up to `threads`
    /// threads, each thread claiming the next unclaimed group with its own memory; value `result` into `output`.
    private func runPhase(_ i: Int, batch: Int, group: Int, threads: Int, input: Tensor, inputValue: Int,
                          result: Int, output: Tensor) {
        let groups = (batch + group - 1) / group, threads = min(threads, groups)
        // Memory per pool chunk (a chunk index is never run by two threads at once), made before the threads start.
        let memories = (0..<threads).map { phaseMemory(i, batch: group, slot: $0) }
        let last = batch - (groups - 1) * group
        let lastMemory = last == group ? nil : phaseMemory(i, batch: last, slot: threads)
        let inStride = input.count / batch, outStride = output.count / batch
        forEachImageGroup(groups, threads: threads) { begin, end, tid in
            for g in begin..<end {
                let m = g == groups - 1 ? lastMemory ?? memories[tid] : memories[tid]
                self.runSteps(m, self.phases[i].steps, input: input.data + g * group * inStride, inputValue: inputValue,
                              result: result, output: output.data + g * group * outStride)
            }
        }
    }

    /// Images per group for a batch: as many as keep one image group's largest activation within ~1 MiB (an L2
    /// cache), at least one; a whole batch when it is that small anyway.
    func groupSize(batch: Int) -> Int {
        let perImage = memory(batch: 1, slot: 0).largestValue * MemoryLayout<Float>.size
        return max(1, min(batch, Self.groupBytes / max(perImage, 1)))
    }

    /// `tools benchmark --profile` times every step on its own (index, fusion, output shape) instead of per kind
    /// when the environment sets CLAS_PROFILE_STEPS=1.
    static let profilesSteps = ProcessInfo.processInfo.environment["CLAS_PROFILE_STEPS"] == "1"

    /// The activation budget of one image group.
    static let groupBytes = 1 << 20

    /// The memory for all steps and `batch` images in slot `slot` (one per concurrent group), made on first use.
    private func memory(batch: Int, slot: Int) -> InferenceMemory { memory(batch: batch, slot: slot, phase: nil) }

    /// The memory for phase `i`'s steps.
    private func phaseMemory(_ i: Int, batch: Int, slot: Int) -> InferenceMemory {
        memory(batch: batch, slot: slot, phase: i)
    }

    private func memory(batch: Int, slot: Int, phase: Int?) -> InferenceMemory {
        let key = [batch, slot, phase ?? -1]
        if let m = memories[key] { return m }
        let m = InferenceMemory(graph: graph, steps: phase.map { Array(steps[phases[$0].steps]) } ?? steps,
                                aliases: aliases, batch: batch)
        memories[key] = m
        return m
    }

    /// Runs `range` of the steps (all by default) over `memory`'s batch with `inputValue` (the images by default)
    /// at `input`, copying value `result` (the logits by default) to `output`.
    private func runSteps(_ memory: InferenceMemory, _ range: Range<Int>? = nil, input: UnsafeMutablePointer<Float>,
                          inputValue: Int? = nil, result: Int? = nil, output: UnsafeMutablePointer<Float>) {
        let inputValue = inputValue ?? graph.input, result = result ?? graph.output
        let ptr: (Int) -> UnsafeMutablePointer<Float> = { v in
            let r = self.root(v)
            if r == inputValue { return input }
            if let t = self.graph.constant(r) { return t.data }
            return memory.pointer(r)
        }
        let shape: (Int) -> [Int] = { memory.shapes[$0] }
        for i in range ?? steps.indices {
            let step = steps[i]
            Profiler.measure(Self.profilesSteps ? "\(i): \(step.fused) \(shape(step.output))" : step.fused) {
                step.run(ptr, shape)
            }
        }
        output.update(from: ptr(result), count: memory.shapes[result].reduce(1, *))
    }
}

/// The memory of an ``InferencePlan`` for one batch size: every value's shape, and a slot for each computed value,
/// reused once the value's last reader has run (a value never shares a slot with an input of its own step).
final class InferenceMemory {
    /// Shapes of all values at this batch size.
    let shapes: [[Int]]
    private var slots: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []
    private var slotOf: [Int]

    init(graph: ExportGraph, steps: [InferenceStep], aliases: [Int: Int], batch: Int) {
        shapes = graph.values.map { v in
            var s = v.shape
            if let b = v.batchAxis { s[b] = s[b] / max(graph.values[graph.input].shape[0], 1) * batch }
            return s
        }
        func root(_ v: Int) -> Int { aliases[v].map(root) ?? v }
        var lastUse = [Int](repeating: -1, count: graph.values.count)
        for (k, step) in steps.enumerated() { for v in step.inputs { lastUse[root(v)] = k } }
        lastUse[root(graph.output)] = Int.max
        slotOf = [Int](repeating: -1, count: graph.values.count)
        var free: [Int] = []
        for (k, step) in steps.enumerated() {
            let out = root(step.output)
            if slotOf[out] < 0 {
                let need = shapes[out].reduce(1, *)
                if let best = free.indices.filter({ slots[free[$0]].capacity >= need })
                    .min(by: { slots[free[$0]].capacity < slots[free[$1]].capacity }) {
                    slotOf[out] = free.remove(at: best)
                } else {
                    slots.append((.allocate(capacity: max(need, 16)), max(need, 16)))
                    slotOf[out] = slots.count - 1
                }
            }
            for v in Set(step.inputs.map(root)) where lastUse[v] == k && slotOf[v] >= 0 { free.append(slotOf[v]) }
        }
        for (v, a) in aliases { slotOf[v] = slotOf[root(a)] }
    }

    deinit { for s in slots { s.pointer.deallocate() } }

    /// The memory of a computed value.
    func pointer(_ v: Int) -> UnsafeMutablePointer<Float> { slots[slotOf[v]].pointer }

    /// Elements of the largest computed value.
    var largestValue: Int { slots.map(\.capacity).max() ?? 0 }

    /// Bytes held by the slots.
    var bytes: Int { slots.reduce(0) { $0 + $1.capacity * 4 } }
}
