import ClasKernels
import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// Whether onnxruntime's fused u8 × s8 kernels sum exactly on this CPU. With AVX512-VNNI or AVX-VNNI they use
/// `vpdpbusd` (exact int32, as ours); without, MLAS multiplies with `vpmaddubsw`, which saturates each pair of
/// products at ±32767, so full-range int8 weights give other sums (onnxruntime's quantisation docs advise 7-bit
/// weights, `reduce_range`, on such CPUs). Our kernels sum exactly on every CPU.
var onnxRuntimeSumsU8S8Exactly: Bool { clas_q8_isa() != Int32(CLAS_Q8_PORTABLE) }

/// Gives every batch norm non-trivial statistics and affine parameters, so folding them is really tested (fresh
/// models have mean 0, variance 1, γ 1 or 0, β 0): the running statistics are set from a random batch (so
/// activations keep the scale of a trained network instead of growing layer after layer), γ and β are random.
/// β is centred at 0.3, not 0, so most units after a ReLU stay active as in a trained network: centred at 0, a random
/// network has many nearly dead channels whose re-normalisation amplifies float32 rounding, and onnxruntime then
/// differs from itself (with and without graph optimisation) by 1e-4 on MobileOne-S0's logits, 2e-5 with 0.3.
func randomizeBatchNorms(_ model: Module, seed: UInt64 = 11, inputSize: Int = 32) {
    let norms = model.namedModules().compactMap { $0.1 as? BatchNorm }
    var rng = RandomState(seed: seed)
    for bn in norms {
        for c in 0..<bn.channels {
            bn.weight.data[c] = rng.uniform(0.6, 1.4)
            bn.bias.data[c] = 0.3 + 0.1 * rng.normal()
        }
    }
    let wasTraining = model.isTraining
    let momenta = norms.map(\.momentum)
    for bn in norms { bn.momentum = 1 }
    model.train()
    _ = GradMode.withoutGrad { model(Tensor.randomNormal([4, inputSize, inputSize, 3], using: &rng)) }
    for (bn, m) in zip(norms, momenta) { bn.momentum = m }
    model.train(wasTraining)
}

/// A zoo model with data-derived batch-norm statistics and random γ, β, re-parameterized (when it can be) and in
/// evaluation mode.
func preparedModel(_ name: String, classes: Int = 10, inputSize: Int = 64) throws -> Module {
    Randomness.seed(3)
    let model = try ModelRegistry.builtins().make(name, classCount: classes)
    randomizeBatchNorms(model, inputSize: inputSize)
    (model as? Reparameterizable)?.reparameterize()
    model.eval()
    var rng = RandomState(seed: 99)
    normalizeLogitScale(model, classifierPrefixes: ModelRegistry.builtins().card(named: name)?.classifier ?? [],
                        input: Tensor.randomNormal([4, inputSize, inputSize, 3], using: &rng))
    return model
}

/// Scales the classifier so the logits on `input` have standard deviation 3, as a trained classifier's do.
func normalizeLogitScale(_ model: Module, classifierPrefixes: [String], input: Tensor) {
    let wasTraining = model.isTraining
    model.eval()
    defer { model.train(wasTraining) }
    let logits = GradMode.withoutGrad { model(input) }.scalars
    let mean = logits.reduce(0, +) / Float(logits.count)
    let std = (logits.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(logits.count)).squareRoot()
    for (n, p) in model.namedParameters() where classifierPrefixes.contains(where: n.hasPrefix) {
        for i in 0..<p.count { p.data[i] *= 3 / max(std, 1e-6) }
    }
}

/// Largest elementwise |a − b|.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Runs ONNX models in Python's onnxruntime, with ``TestPython`` (`$CLAS_PYTHON`, else the repository's `.venv`, else
/// `python3`); tests skip with the reason when it lacks `onnxruntime`/`numpy`, and fail under `CI=true`.
struct OnnxRuntimeRunner {
    let executable: String
    let prefix: [String]

    static func find() throws -> OnnxRuntimeRunner {
        try TestPython.require(["onnxruntime", "numpy"])
        let (executable, prefix) = TestPython.command
        return OnnxRuntimeRunner(executable: executable, prefix: prefix)
    }

    /// Runs python with `arguments`; returns stdout, throws with stderr on failure.
    @discardableResult
    func python(_ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = prefix + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "python", code: Int(p.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: String(decoding: stderr, as: UTF8.self)])
        }
        return String(decoding: stdout, as: UTF8.self)
    }

    /// The model's output for an NHWC batch (fed as NCHW, as deployment code does).
    func run(model path: String, input x: Tensor, inputName: String = "x", optimize: Bool = true) throws -> [Float] {
        let dir = temporaryDirectory()
        let inPath = "\(dir)/x.bin", outPath = "\(dir)/y.bin"
        let nchw = GradMode.withoutGrad { x.permuted([0, 3, 1, 2]) }
        try Data(bytes: nchw.data, count: nchw.count * 4).write(to: URL(fileURLWithPath: inPath))
        let shape = nchw.shape.map(String.init).joined(separator: ",")
        let script = """
            import numpy as np, onnxruntime as ort
            o = ort.SessionOptions()
            o.graph_optimization_level = ort.GraphOptimizationLevel.\(optimize ? "ORT_ENABLE_ALL" : "ORT_DISABLE_ALL")
            s = ort.InferenceSession('\(path)', o, providers=['CPUExecutionProvider'])
            x = np.fromfile('\(inPath)', dtype='<f4').reshape(\(shape))
            s.run(None, {'\(inputName)': x})[0].astype('<f4').tofile('\(outPath)')
            """
        try python(["-c", script])
        let data = try Data(contentsOf: URL(fileURLWithPath: outPath))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

