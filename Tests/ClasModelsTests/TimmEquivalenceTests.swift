import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest

/// Our models against timm 1.0 on formula weights (see scripts/timm_fixtures.py): same state-dict names, same
/// eval-mode logits within 1e-3.
final class TimmEquivalenceTests: XCTestCase {
    static let tolerance: Float = 1e-3

    /// Builds our model for a fixture, fills it, checks names, returns (max |Δlogits|, max |logit|).
    @discardableResult
    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Float {
        let fixture = try TimmFixture.load(name)
        Randomness.seed(0)
        let model = try ModelRegistry.builtins().make(fixture.timmModel, classCount: fixture.classes)
        fixture.fill(model)
        if fixture.reparameterized {
            guard let fusable = model as? Reparameterizable else { throw XCTSkip("not reparameterizable") }
            fusable.reparameterize()
        }
        let ours = model.stateDict().map(\.0)
        XCTAssertEqual(ours.count, fixture.names.count, "\(name): tensor count", file: file, line: line)
        let missing = Set(fixture.names).subtracting(ours).sorted(), extra = Set(ours).subtracting(fixture.names).sorted()
        XCTAssertEqual(missing, [], "\(name): timm names we lack", file: file, line: line)
        XCTAssertEqual(extra, [], "\(name): names timm lacks", file: file, line: line)
        model.eval()
        let logits = GradMode.withoutGrad { model(fixture.input()) }
        XCTAssertEqual(logits.shape, [fixture.inputShapeNCHW[0], fixture.classes], file: file, line: line)
        let diff = maxAbsDifference(logits.scalars, fixture.logits)
        print("timm equivalence \(name): max |Δlogits| = \(diff) (max |logit| \(fixture.logits.map(abs).max() ?? 0))")
        XCTAssertLessThanOrEqual(diff, Self.tolerance, "\(name)", file: file, line: line)
        return diff
    }

    func testMobileNetV3Small050() throws { try check("mobilenetv3_small_050") }
    func testMobileNetV3Large075() throws { try check("mobilenetv3_large_075") }
    func testEfficientNetB0() throws { try check("efficientnet_b0") }
    func testMobileOneS0() throws { try check("mobileone_s0") }
    func testMobileOneS0Fused() throws { try check("mobileone_s0_fused") }
    func testMobileOneS4() throws { try check("mobileone_s4") }
    func testResNet18() throws { try check("resnet18") }
    func testResNet50d() throws { try check("resnet50d") }
    func testResNet50dOddSizes() throws { try check("resnet50d_72") }

    /// Loads real timm state dicts through ``TimmImport`` when `SWIFTCLAS_TIMM_DIR` points at the output of
    /// `scripts/timm_fixtures.py --safetensors DIR`.
    func testTimmImportOfSafetensors() throws {
        guard let dir = ProcessInfo.processInfo.environment["SWIFTCLAS_TIMM_DIR"] else {
            throw XCTSkip("set SWIFTCLAS_TIMM_DIR to the folder written by scripts/timm_fixtures.py --safetensors")
        }
        var checked = 0
        for name in ["mobilenetv3_small_050", "mobilenetv3_large_075", "efficientnet_b0", "mobileone_s0",
                     "mobileone_s0_fused", "mobileone_s4", "resnet18", "resnet50d", "resnet50d_72"] {
            let path = "\(dir)/\(name).safetensors", logitsPath = "\(dir)/\(name).logits.json"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let fixture = try TimmFixture.load(name)
            let model = try ModelRegistry.builtins().make(fixture.timmModel, classCount: fixture.classes)
            let report = try TimmImport.load(path, into: model)
            XCTAssertEqual(report.missing, [], name)
            XCTAssertEqual(report.unexpected, [], name)
            XCTAssertTrue(report.mismatched.isEmpty, "\(name): \(report)")
            struct Reference: Decodable { let logits: [Float] }
            let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: logitsPath)))
            model.eval()
            let logits = GradMode.withoutGrad { model(fixture.input()) }
            let diff = maxAbsDifference(logits.scalars, reference.logits)
            print("timm import \(name): \(report); max |Δlogits| = \(diff)")
            XCTAssertLessThanOrEqual(diff, Self.tolerance, name)
            checked += 1
        }
        if checked == 0 { throw XCTSkip("no .safetensors files in \(dir)") }
    }
}
