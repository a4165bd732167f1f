import ClasEngine
@testable import ClasExport
import ClasKernels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// The Winograd F(4×4, 3×3) convolution of the inference plan equals conv2d (+ bias, residual, activation) on odd
/// sizes, borders, padding and channel counts that are not multiples of 16; a ResNet compiled with it everywhere
/// still equals the training-mode forward.
final class WinogradConvTests: XCTestCase {
    /// Largest |a − b| relative to the largest |b|.
    private func relativeDifference(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        let scale = b.scalars.reduce(Float(0)) { max($0, abs($1)) }
        return maxAbsDifference(a.scalars, b.scalars) / max(scale, 1e-6)
    }

    /// The kernel against conv2d: partial tiles on both axes (5×7, 9×6, 13×11), no padding and asymmetric padding,
    /// a single partial tile (2×3), channel tails (3, 20, 33 inputs; 5, 33, 48 outputs: panels padded to 32 and
    /// vectors of 1…15 channels), batch 1 and 2, with and without residual, every activation the epilogue applies
    /// in registers and one it does not (GELU).
    func testKernelMatchesConv2dWithEpilogue() {
        struct Case { var cin, cout, h, w: Int; var pad: Padding2D }
        let cases = [Case(cin: 20, cout: 33, h: 5, w: 7, pad: Padding2D(1)),
                     Case(cin: 33, cout: 48, h: 9, w: 6, pad: Padding2D(1)),
                     Case(cin: 3, cout: 5, h: 13, w: 11, pad: .zero),
                     Case(cin: 16, cout: 32, h: 2, w: 3, pad: Padding2D(1)),
                     Case(cin: 64, cout: 70, h: 12, w: 12, pad: Padding2D(top: 2, bottom: 0, left: 0, right: 1))]
        for (i, c) in cases.enumerated() {
            let w = randn([c.cout, 3, 3, c.cin], seed: 21, std: 0.3), b = randn([c.cout], seed: 22)
            let packed = PackedWeights(count: Int(clas_winograd_packed_size(Int64(c.cout), Int64(c.cin)))) {
                clas_winograd_pack(w.data, b.data, Int64(c.cout), Int64(c.cin), $0)
            }
            let a = ConvAttributes(kernel: (3, 3), stride: (1, 1), padding: c.pad, dilation: (1, 1))
            for batch in [1, 2] {
                let x = randn([batch, c.h, c.w, c.cin], seed: UInt64(i))
                let conv = Tensor.conv2d(x, weight: w, bias: b, padding: c.pad)
                let r = randn(conv.shape, seed: 23)
                for act in [Activation.none, .relu, .hardswish, .silu, .gelu] {
                    for residual in [false, true] {
                        var g = a.geometry(x.shape)
                        let y = Tensor(uninitializedShape: conv.shape)
                        clas_conv_winograd(&g, x.data, packed.pointer, Int64(c.cout), residual ? r.data : nil,
                                           act.rawValue, y.data)
                        let reference = (residual ? conv + r : conv).activated(act)
                        XCTAssertLessThan(relativeDifference(y, reference), 2e-5,
                                          "case \(i) batch \(batch) \(act) residual \(residual)")
                    }
                }
            }
        }
    }

    /// ResNet18 with every eligible convolution by Winograd (8×8 down to 1×1 outputs at 32 px) equals the
    /// training-mode forward within the bound of `InferencePlanTests` (1e-4), at batch 1 and 3.
    func testResNetWithWinogradMatchesTheModel() throws {
        let saved = InferenceCompiler.winogradPolicy
        defer { InferenceCompiler.winogradPolicy = saved }
        InferenceCompiler.winogradPolicy = .always
        let model = try preparedModel("ResNet18", inputSize: 32)
        let plan = try InferencePlan(model: model, height: 32, width: 32)
        XCTAssertTrue(plan.summary.contains("3×3 winograd conv + add + relu"), plan.summary)
        XCTAssertEqual(plan.stepCounts.fallback, 0)
        for batch in [1, 3] {
            let x = randn([batch, 32, 32, 3], seed: UInt64(batch))
            let expected = GradMode.withoutGrad { model(x) }
            XCTAssertLessThan(relativeDifference(GradMode.withoutGrad { plan.run(x) }, expected), 1e-4, "batch \(batch)")
        }
    }

    /// The automatic choice: ResNet18 at 224 px takes Winograd for its 13 3×3 stride-1 convolutions (56×56 to 7×7
    /// outputs; the stride-2 ones keep im2col), at 32 px (8×8 and smaller) for the 8×8 stage only (4); MobileNetV3
    /// has no dense 3×3 stride-1 convolution.
    func testAutomaticChoice() throws {
        let resnet = try InferencePlan(model: try preparedModel("ResNet18", inputSize: 32), height: 224, width: 224)
        XCTAssertEqual(resnet.summary.components(separatedBy: "winograd").count - 1, 13, resnet.summary)
        let small = try InferencePlan(model: try preparedModel("ResNet18", inputSize: 32), height: 32, width: 32)
        XCTAssertEqual(small.summary.components(separatedBy: "winograd").count - 1, 4, small.summary)
        let mnv3 = try InferencePlan(model: try preparedModel("MobileNetV3_small_x1_0", inputSize: 32), height: 64,
                                     width: 64)
        XCTAssertFalse(mnv3.summary.contains("winograd"), mnv3.summary)
    }
}
