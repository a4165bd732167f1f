import ClasExport
import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// The transformer operations through tracing, ONNX export (opset 17: `LayerNormalization`, `MatMul`, `Softmax`,
/// the GELU decompositions) and back: the graph replays the model, onnxruntime and SwiftClas's importer give its
/// outputs at a batch size the trace never saw.
final class TransformerExportTests: XCTestCase {
    /// Channels-last layer norm on a convolution's map (ConvNeXt's `LayerNorm2d`), tanh-GELU, a batched matmul with
    /// a stored transpose, and fused attention with a bias over tokens.
    final class TokenProbe: Module {
        let conv = Conv2d(3, 8, kernelSize: 8, stride: 8, padding: .explicit(.zero), bias: true)
        let norm2d = LayerNorm(8)
        let qkv = Linear(8, 24)
        let bias: Tensor
        let norm = LayerNorm(8, eps: 1e-6)
        let fc = Linear(8, 5)

        override init() {
            var rng = RandomState(seed: 8)
            bias = Tensor.randomNormal([1, 2, 16, 16], std: 0.5, using: &rng)
            super.init()
            for p in [norm2d.weight!, norm2d.bias!, norm.weight!, norm.bias!] {
                for i in 0..<p.count { p.data[i] += 0.3 * rng.normal() }
            }
        }

        override func forward(_ x: Tensor) -> Tensor {
            let m = norm2d(conv(x)).gelu(approximate: true)                   // [N, 4, 4, 8] NHWC map
            let t = m.reshaped([x.shape[0], 16, 8])                            // tokens
            let a = Tensor.multiHeadAttention(qkv(t), heads: 2, bias: bias)
            let gram = Tensor.batchedMatmul(t, a, transposeA: true)            // [N, 8, 8]
            let y = norm(t + a).gelu() + Tensor.batchedMatmul(t, gram) * 0.01  // [N, 16, 8]
            return fc(y.sum(axes: [1]) * (1 / 16))
        }
    }

    /// A model at 32 px with patch 8 (16 tokens): the distilled DeiT (two heads, two prefix tokens), with random
    /// LayerNorm affine terms. (The probe covers the rest; PaddleClas's 48M-parameter ViT-small would only add time.)
    static func vision(_ name: String) throws -> Module {
        Randomness.seed(4)
        let model = try ModelRegistry.builtins().make(name, classCount: 10, options: ["img_size": "32", "patch_size": "8"])
        var rng = RandomState(seed: 5)
        for (n, p) in model.namedParameters() where n.contains("norm") {
            for i in 0..<p.count { p.data[i] += 0.2 * rng.normal() }
        }
        model.eval()
        normalizeLogitScale(model, classifierPrefixes: ModelRegistry.builtins().card(named: name)?.classifier ?? [],
                            input: randn([4, 32, 32, 3], seed: 6))
        return model
    }

    func models() throws -> [(String, Module)] {
        let probe = TokenProbe()
        probe.eval()
        return [("probe", probe), ("DeiT_tiny_distilled_patch16_224", try Self.vision("DeiT_tiny_distilled_patch16_224"))]
    }

    func testTraceReplaysAndImporterRunsTheExport() throws {
        let allowed: Set<String> = ["Conv", "Reshape", "Transpose", "LayerNormalization", "MatMul", "Gemm", "Add", "Mul",
                                    "Div", "Erf", "Tanh", "Softmax", "Slice", "Concat", "ReduceSum", "Flatten"]
        for (name, model) in try models() {
            let x = randn([3, 32, 32, 3], seed: 7)
            let expected = GradMode.withoutGrad { model(x) }.scalars
            let graph = try ExportGraph.trace(model, height: 32, width: 32)
            XCTAssertEqual(GradMode.withoutGrad { GraphExecutor(graph).run(x) }.scalars, expected, name)
            let proto = try OnnxExporter.export(graph)
            let used = Set(proto.graph.node.map(\.opType))
            XCTAssertTrue(used.isSubset(of: allowed), "\(name) uses \(used.subtracting(allowed))")
            XCTAssertTrue(used.isSuperset(of: ["LayerNormalization", "MatMul", "Softmax"]), "\(name): \(used)")
            let interpreter = try OnnxInterpreter(OnnxProgram(data: try OnnxExporter.serialize(proto)))
            XCTAssertLessThanOrEqual(maxAbsDifference(try interpreter.run(nhwc: x).scalars, expected), 1e-5, name)
        }
    }

    func testOnnxRuntimeMatchesSwiftClas() throws {
        let runtime = try OnnxRuntimeRunner.find()
        let dir = temporaryDirectory()
        for (name, model) in try models() {
            let path = "\(dir)/\(name).onnx"
            try OnnxExporter.write(try OnnxExporter.export(model, height: 32, width: 32), to: path)
            let x = randn([3, 32, 32, 3], seed: 9)
            let expected = GradMode.withoutGrad { model(x) }.scalars
            let diff = maxAbsDifference(try runtime.run(model: path, input: x), expected)
            print("onnxruntime \(name): max |Δ| \(diff), max |output| \(expected.map(abs).max() ?? 0)")
            XCTAssertLessThanOrEqual(diff, 1e-4, name)
        }
    }
}
