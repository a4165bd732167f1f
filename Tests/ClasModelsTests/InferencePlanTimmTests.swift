import ClasExport
import ClasKernels
import ClasModels
import ClasNN
import ClasTensor
import XCTest

/// The inference mode (``InferencePlan``: batch norms folded, MobileOne fused, fused epilogues, packed weights,
/// Winograd) against the model's own evaluation forward on realistic networks: the timm fixtures' weights (scaled as
/// timm initialises them, BatchNorm statistics measured on real images) and their four photographs, each image's
/// logits compared relative to its own magnitude (``TimmFixture/magnitudes(of:)``).
///
/// The plan is held to the 1e-5 against the folded graph (the same batch-norm-folded network run with the
/// ordinary operations) and against the model, except where measured otherwise. Both are float32 evaluations whose
/// rounding these networks amplify ~100×. On AVX-512 the folded graph's 1×1 convolutions (OpenBLAS SKYLAKEX) round
/// like the plan's packed GEMM: 7.7e-7 apart on MobileOne-S0. On AVX2 (Zen 2; OpenBLAS ZEN sums k in two interleaved
/// accumulators in its edge tiles) each plan step lies within 4.4e-7 (MobileOne-S0) … 1.7e-6 (MobileNetV3-Large)
/// of its node's largest value, yet the logits differ by up to 2.6e-5. Against float64 the plan is as close as the
/// ordinary operations there: MobileOne-S0 3.1e-5 (folded graph 2.7e-5), EfficientNet-B0 9.0e-6 (folded 5.2e-6,
/// model 6.9e-6), MobileNetV3-Large 6.7e-6 (model 7.8e-6); the wider bounds (`avx2`) cover that and apply only
/// without AVX-512. EfficientNet-B0's folding alone moves one photograph's logits by 1.44e-5, so 3e-5 against the
/// model everywhere. (Random-weight networks amplify more: `InferencePlanTests`, 1e-4.)
final class InferencePlanTimmTests: XCTestCase {
    /// `bound` with AVX-512, `avx2` on other CPUs (the reference's BLAS rounds otherwise there, see above).
    static func bound(_ bound: Float, avx2: Float) -> Float {
        clas_cpu_features() & UInt32(CLAS_CPU_AVX512F) != 0 ? bound : avx2
    }

    func check(_ fixtureName: String, fuse: Bool = false, bound: Float = 1e-5, foldedBound: Float = 1e-5,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try TimmFixture.load(fixtureName)
        let model = try fixture.makeModel()
        _ = try fixture.fill(model)
        if fuse { try XCTUnwrap(model as? Reparameterizable).reparameterize() }
        model.eval()
        let x = try fixture.input()
        let (n, classes) = (fixture.inputShapeNCHW[0], fixture.classes)
        let expected = GradMode.withoutGrad { model(x) }.scalars
        let plan = try InferencePlan(model: model, height: x.shape[1], width: x.shape[2])
        XCTAssertEqual(plan.stepCounts.fallback, 0, "\(fixtureName):\n\(plan.summary)", file: file, line: line)
        let got = GradMode.withoutGrad { plan.run(x) }.scalars
        let graph = try ExportGraph.trace(model, height: x.shape[1], width: x.shape[2])
        let folded = GradMode.withoutGrad { GraphExecutor(OnnxExporter.inferenceGraph(graph)).run(x) }.scalars
        let magnitudes = try fixture.magnitudes(of: expected)
        var (toModel, toFolded): (Float, Float) = (0, 0)
        for i in 0..<n {
            let rows = i * classes..<(i + 1) * classes
            toModel = max(toModel, maxAbsDifference(Array(got[rows]), Array(expected[rows])) / magnitudes[i])
            toFolded = max(toFolded, maxAbsDifference(Array(got[rows]), Array(folded[rows])) / magnitudes[i])
        }
        print("inference plan \(fixtureName): max |Δlogit| \(toModel) of the image's magnitude against the model, "
              + "\(toFolded) against the folded graph")
        XCTAssertLessThanOrEqual(toModel, bound, "\(fixtureName) against the model", file: file, line: line)
        XCTAssertLessThanOrEqual(toFolded, foldedBound, "\(fixtureName) against the folded graph", file: file,
                                 line: line)
    }

    func testMobileNetV3Small() throws { try check("mobilenetv3_small_100") }
    func testMobileNetV3Large() throws { try check("mobilenetv3_large_100", bound: Self.bound(1e-5, avx2: 2e-5)) }
    func testEfficientNetB0() throws {
        try check("efficientnet_b0", bound: 3e-5, foldedBound: Self.bound(1e-5, avx2: 2e-5))
    }
    func testMobileOneS0Fused() throws {
        let bound = Self.bound(1e-5, avx2: 4e-5)
        try check("mobileone_s0", fuse: true, bound: bound, foldedBound: bound)
    }
    func testResNet18() throws { try check("resnet18") }
}
