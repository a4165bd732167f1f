import ClasExport
import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// The exported files run in onnxruntime (Python) and give SwiftClas's outputs on the same inputs. Skipped when no
/// Python with onnxruntime is found (`CLAS_PYTHON`, else `python3`).
final class OnnxRuntimeTests: XCTestCase {
    /// For every family (MobileOne re-parameterized): onnxruntime's logits equal SwiftClas's within 1e-4 absolute, at a
    /// batch size the trace never saw. Models have random weights scaled like trained ones (batch-norm statistics from
    /// data, logit standard deviation 3 on the compared batch); float32 rounding differs between the two engines by
    /// about as much as onnxruntime differs from itself with and without graph optimisation, which is printed alongside.
    func testOnnxRuntimeMatchesSwiftClasForEveryFamily() throws {
        let runtime = try OnnxRuntimeRunner.find()
        let dir = temporaryDirectory()
        var report: [String] = []
        for name in GraphTraceTests.families {
            let model = try preparedModel(name)
            let x = randn([3, 64, 64, 3], seed: 31)
            normalizeLogitScale(model, classifierPrefixes: ModelRegistry.builtins().card(named: name)?.classifier ?? [],
                                input: x)
            let path = "\(dir)/\(name).onnx"
            try OnnxExporter.write(try OnnxExporter.export(model, height: 64, width: 64), to: path)
            let expected = GradMode.withoutGrad { model(x) }.scalars
            let got = try runtime.run(model: path, input: x)
            let diff = maxAbsDifference(got, expected)
            let plain = maxAbsDifference(try runtime.run(model: path, input: x, optimize: false), expected)
            let ortSelf = maxAbsDifference(try runtime.run(model: path, input: x, optimize: false), got)
            report.append("\(name): \(diff) (unoptimised \(plain), ort vs itself \(ortSelf), max|logit| \(expected.map(abs).max() ?? 0))")
            XCTAssertLessThanOrEqual(diff, 1e-4, name)
        }
        print("onnxruntime max |Δlogit| per family: " + report.joined(separator: ", "))
    }

    /// Layout mapping of broadcasting, concat/slice on channels, permutes, flattening NHWC data and more.
    func testOnnxRuntimeMatchesLayoutProbe() throws {
        let runtime = try OnnxRuntimeRunner.find()
        Randomness.seed(1)
        let model = LayoutProbe()
        randomizeBatchNorms(model, inputSize: 16)
        model.eval()
        let path = temporaryDirectory() + "/probe.onnx"
        try OnnxExporter.write(try OnnxExporter.export(model, height: 16, width: 16), to: path)
        let x = randn([3, 16, 16, 3], seed: 4)
        let diff = maxAbsDifference(try runtime.run(model: path, input: x), GradMode.withoutGrad { model(x) }.scalars)
        XCTAssertLessThanOrEqual(diff, 1e-5)
    }

    /// The QDQ model computes exactly what the simulated int8 model computes when onnxruntime executes it node by node,
    /// and its weights are stored as int8. (With its default optimisations, onnxruntime fuses DequantizeLinear → Conv
    /// → QuantizeLinear into integer kernels, whose requantisation rounds some values to the neighbouring step.)
    func testQuantizedModelMatchesOnnxRuntime() throws {
        let runtime = try OnnxRuntimeRunner.find()
        let base = try preparedModel("MobileNetV3_small_x1_0")
        // Without VNNI onnxruntime's fused kernels saturate pairs of products of full-range weights
        // (``onnxRuntimeSumsU8S8Exactly``); 7-bit weights, onnxruntime's `reduce_range` advice there, do not.
        let quantized = try QuantizedModel(base, height: 64, width: 64, weightBits: onnxRuntimeSumsU8S8Exactly ? 8 : 7)
        try quantized.calibrate(method: .minmax) { body in
            for seed in 0..<3 { try body(randn([4, 64, 64, 3], seed: UInt64(40 + seed))) }
        }
        quantized.eval()
        let onnx = try OnnxExporter.export(quantized, height: 64, width: 64)
        let int8 = onnx.graph.initializer.filter { $0.dataType == 3 }.reduce(0) { $0 + $1.rawData.count }
        let float = onnx.graph.initializer.filter { $0.dataType == 1 }.reduce(0) { $0 + $1.rawData.count }
        XCTAssertGreaterThan(int8, 8 * float, "weights should be int8")
        let path = temporaryDirectory() + "/int8.onnx"
        try OnnxExporter.write(onnx, to: path)
        let x = randn([3, 64, 64, 3], seed: 50)
        let expected = GradMode.withoutGrad { quantized(x) }.scalars
        let unoptimized = try runtime.run(model: path, input: x, optimize: false)
        let optimized = try runtime.run(model: path, input: x)
        let floatLogits = GradMode.withoutGrad { base(x) }.scalars
        let quantizationEffect = maxAbsDifference(expected, floatLogits)
        let exactness = maxAbsDifference(unoptimized, expected)
        print("int8 max |Δlogit|: onnxruntime (no graph optimisation) vs simulated \(exactness), onnxruntime (default, "
              + "fused int8 kernels) vs simulated \(maxAbsDifference(optimized, expected)), simulated vs float \(quantizationEffect)")
        XCTAssertGreaterThan(quantizationEffect, 1e-2, "quantisation should change the logits")
        // README: "reproduces SwiftClas's simulated logits to 1e-5" (measured 4.1e-6).
        XCTAssertLessThanOrEqual(exactness, 1e-5)
        XCTAssertEqual(optimized.count, expected.count)
        // The fused integer kernels round some values to the neighbouring step (measured 0.6 here), but stay closer to
        // the simulated int8 model than the float model is (1.6): a wrong scale or zero point would not.
        XCTAssertLessThan(maxAbsDifference(optimized, expected), 0.5 * quantizationEffect)
    }
}
