import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

final class TimmImportTests: XCTestCase {
    /// Our weights written in timm's layout (plus a `num_batches_tracked`) load back into a fresh model exactly.
    func testRoundTripThroughTimmLayout() throws {
        Randomness.seed(1)
        let source = try ModelRegistry.builtins().make("mobilenetv3_small_050", classCount: 10)
        let dir = temporaryDirectory()
        let path = dir + "/m.safetensors"
        var tensors = TimmImport.timmStateDict(of: source)
        XCTAssertEqual(tensors.first { $0.0 == "conv_stem.weight" }?.1.shape, [16, 3, 3, 3], "OIHW")
        tensors.append(("bn1.num_batches_tracked", Tensor(7)))
        try Safetensors.write(tensors, to: path)
        Randomness.seed(2)
        let target = try ModelRegistry.builtins().make("mobilenetv3_small_050", classCount: 10)
        let report = try TimmImport.load(path, into: target)
        XCTAssertEqual(report.loaded, source.stateDict().count)
        XCTAssertEqual(report.missing + report.unexpected, [])
        source.eval()
        target.eval()
        let x = randn([1, 64, 64, 3])
        XCTAssertEqual(GradMode.withoutGrad { source(x) }.scalars, GradMode.withoutGrad { target(x) }.scalars)
    }

    func testReportsMissingAndUnexpected() throws {
        let dir = temporaryDirectory()
        let path = dir + "/r.safetensors"
        try Safetensors.write(TimmImport.timmStateDict(of: try ModelRegistry.builtins().make("resnet18", classCount: 10)), to: path)
        let report = try TimmImport.load(path, into: try ModelRegistry.builtins().make("resnet18d", classCount: 10))
        XCTAssertTrue(report.missing.contains("conv1.0.weight"))
        XCTAssertTrue(report.unexpected.contains("conv1.weight"))
    }

    func testFusedFileFusesTheModel() throws {
        let fused = try ModelRegistry.builtins().make("mobileone_s0", classCount: 10)
        (fused as? Reparameterizable)?.reparameterize()
        let path = temporaryDirectory() + "/f.safetensors"
        try Safetensors.write(TimmImport.timmStateDict(of: fused), to: path)
        let target = try ModelRegistry.builtins().make("mobileone_s0", classCount: 10)
        let report = try TimmImport.load(path, into: target)
        XCTAssertEqual(report.missing + report.unexpected, [])
        XCTAssertEqual(target.parameterCount, 2_078_504 - 990 * 1025)
    }
}
