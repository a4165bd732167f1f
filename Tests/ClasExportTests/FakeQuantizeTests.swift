import ClasExport
import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// The fake-quantisation op and the quantised model. The op's gradient is the straight-through estimator, which is
/// by definition not the derivative of the (piecewise constant) function, so it is checked against its definition
/// instead of finite differences.
final class FakeQuantizeTests: XCTestCase {
    func testRoundsHalfToEvenAndSaturates() {
        let q = QuantizationParameters(scale: [0.5], zeroPoint: [2], qmin: 0, qmax: 10)
        let x = Tensor(shape: [7], values: [-2, -1.25, 0.25, 0.75, 3.9, 5, 1.26])
        // x/0.5 = -4, -2.5, 0.5, 1.5, 7.8, 10, 2.52 → round-half-even -4, -2, 0, 2, 8, 10, 3 → +2 → clamp [0, 10]
        XCTAssertEqual(x.fakeQuantized(q).scalars, [-1, -1, 0, 1, 4, 4, 1.5])
    }

    func testStraightThroughGradientPassesOnlyInsideTheRange() {
        let q = QuantizationParameters(scale: [0.5], zeroPoint: [2], qmin: 0, qmax: 10)
        let x = Tensor(shape: [5], values: [-2, -0.9, 0.3, 3.9, 5], requiresGrad: true)
        let weights = Tensor(shape: [5], values: [1, 2, 3, 4, 5])
        (x.fakeQuantized(q) * weights).sum().backward()
        XCTAssertEqual(x.grad?.scalars, [0, 2, 3, 4, 0])
    }

    func testPerChannelSymmetricWeights() {
        let w = Tensor(shape: [2, 1, 1, 2], values: [1, -3, 0, 0])
        let q = QuantizationParameters.symmetricInt8(perChannelOf: w)
        XCTAssertEqual(q.scale, [3.0 / 127, 1])
        XCTAssertEqual(q.zeroPoint, [0, 0])
        let y = w.fakeQuantized(q).scalars
        XCTAssertEqual(y[1], -3, accuracy: 1e-6)
        XCTAssertEqual(y[0], 42 * 3.0 / 127, accuracy: 1e-6)  // 1 / (3/127) = 42.33 → 42
        XCTAssertEqual(Array(y[2...]), [0, 0])
    }

    func testActivationRangeAlwaysContainsZero() {
        let positive = QuantizationParameters.asymmetricUInt8(low: 0.5, high: 2)
        XCTAssertEqual(positive.scale[0], 2.0 / 255, accuracy: 1e-9)
        XCTAssertEqual(positive.zeroPoint, [0])
        let mixed = QuantizationParameters.asymmetricUInt8(low: -1, high: 3)
        XCTAssertEqual(mixed.zeroPoint, [64])  // 1 / (4/255) = 63.75
        XCTAssertEqual(Tensor(shape: [1], values: [0]).fakeQuantized(mixed).item, 0)
    }

    /// 7-bit weights (`Slim.quant.reduce_range`): values in −64…63 with scale max|w| / 63, in the simulated model, in
    /// the exported QDQ file and in the checkpoint (`quant.weight_bits`, which the adapters read back).
    func testReducedRangeWeights() throws {
        let w = Tensor(shape: [2, 3], values: [0.63, -0.2, 0.1, -1.26, 0.5, 1.0])
        let q = QuantizationParameters.symmetricInt8(perChannelOf: w, axis: 0, bits: 7)
        XCTAssertEqual([q.qmin, q.qmax], [-64, 63])
        XCTAssertEqual(q.scale[0], 0.01, accuracy: 1e-7)
        XCTAssertEqual(q.scale[1], 0.02, accuracy: 1e-7)
        XCTAssertEqual(QuantizationParameters.symmetricInt8(perChannelOf: w, axis: 0).qmax, 127)
        let base = try preparedModel("MobileNetV3_small_x0_35", classes: 4, inputSize: 32)
        let x = randn([4, 32, 32, 3], seed: 13)
        var outputs: [[Float]] = []
        for bits in [8, 7] {
            let quantized = try QuantizedModel(base, height: 32, width: 32, weightBits: bits)
            try quantized.calibrate(method: .minmax) { body in try body(x) }
            quantized.eval()
            XCTAssertEqual(quantized.weightBits, bits)
            let state = Dictionary(uniqueKeysWithValues: quantized.stateDict())
            XCTAssertEqual(QuantizedModel.weightBits(of: state), bits)
            let onnx = try OnnxExporter.export(quantized, height: 32, width: 32)
            let int8 = onnx.graph.initializer.filter { $0.dataType == 3 }.flatMap { $0.rawData.map { Int8(bitPattern: $0) } }
            XCTAssertFalse(int8.isEmpty)
            XCTAssertEqual(int8.min(), bits == 7 ? -63 : -127, "each channel's largest |w| maps to ±qmax")
            XCTAssertEqual(int8.max(), bits == 7 ? 63 : 127)
            outputs.append(GradMode.withoutGrad { quantized(x) }.scalars)
        }
        XCTAssertEqual(QuantizedModel.weightBits(of: [:]), 8, "checkpoints from before the key are 8-bit")
        XCTAssertGreaterThan(maxAbsDifference(outputs[0], outputs[1]), 0, "the bits change the simulated model")
    }

    /// Calibration sets ranges from the data, and the int8 model stays close to the float one.
    func testCalibratedModelTracksFloatModel() throws {
        let base = try preparedModel("MobileNetV3_small_x0_35", classes: 4, inputSize: 32)
        let quantized = try QuantizedModel(base, height: 32, width: 32)
        XCTAssertEqual(quantized.quantizers.count, quantized.graph.nodes.filter {
            if case .activationFakeQuant = $0.op { return true } else { return false }
        }.count)
        XCTAssertFalse(quantized.quantizers.contains { $0.isCalibrated })
        try quantized.calibrate(method: .percentile, percentile: 99.9) { body in try body(randn([8, 32, 32, 3], seed: 9)) }
        XCTAssertTrue(quantized.quantizers.allSatisfy { $0.isCalibrated && $0.isEnabled })
        let stem = try XCTUnwrap(quantized.quantizers.first)
        XCTAssertEqual(stem.site, "conv_stem")
        let x = randn([8, 32, 32, 3], seed: 9)
        let (lo, hi) = (x.scalars.min() ?? 0, x.scalars.max() ?? 0)
        XCTAssertTrue(stem.range.data[0] > lo && stem.range.data[1] < hi, "percentile clips the extremes")
        quantized.eval()
        let a = GradMode.withoutGrad { quantized(x) }.scalars, b = GradMode.withoutGrad { base(x) }.scalars
        let correlation = pearson(a, b)
        XCTAssertGreaterThan(maxAbsDifference(a, b), 0)
        XCTAssertGreaterThan(correlation, 0.75, "random networks quantise worse than trained ones, but not this badly")
        XCTAssertTrue(quantized.stateDict().contains { $0.0 == "quant.conv_stem.range" })
        XCTAssertTrue(quantized.stateDict().contains { $0.0 == "conv_stem.weight" }, "the float model's names are kept")
    }

    /// Quantisation-aware training: gradients reach the float model's weights and batch-norm parameters through
    /// the folded, fake-quantised graph, and a few steps lower the loss.
    func testQuantizationAwareTrainingLowersLoss() throws {
        let base = try preparedModel("MobileNetV3_small_x0_35", classes: 4, inputSize: 32)
        let quantized = try QuantizedModel(base, height: 32, width: 32)
        let x = randn([8, 32, 32, 3], seed: 12)
        try quantized.calibrate(method: .minmax) { body in try body(x) }
        quantized.train()
        let labels = [0, 1, 2, 3, 0, 1, 2, 3]
        var losses: [Float] = []
        let parameters = quantized.namedParameters()
        for _ in 0..<6 {
            for (_, p) in parameters { p.grad = nil }
            let loss = Tensor.crossEntropy(quantized(x), labels: labels)
            loss.backward()
            losses.append(loss.item)
            for (_, p) in parameters { if let g = p.grad { for i in 0..<p.count { p.data[i] -= 1e-4 * g.data[i] } } }
        }
        print("QAT losses: \(losses)")
        let gamma = try XCTUnwrap(parameters.first { $0.0 == "bn1.weight" }?.1.grad)
        XCTAssertGreaterThan(gamma.scalars.map(abs).max() ?? 0, 0, "batch-norm γ is trained through the fold")
        XCTAssertLessThan(losses.last ?? 0, losses.first ?? 0)
    }

    /// The folded graph (what quantisation-aware training runs, without the fake quantisation) has the model's
    /// gradients: folding is differentiable with respect to the weights and batch-norm parameters.
    func testFoldedGraphHasTheModelsGradients() throws {
        let model = try preparedModel("MobileNetV3_small_x0_35", classes: 4, inputSize: 32)
        let graph = try ExportGraph.trace(model, height: 32, width: 32)
        XCTAssertGreaterThan(graph.foldBatchNorms(), 10)
        let x = randn([4, 32, 32, 3], seed: 13), labels = [0, 1, 2, 3]
        let parameters = model.namedParameters()
        func gradients(_ forward: () -> Tensor) -> [String: [Float]] {
            for (_, p) in parameters { p.grad = nil }
            Tensor.crossEntropy(forward(), labels: labels).backward()
            var out: [String: [Float]] = [:]
            for (name, p) in parameters { out[name] = p.grad?.scalars }
            return out
        }
        let expected = gradients { model(x) }
        let got = gradients { GraphExecutor(graph).run(x) }
        XCTAssertEqual(Set(got.keys), Set(expected.keys))
        for (name, e) in expected {
            let g = try XCTUnwrap(got[name], name)
            let scale = max(e.map(abs).max() ?? 0, 1e-3)
            XCTAssertLessThan(maxAbsDifference(g, e) / scale, 1e-3, name)
        }
    }

    private func pearson(_ a: [Float], _ b: [Float]) -> Double {
        let n = Double(a.count)
        let ma = a.reduce(0) { $0 + Double($1) } / n, mb = b.reduce(0) { $0 + Double($1) } / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for (x, y) in zip(a, b) {
            sab += (Double(x) - ma) * (Double(y) - mb)
            saa += (Double(x) - ma) * (Double(x) - ma)
            sbb += (Double(y) - mb) * (Double(y) - mb)
        }
        return sab / max((saa * sbb).squareRoot(), 1e-12)
    }
}
