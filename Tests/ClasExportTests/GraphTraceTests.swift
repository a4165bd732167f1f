import ClasExport
import ClasModels
import ClasNN
import ClasProto
import ClasTensor
import XCTest
import _ClasTestSupport

/// A small model that uses every kind of operation whose layout the exporter must map (broadcast of a [C] tensor,
/// depthwise and strided convolutions, pools, channel concat and slice, H/W reductions, an explicit permute, a
/// flatten of NHWC data, an unfolded batch norm, l2 normalisation, log-softmax).
final class LayoutProbe: Module {
    let conv = Conv2d(3, 8, kernelSize: 3, bias: true)
    let bn = BatchNorm(8, activation: .relu6)
    let shift: Tensor
    let depthwise = Conv2d(8, 8, kernelSize: 3, stride: 2, groups: 8)
    let norm = BatchNorm(16, activation: .hardswish)
    let fc = Linear(16, 5)
    let fcFlat = Linear(8 * 8 * 16, 5)

    override init() {
        var rng = RandomState(seed: 5)
        shift = Tensor.randomNormal([8], std: 0.3, using: &rng)
        shift.requiresGrad = true
        super.init()
    }

    override func forward(_ x: Tensor) -> Tensor {
        let y = bn(conv(x)) + shift                                           // [N,16,16,8] + [8]
        let z = depthwise(y).silu()                                           // [N,8,8,8]
        let p = Tensor.maxPool2d(y, kernel: (2, 2), stride: (2, 2))
        let a = Tensor.avgPool2d(p, kernel: (3, 3), stride: (1, 1), padding: Padding2D(1), countIncludePad: false)
        let cat = Tensor.concat([z, a.gelu()], axis: 3)                       // [N,8,8,16]
        let gate = cat.narrowed(axis: 3, start: 4, length: 8).mean(axes: [1, 2], keepDims: true).sigmoid()
        let g = cat * Tensor.concat([gate, gate.tanh()], axis: 3)             // broadcast [N,1,1,16]
        let pooled = g.permuted([0, 3, 1, 2]).mean(axes: [2, 3])              // [N,16] through NCHW-ordered data
        let features = norm(pooled).l2Normalized() * 3
        return (fc(features) + fcFlat(g.flattened())).logSoftmax()
    }
}

/// A custom operation written on raw memory: the exporter cannot see it and must say so.
final class RawKernelModel: Module {
    let conv = Conv2d(3, 4, kernelSize: 1)
    override func forward(_ x: Tensor) -> Tensor {
        let stat = Tensor(uninitializedShape: [1, 1, 1, 3])
        for c in 0..<3 { stat.data[c] = x.data[c] }  // depends on the input, built outside ClasTensor's ops
        return Tensor.globalAvgPool(conv(x * stat), keepDims: false)
    }
}

final class GraphTraceTests: XCTestCase {
    static let families = ["MobileNetV3_large_x1_0", "MobileNetV3_small_x1_0", "EfficientNetB0", "MobileOne_S0", "ResNet18",
                           "PPLCNet_x0_5", "PPLCNetV2_small", "MobileNetV1_x0_25", "MobileNetV2_x0_5", "ShuffleNetV2_x0_25"]

    /// The traced graph replays the model bit for bit; the exported form (batch norms folded) agrees to rounding,
    /// has no batch norm left and runs at another batch size.
    func testTraceReplaysAndFoldedGraphAgreesForEveryFamily() throws {
        for name in GraphTraceTests.families {
            let model = try preparedModel(name)
            let x = randn([2, 64, 64, 3], seed: 21)
            let expected = GradMode.withoutGrad { model(x) }
            let graph = try ExportGraph.trace(model, height: 64, width: 64)
            XCTAssertEqual(GradMode.withoutGrad { GraphExecutor(graph).run(x) }.scalars, expected.scalars, name)
            let folded = OnnxExporter.inferenceGraph(graph)
            let batchNorms = folded.nodes.filter { if case .tensor(.batchNorm) = $0.op { return true } else { return false } }
            XCTAssertEqual(batchNorms.count, 0, "\(name): unfolded batch norms")
            let got = GradMode.withoutGrad { GraphExecutor(folded).run(x) }
            XCTAssertLessThan(maxAbsDifference(got.scalars, expected.scalars), 1e-4, name)
            let x3 = randn([3, 64, 64, 3], seed: 22)
            XCTAssertEqual(GradMode.withoutGrad { GraphExecutor(folded).run(x3) }.shape, [3, 10], name)
        }
    }

    func testLayoutProbeReplaysAndFolds() throws {
        Randomness.seed(1)
        let model = LayoutProbe()
        randomizeBatchNorms(model, inputSize: 16)
        model.eval()
        let x = randn([2, 16, 16, 3])
        let expected = GradMode.withoutGrad { model(x) }
        let graph = try ExportGraph.trace(model, height: 16, width: 16)
        XCTAssertEqual(GradMode.withoutGrad { GraphExecutor(graph).run(x) }.scalars, expected.scalars)
        let got = GradMode.withoutGrad { GraphExecutor(OnnxExporter.inferenceGraph(graph)).run(x) }
        XCTAssertLessThan(maxAbsDifference(got.scalars, expected.scalars), 1e-5)
    }

    /// Dropout and drop path disappear: the graph is the evaluation-mode pass, and the model's mode is restored.
    func testExportTracesEvaluationModeAndRestoresTraining() throws {
        Randomness.seed(2)
        let model = try ModelRegistry.builtins().make("MobileNetV3_small_x0_35", classCount: 4,
                                                      options: ["drop_rate": "0.5", "drop_path_rate": "0.3"])
        model.train()
        let graph = try ExportGraph.trace(model, height: 32, width: 32)
        XCTAssertTrue(model.isTraining)
        let x = randn([2, 32, 32, 3])
        model.eval()
        XCTAssertEqual(GradMode.withoutGrad { GraphExecutor(graph).run(x) }.scalars, GradMode.withoutGrad { model(x) }.scalars)
    }

    func testONNXUsesStandardOperatorsWithDynamicBatch() throws {
        let allowed: Set<String> = ["Conv", "Gemm", "HardSwish", "HardSigmoid", "Sigmoid", "Mul", "Add", "GlobalAveragePool",
                                    "Relu", "Clip", "Flatten", "Reshape", "MaxPool", "Softmax",
                                    "Concat", "Transpose", "Slice"]  // ShuffleNetV2's channel split and shuffle
        for name in GraphTraceTests.families {
            let onnx = try OnnxExporter.export(try preparedModel(name), height: 64, width: 64)
            XCTAssertEqual(onnx.opsetImport.first?.version, 17)
            let used = Set(onnx.graph.node.map(\.opType))
            XCTAssertTrue(used.isSubset(of: allowed), "\(name) uses \(used.subtracting(allowed))")
            let input = onnx.graph.input[0].type.tensorType.shape.dim
            XCTAssertEqual(input.map(\.dimParam), ["N", "", "", ""], name)
            XCTAssertEqual(input.dropFirst().map(\.dimValue), [3, 64, 64], name)
            XCTAssertEqual(onnx.graph.output[0].name, "logits")
            XCTAssertEqual(onnx.graph.output[0].type.tensorType.shape.dim.last?.dimValue, 10)
        }
        let mnv3 = try OnnxExporter.export(try preparedModel("MobileNetV3_small_x1_0"), height: 64, width: 64)
        let names = Set(mnv3.graph.initializer.map(\.name))
        XCTAssertTrue(names.contains("conv_stem.weight") && names.contains("conv_stem.bias"), "folded stem named after the conv")
        XCTAssertEqual(mnv3.graph.initializer.first { $0.name == "conv_stem.weight" }?.dims, [16, 3, 3, 3], "OIHW")
    }

    func testOperationsOutsideClasTensorAreReported() {
        XCTAssertThrowsError(try ExportGraph.trace(RawKernelModel(), height: 8, width: 8)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("changes with the input") && message.contains("ClasTensor"), message)
        }
    }

    func testBatchDependentConstantIsReported() {
        final class BatchOnes: Module {
            override func forward(_ x: Tensor) -> Tensor { x * Tensor.ones([x.shape[0], 1, 1, 1]) }
        }
        XCTAssertThrowsError(try ExportGraph.trace(BatchOnes(), height: 4, width: 4)) { error in
            XCTAssertTrue("\(error)".contains("batch-dependent shape"), "\(error)")
        }
    }

    func testBatchNormInTrainingModeIsReported() {
        final class AlwaysTraining: Module {
            let bn = BatchNorm(3)
            override func forward(_ x: Tensor) -> Tensor {
                Tensor.batchNorm(x, gamma: bn.weight, beta: bn.bias, runningMean: bn.runningMean, runningVar: bn.runningVar,
                                 training: true)
            }
        }
        XCTAssertThrowsError(try ExportGraph.trace(AlwaysTraining(), height: 4, width: 4)) { error in
            XCTAssertTrue("\(error)".contains("training mode"), "\(error)")
        }
    }
}
