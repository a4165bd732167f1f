import ClasExport
import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// ConvNeXt and Swin through tracing and ONNX: the trace replays the model exactly, and onnxruntime (Python,
/// skipped when absent) gives SwiftClas's logits within 1e-4. Swin runs at 32 px, so its maps are padded to whole
/// windows and the shifted windows are masked: the traced padding, roll, window partition and bias gather are all
/// exercised.
final class ModernConvNetExportTests: XCTestCase {
    static let models = ["ConvNeXt_atto", "SwinTransformer_tiny_patch4_window7_224"]

    /// A registered model with every 1-D parameter randomised (LayerNorm γ ≈ 1, β ≈ 0, layer scale γ ≈ 0.5 instead
    /// of 1e-6, so each block changes its input), logits scaled to a standard deviation of 3.
    func prepared(_ name: String) throws -> Module {
        Randomness.seed(5)
        let model = try ModelRegistry.builtins().make(name, classCount: 10)
        var rng = RandomState(seed: 17)
        for (n, p) in model.namedParameters() where p.rank == 1 {
            let base: Float = n.hasSuffix("gamma") ? 0.5 : n.hasSuffix("weight") ? 1 : 0
            for i in 0..<p.count { p.data[i] = base + 0.2 * rng.normal() }
        }
        model.eval()
        normalizeLogitScale(model, classifierPrefixes: ["head.fc."], input: randn([4, 32, 32, 3], seed: 8))
        return model
    }

    /// The trace replays the model bit for bit; its ONNX form (opset 17) run by onnxruntime at a batch size the trace
    /// never saw gives the same logits within 1e-4 (the onnxruntime half is skipped without Python).
    func testTraceAndOnnxRuntimeMatchSwiftClas() throws {
        let runtime = try? OnnxRuntimeRunner.find()
        let dir = temporaryDirectory()
        for name in Self.models {
            let model = try prepared(name)
            let graph = try ExportGraph.trace(model, height: 32, width: 32)
            let x = randn([3, 32, 32, 3], seed: 10)
            let expected = GradMode.withoutGrad { model(x) }.scalars
            XCTAssertEqual(GradMode.withoutGrad { GraphExecutor(graph).run(x) }.scalars, expected, name)
            guard let runtime else { continue }
            let onnx = try OnnxExporter.export(graph)
            XCTAssertEqual(onnx.opsetImport.first?.version, 17)
            let path = "\(dir)/\(name).onnx"
            try OnnxExporter.write(onnx, to: path)
            let diff = maxAbsDifference(try runtime.run(model: path, input: x), expected)
            print("onnxruntime \(name): max |Δlogit| \(diff), max |logit| \(expected.map(abs).max() ?? 0), "
                  + "operators \(Set(onnx.graph.node.map(\.opType)).sorted())")
            XCTAssertLessThanOrEqual(diff, 1e-4, name)
        }
        if runtime == nil { throw XCTSkip("onnxruntime not found: only the trace was checked") }
    }
}
