import ArgumentParser
import ClasEngine
import ClasExport
import ClasKernels
import ClasModels
import ClasNN
import ClasOptim
import ClasTensor
import Foundation

/// `tools benchmark`: whole training or inference steps of a model, or kernel throughput (`tools benchmark ops`).
struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Time training/inference steps of a model, or kernels with 'ops'.",
        discussion: """
            Examples:
              tools benchmark --model mobilenetv3_small_100 --size 224 --batch 32 --mode train
              tools benchmark --model MobileOne_S0 --mode infer --profile
              tools benchmark ops
            The last line ends with '<number> img/s' (what bench/side_by_side.sh and bench/bench_table.py read).
            """)

    @Argument(help: "'ops' to benchmark kernels instead of a model.")
    var what: String?

    @Option(help: "Model name (PaddleClas or timm name).")
    var model = "mobilenetv3_small_100"
    @Option(help: "Batch size.")
    var batch = 32
    @Option(help: "Input resolution (square).")
    var size = 224
    @Option(help: "train or infer.")
    var mode = "train"
    @Option(help: "Kernel threads (default: all cores or CLAS_NUM_THREADS).")
    var threads: Int?
    @Option(help: "Timed repetitions (median reported).")
    var reps = 5
    @Option(help: "Untimed warm-up repetitions.")
    var warmup = 2
    @Option(help: "Classifier outputs.")
    var classes = 10
    @Option(help: "Infer mode: also write the benchmarked model (same weights, fused) as ONNX here, for a side-by-side run with onnxruntime (bench/infer_side_by_side.py).")
    var exportOnnx: String?
    @Flag(help: "Infer with the model's own forward pass instead of the inference mode (compiled plan).")
    var eager = false
    @Flag(help: "Print time per operation kind.")
    var profile = false
    @Flag(help: "With --mode infer: quantise the model (QDQ int8, calibrated on the random batch) and time SwiftClas's native int8 execution of it.")
    var int8 = false
    @Option(help: "With --int8: also write the QDQ ONNX model here (to time onnxruntime on the same file).")
    var saveOnnx: String?
    @Flag(help: "With --mode train: mixed precision (AMP), matrix products in bfloat16 with float32 sums; needs AVX512_BF16.")
    var amp = false
    @Flag(help: "Measure this thread's CPU time instead of wall time (robust on a busy machine; use with --threads 1).")
    var cpuTime = false

    func validate() throws {
        guard what == nil || what == "ops" else { throw ValidationError("unknown benchmark '\(what ?? "")'; did you mean 'ops'?") }
        guard ["train", "infer"].contains(mode) else { throw ValidationError("--mode must be train or infer") }
        guard !int8 || mode == "infer" else { throw ValidationError("--int8 needs --mode infer") }
        guard !amp || mode == "train" else { throw ValidationError("--amp needs --mode train") }
        guard !amp || MixedPrecision.isSupported else {
            throw ValidationError("--amp needs a CPU with AVX512_BF16 (this one has: \(ComputeBackend.cpuFeatures.joined(separator: " ")))")
        }
        guard batch > 0, size >= 32, reps > 0, warmup >= 0 else { throw ValidationError("batch, size ≥ 32 and reps must be positive") }
    }

    func run() throws {
        if let threads { clas_set_num_threads(Int32(threads)) }
        print(ComputeBackend.summary)
        Clock.useThreadCPUTime = cpuTime
        Profiler.useThreadCPUTime = cpuTime
        if what == "ops" {
            OpsBenchmark.run(reps: reps)
            return
        }
        try benchmarkModel(registries: CommandContext.registries) { print($0) }
    }

    /// Times the model's training or inference steps; any registered model, fused first for inference when its
    /// card says it re-parameterises. Each report line goes to `output`.
    func benchmarkModel(registries: Registries, output: (String) -> Void) throws {
        guard let entry = registries.arch.entry(named: model) else {
            throw ValidationError("no model named '\(model)' ('tools list models' shows all)")
        }
        Randomness.seed(0)
        let fixed = registries.arch.card(named: model)?.fixedInputSize ?? false
        let net = try registries.arch.make(model, classCount: classes, options: fixed ? ["img_size": "\(size)"] : [:])
        if registries.arch.card(named: model)?.reparameterizes ?? true, let fusable = net as? Reparameterizable,
           mode == "infer" {
            fusable.reparameterize()
        }
        output("model: \(entry.name), parameters: \(net.parameterCount), batch \(batch), size \(size), mode \(mode)")
        var rng = RandomState(seed: 1)
        let x = Tensor.randomNormal([batch, size, size, 3], using: &rng)
        let labels = (0..<batch).map { _ in rng.int(below: classes) }
        if mode == "train" {
            let optimizer = Momentum(parameters: net.namedParameters(), learningRate: 0.01, momentum: 0.9)
            net.train()
            let t = time {
                MixedPrecision.run(enabled: amp) {
                    let loss = Tensor.crossEntropy(net(x), labels: labels)
                    loss.backward()
                }
                optimizer.step()
                optimizer.zeroGrad()
            }
            report(seconds: t, images: batch, label: amp ? "train (AMP bf16)" : "train", output)
        } else {
            net.eval()
            var forward: (Tensor) -> Tensor = { net($0) }
            if let exportOnnx {
                try AtomicFile.write(OnnxExporter.serialize(OnnxExporter.export(net, height: size, width: size)),
                                     to: exportOnnx)
            }
            if int8 {
                forward = try int8Forward(net, calibration: x, output)
            } else if !eager {
                let plan = try InferencePlan(model: net, height: size, width: size)
                let counts = plan.stepCounts
                output("inference plan: \(counts.total) steps, \(counts.fallback) fallback")
                if profile { output(plan.summary + "\n" + plan.phaseSummary) }
                forward = plan.run
            }
            GradMode.withoutGrad {
                let one = x.narrowed(axis: 0, start: 0, length: 1)
                let latency = time { _ = forward(one) }
                output(String(format: "batch 1 latency: %.2f ms", latency * 1000))
                let t = time { _ = forward(x) }
                report(seconds: t, images: batch, label: "infer\(int8 ? " int8" : "") batch \(batch)", output)
            }
        }
    }

    /// Median seconds of `reps` timed runs after `warmup` untimed ones (profiled runs only).
    private func time(_ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        Profiler.reset()
        Profiler.isEnabled = profile
        var times: [Double] = []
        for _ in 0..<reps {
            let start = Clock.now()
            body()
            times.append(Clock.now() - start)
        }
        Profiler.isEnabled = false
        if profile { printProfile(total: times.reduce(0, +)) }
        return times.sorted()[times.count / 2]
    }

    private func printProfile(total: Double) {
        let entries = Profiler.entries.sorted { $0.value.seconds > $1.value.seconds }
        let covered = entries.reduce(0) { $0 + $1.value.seconds }
        print("profile (\(reps) runs, \(String(format: "%.1f", covered / total * 100))% of the time attributed):")
        for (name, e) in entries {
            print(String(format: "  %-34@ %8.2f ms/run %6.1f%%  (%d calls/run)", name as NSString,
                         e.seconds / Double(reps) * 1000, e.seconds / total * 100, e.calls / reps))
        }
        let rest = Swift.max(0, total - covered)  // the loss, the optimizer, ops outside layers not timed by name
        print(String(format: "  %-34@ %8.2f ms/run %6.1f%%", "(the rest)" as NSString, rest / Double(reps) * 1000,
                     rest / total * 100))
    }

    private func report(seconds: Double, images: Int, label: String, _ output: (String) -> Void) {
        output(String(format: "peak RSS: %.0f MiB", Double(peakResidentBytes()) / 1_048_576))
        output(String(format: "%@: %.1f ms/step, %.2f img/s", label as NSString, seconds * 1000, Double(images) / seconds))
    }
}

/// Peak resident set size of this process (VmHWM), in bytes.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}

/// Seconds from the wall clock, or from this thread's CPU clock (`--cpu-time`).
enum Clock {
    nonisolated(unsafe) static var useThreadCPUTime = false

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(useThreadCPUTime ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
