import ClasEngine
@testable import ClasExport
import ClasKernels
import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// The inference mode (``InferencePlan``): every family's compiled forward equals the training-mode evaluation
/// forward within 1e-5 relative, at two batch sizes; every fused kernel equals its unfused reference.
final class InferencePlanTests: XCTestCase {
    /// Largest |a − b| relative to the largest |b|.
    private func relativeDifference(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        let scale = b.scalars.reduce(Float(0)) { max($0, abs($1)) }
        return maxAbsDifference(a.scalars, b.scalars) / max(scale, 1e-6)
    }

    /// The plan equals the model's training-mode evaluation forward up to float32 rounding: batch-norm folding
    /// alone (the same folded graph run with the ordinary operations) moves these random-weight networks' logits by
    /// up to 5e-5 of their largest value (EfficientNet-B0), the plan by up to 4e-5; elsewhere both stay below 1e-5.
    /// Against a float64 evaluation of the unfolded graph (a one-off check, batch 3), the model's own float32 forward
    /// is off by up to 1.9e-5 (EfficientNet-B0) and 1.7e-5 (MobileNetV3-small), the plan by 4.3e-5 and 1.1e-5: a
    /// 1e-5 bound between two float32 evaluations is below the rounding of the reference itself, hence 1e-4 here.
    func testEveryFamilyMatchesTheModelAtTwoBatchSizes() throws {
        for name in ["MobileNetV3_small_x1_0", "MobileNetV3_large_x1_0", "EfficientNetB0", "MobileOne_S0", "ResNet18",
                     "PPLCNet_x0_5", "PPLCNetV2_small"] {
            let model = try preparedModel(name, inputSize: 32)
            let graph = try ExportGraph.trace(model, height: 32, width: 32)
            let plan = try InferencePlan(graph: graph)
            let folded = GraphExecutor(OnnxExporter.inferenceGraph(graph))
            XCTAssertEqual(plan.stepCounts.fallback, 0, "\(name):\n\(plan.summary)")
            for batch in [1, 3] {
                let x = randn([batch, 32, 32, 3], seed: UInt64(batch))
                let expected = GradMode.withoutGrad { model(x) }
                let got = GradMode.withoutGrad { plan.run(x) }
                XCTAssertLessThan(relativeDifference(got, expected), 1e-4, "\(name) batch \(batch)")
                XCTAssertLessThan(relativeDifference(got, GradMode.withoutGrad { folded.run(x) }), 1e-4, name)
            }
        }
    }

    /// The plan fuses: no separate activation or addition steps remain in a ResNet, and MobileNetV3's activations
    /// all sit in convolution epilogues except the squeeze-excite gates' inputs.
    func testResNetAdditionsAndActivationsAreFused() throws {
        let plan = try InferencePlan(model: try preparedModel("ResNet18", inputSize: 32), height: 32, width: 32)
        XCTAssertFalse(plan.summary.contains("= activation"), plan.summary)
        XCTAssertFalse(plan.summary.contains("= binary"), plan.summary)
        XCTAssertTrue(plan.summary.contains("3×3 conv + add + relu"), plan.summary)
    }

    /// The runner compiles once per image shape and gives the model's outputs; a model being trained keeps its
    /// branches (MobileOne is not re-parameterised by the runner).
    func testRunnerCompilesPerShapeAndLeavesTrainingModelsAlone() throws {
        InferencePlan.install()
        Randomness.seed(5)
        let model = try ModelRegistry.builtins().make("MobileOne_S0", classCount: 4)
        let before = model.parameterCount
        model.eval()
        let runner = InferenceRunner(model: model)
        let x = randn([2, 32, 32, 3])
        let got = GradMode.withoutGrad { runner.outputs(x).logits }
        XCTAssertTrue(runner.isCompiled(for: x.shape), runner.lastFailure ?? "")
        XCTAssertEqual(model.parameterCount, before)
        XCTAssertLessThan(relativeDifference(got, GradMode.withoutGrad { model(x) }), 1e-5)
    }

    // MARK: - Fused kernels against the unfused operations

    private static let activations: [Activation] = [.none, .relu, .relu6, .hardswish, .hardsigmoid, .silu, .sigmoid]

    /// Packed GEMM + bias (+ residual) + activation = linear, add, activated; odd shapes cover partial tiles, 16-wide
    /// last panels (n mod 32 in 1…16: 5, 33, 70, 40, 208), padded 32-wide ones (24, 60), last 8 columns computed on
    /// their own with AVX2 (24 and 40 whole, 5, 33 and 70 partial), whole panels (64), the
    /// split over panels (6 rows against 7 panels), single rows (the one-row kernel: 1×70, 1×96, and the 13th row of
    /// 13), and an output over 768 KiB (2000×112), whose tiles prefetch the rows ahead.
    func testPackedGemmEpilogueMatchesUnfusedOps() {
        for (m, n, k) in [(1, 5, 3), (13, 33, 17), (50, 70, 40), (200, 40, 9), (13, 24, 17), (50, 60, 40), (9, 64, 20),
                          (6, 208, 33), (1, 70, 40), (1, 96, 301), (2000, 112, 8)] {
            let x = randn([m, k], seed: 1), w = randn([n, k], seed: 2), b = randn([n], seed: 3), r = randn([m, n], seed: 4)
            let packed = [Float](unsafeUninitializedCapacity: Int(clas_packed_weights_size(Int64(n), Int64(k)))) { p, c in
                clas_pack_weights(w.data, b.data, Int64(n), Int64(k), p.baseAddress!)
                c = p.count
            }
            for act in Self.activations {
                for residual in [false, true] {
                    let y = Tensor(uninitializedShape: [m, n])
                    packed.withUnsafeBufferPointer {
                        clas_gemm_packed(Int64(m), Int64(n), Int64(k), x.data, Int64(k), $0.baseAddress!,
                                         residual ? r.data : nil, act.rawValue, y.data)
                    }
                    var reference = Tensor.linear(x, weight: w, bias: b)
                    if residual { reference = reference + r }
                    XCTAssertLessThan(relativeDifference(y, reference.activated(act)), 1e-5, "\(m)×\(n)×\(k) \(act)")
                }
            }
        }
    }

    /// Dense, depthwise and direct (stem) convolutions with their epilogues = conv2d, add, activated. The wider
    /// inputs give the depthwise kernels blocks of 8, 4, 2 and 1 pixels with borders at stride 1 and 2, 8-pixel blocks
    /// inside the row at both strides (19, 37 and 41 wide), channel counts that end in an overlapping vector (20, 24,
    /// 35, 40) or have fewer than 16 (8: 8-wide loops), and the stem 1, 2 and 3 output-channel vectors per block (16,
    /// 64, 48, 40), its pixel blocks (4 with AVX-512, 6 with AVX2) whole, partial and at borders (copied with their
    /// zero padding, or checked value by value when the window is too large to copy: 13×13 at stride 4), 1 and 4
    /// input channels (a grey or RGBA stem), and a patch embedding (3 channels to 100, the dense path).
    func testPackedConvolutionsMatchUnfusedOps() throws {
        struct Case { var cin, cout, k, stride, pad, groups: Int; var residual: Bool; var h = 11, w = 9 }
        let cases = [Case(cin: 8, cout: 40, k: 1, stride: 1, pad: 0, groups: 1, residual: true),
                     Case(cin: 8, cout: 20, k: 1, stride: 2, pad: 0, groups: 1, residual: false),
                     Case(cin: 6, cout: 33, k: 3, stride: 1, pad: 1, groups: 1, residual: true),
                     Case(cin: 16, cout: 24, k: 3, stride: 2, pad: 1, groups: 1, residual: false),
                     Case(cin: 3, cout: 16, k: 3, stride: 2, pad: 1, groups: 1, residual: false),
                     Case(cin: 24, cout: 24, k: 5, stride: 2, pad: 2, groups: 24, residual: false),
                     Case(cin: 20, cout: 20, k: 3, stride: 1, pad: 1, groups: 20, residual: false),
                     Case(cin: 40, cout: 40, k: 3, stride: 1, pad: 1, groups: 40, residual: false, h: 5, w: 19),
                     Case(cin: 35, cout: 35, k: 5, stride: 2, pad: 2, groups: 35, residual: false, h: 6, w: 19),
                     Case(cin: 48, cout: 48, k: 5, stride: 1, pad: 2, groups: 48, residual: false, h: 5, w: 19),
                     Case(cin: 32, cout: 32, k: 3, stride: 2, pad: 1, groups: 32, residual: false, h: 6, w: 23),
                     Case(cin: 32, cout: 32, k: 3, stride: 2, pad: 1, groups: 32, residual: false, h: 5, w: 37),
                     Case(cin: 16, cout: 16, k: 5, stride: 2, pad: 2, groups: 16, residual: false, h: 5, w: 41),
                     Case(cin: 16, cout: 16, k: 7, stride: 1, pad: 3, groups: 16, residual: false, h: 5, w: 13),
                     Case(cin: 8, cout: 8, k: 3, stride: 1, pad: 1, groups: 8, residual: false, h: 5, w: 13),
                     Case(cin: 3, cout: 48, k: 3, stride: 2, pad: 1, groups: 1, residual: false, h: 6, w: 21),
                     Case(cin: 3, cout: 64, k: 7, stride: 2, pad: 3, groups: 1, residual: false, h: 6, w: 21),
                     Case(cin: 3, cout: 40, k: 3, stride: 1, pad: 1, groups: 1, residual: false, h: 4, w: 19),
                     Case(cin: 4, cout: 20, k: 3, stride: 2, pad: 1, groups: 1, residual: false, h: 5, w: 23),
                     Case(cin: 1, cout: 32, k: 5, stride: 1, pad: 2, groups: 1, residual: false, h: 4, w: 14),
                     Case(cin: 4, cout: 20, k: 13, stride: 4, pad: 6, groups: 1, residual: false, h: 14, w: 23),
                     // a patch embedding: 3 channels to more than 96 take the dense path, not the stem's
                     Case(cin: 3, cout: 100, k: 4, stride: 4, pad: 0, groups: 1, residual: false, h: 8, w: 12)]
        for (i, c) in cases.enumerated() {
            for act in Self.activations {
                let probe = ConvEpilogueProbe(
                    weight: randn([c.cout, c.k, c.k, c.cin / c.groups], seed: 5, std: 0.3), bias: randn([c.cout], seed: 6),
                    shortcut: c.residual ? randn([c.cout, 1, 1, c.cin], seed: 7, std: 0.3) : nil,
                    stride: c.stride, pad: c.pad, groups: c.groups, act: act)
                probe.eval()
                let plan = try InferencePlan(model: probe, height: c.h, width: c.w, channels: c.cin)
                // The shortcut is its own step; the convolution, the addition and the activation are one.
                XCTAssertEqual(plan.stepCounts.total, c.residual ? 2 : 1, plan.summary)
                let stem = c.groups == 1 && c.cin <= Tensor.directConvMaxChannels && c.cout <= Tensor.directConvMaxOutputs
                XCTAssertEqual(plan.summary.contains("direct conv"), stem, "case \(i): \(plan.summary)")
                for batch in [1, 2] {
                    let x = randn([batch, c.h, c.w, c.cin], seed: UInt64(i))
                    let reference = GradMode.withoutGrad { probe(x) }
                    XCTAssertLessThan(relativeDifference(GradMode.withoutGrad { plan.run(x) }, reference), 1e-5,
                                      "case \(i) batch \(batch) \(act)")
                }
            }
        }
    }

    /// A row's output does not depend on the rows around it: one row alone (the one-row kernel), among 13 (tiles of
    /// 6 and the one-row kernel) and among 14 (a tile of 2) give the same bits, so an image run alone equals itself
    /// run in a batch.
    func testPackedGemmRowsDoNotDependOnTheBatch() {
        let (n, k) = (200, 96)
        let x = randn([14, k], seed: 21), w = randn([n, k], seed: 22), b = randn([n], seed: 23)
        let packed = [Float](unsafeUninitializedCapacity: Int(clas_packed_weights_size(Int64(n), Int64(k)))) { p, c in
            clas_pack_weights(w.data, b.data, Int64(n), Int64(k), p.baseAddress!)
            c = p.count
        }
        func run(rows: Range<Int>) -> [Float] {
            let y = Tensor(uninitializedShape: [rows.count, n])
            packed.withUnsafeBufferPointer {
                clas_gemm_packed(Int64(rows.count), Int64(n), Int64(k), x.data + rows.lowerBound * k, Int64(k),
                                 $0.baseAddress!, nil, Activation.silu.rawValue, y.data)
            }
            return y.scalars
        }
        let all = run(rows: 0..<14), first13 = run(rows: 0..<13)
        for r in [0, 5, 6, 12] {
            XCTAssertEqual(run(rows: r..<(r + 1)), Array(first13[(r * n)..<((r + 1) * n)]), "row \(r) of 13")
            XCTAssertEqual(run(rows: r..<(r + 1)), Array(all[(r * n)..<((r + 1) * n)]), "row \(r) of 14")
        }
    }

    /// Squeeze-excite's x ⊙ gate folded into the 1×1 convolution that reads it (and the global average pool's own
    /// kernel) = pool, gate, multiply, conv2d, add, activated: row blocks (11×9), the split over (panel, row part)
    /// units with gates changing inside a part (5×5 at batch 3, 200 channels), 16-wide last panels (40), residuals,
    /// and a pool large enough (64×64×72) to split each image's pixels over the threads.
    func testGatedPointwiseConvolutionMatchesUnfusedOps() throws {
        for (cin, cout, h, w, residual) in [(24, 40, 11, 9, false), (24, 24, 11, 9, true), (48, 200, 5, 5, false),
                                            (40, 40, 5, 5, true), (72, 40, 64, 64, false)] {
            for act in Self.activations {
                let probe = GatedConvProbe(reduce: randn([8, 1, 1, cin], seed: 8, std: 0.3),
                                           expand: randn([cin, 1, 1, 8], seed: 11, std: 0.3),
                                           weight: randn([cout, 1, 1, cin], seed: 9, std: 0.3),
                                           bias: randn([cout], seed: 10), residual: residual, act: act)
                probe.eval()
                let plan = try InferencePlan(model: probe, height: h, width: w, channels: cin)
                XCTAssertTrue(plan.summary.contains("gate × 1×1 conv"), plan.summary)
                XCTAssertFalse(plan.summary.contains("binary"), plan.summary)
                for batch in [1, 3] {
                    let x = randn([batch, h, w, cin], seed: UInt64(cin + batch))
                    let reference = GradMode.withoutGrad { probe(x) }
                    XCTAssertLessThan(relativeDifference(GradMode.withoutGrad { plan.run(x) }, reference), 1e-5,
                                      "\(cin)→\(cout) \(h)×\(w) batch \(batch) \(act)")
                }
            }
        }
    }

    /// Later phases take larger image groups where their weights are large (ResNet18 at 224 px: groups of 2, 5 and
    /// 10 from the 28×28, 14×14 and 7×7 stages on), and a batch still gives the whole batch's outputs bit for bit.
    func testLaterPhasesTakeLargerGroups() throws {
        let plan = try InferencePlan(model: try preparedModel("ResNet18", inputSize: 32), height: 224, width: 224)
        let groups = plan.phases.filter { $0.imagesPerGroup != .max }.map(\.imagesPerGroup)
        XCTAssertEqual(groups, [1, 2, 5, 10], plan.phaseSummary)
        XCTAssertEqual(plan.phases.last?.steps.upperBound, plan.steps.count)
        let x = randn([5, 224, 224, 3], seed: 12)
        let whole = GradMode.withoutGrad { plan.run(x, groupSize: 5) }
        XCTAssertEqual(GradMode.withoutGrad { plan.run(x, groupSize: 1) }.scalars, whole.scalars)
    }

    /// A batch run image group by image group (on the kernel threads, a last group smaller than the others; the
    /// tail, whose outputs are small per image: at 32 px the 2×2 and 1×1 stages and the head after global pooling,
    /// over the gathered batch, one share per thread) gives exactly the outputs of the whole batch run layer by layer.
    func testImageGroupsGiveTheWholeBatchOutputs() throws {
        let plan = try InferencePlan(model: try preparedModel("MobileNetV3_small_x1_0", inputSize: 32), height: 32,
                                     width: 32)
        XCTAssertEqual(plan.steps[plan.tailStart...].suffix(3).map(\.fused),
                       ["globalAvgPool", "1×1 conv + hardswish", "linear"])
        XCTAssertTrue(plan.steps[plan.tailStart...].contains { plan.graph.values[$0.output].shape[1] == 2 },
                      "the 2×2 maps are in the tail")
        XCTAssertLessThan(plan.tailStart, plan.steps.count - 3)
        let x = randn([5, 32, 32, 3], seed: 11)
        let whole = GradMode.withoutGrad { plan.run(x, groupSize: 5) }
        for group in [1, 2] {
            XCTAssertEqual(GradMode.withoutGrad { plan.run(x, groupSize: group) }.scalars, whole.scalars, "group \(group)")
        }
        XCTAssertEqual(plan.groupSize(batch: 5), 5, "32 px activations fit one group")
    }
}

/// act(conv(x) + bias (+ shortcut(x))), written with the ordinary operations: the unfused reference and the model
/// the plan compiles.
private final class ConvEpilogueProbe: Module {
    let weight: Tensor, bias: Tensor, shortcut: Tensor?
    let stride: Int, pad: Int, groups: Int, act: Activation

    init(weight: Tensor, bias: Tensor, shortcut: Tensor?, stride: Int, pad: Int, groups: Int, act: Activation) {
        (self.weight, self.bias, self.shortcut, self.stride, self.pad, self.groups, self.act)
            = (weight, bias, shortcut, stride, pad, groups, act)
        super.init()
    }

    override func forward(_ x: Tensor) -> Tensor {
        let r = shortcut.map { Tensor.conv2d(x, weight: $0) }
        var y = Tensor.conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: Padding2D(pad),
                              groups: groups)
        if let r { y = y + r }
        return y.activated(act)
    }
}

/// act(conv1x1(x ⊙ gate(x)) + bias (+ x)), gate = sigmoid(W₂·relu(W₁·mean(x))) (squeeze-excite before a projection),
/// written with the ordinary operations.
private final class GatedConvProbe: Module {
    let reduce: Tensor, expand: Tensor, weight: Tensor, bias: Tensor, residual: Bool, act: Activation

    init(reduce: Tensor, expand: Tensor, weight: Tensor, bias: Tensor, residual: Bool, act: Activation) {
        (self.reduce, self.expand, self.weight, self.bias, self.residual, self.act)
            = (reduce, expand, weight, bias, residual, act)
        super.init()
    }

    override func forward(_ x: Tensor) -> Tensor {
        let squeezed = Tensor.conv2d(Tensor.globalAvgPool(x), weight: reduce).relu()
        let gate = Tensor.conv2d(squeezed, weight: expand).sigmoid()
        var y = Tensor.conv2d(x * gate, weight: weight, bias: bias)
        if residual { y = y + x }
        return y.activated(act)
    }
}
