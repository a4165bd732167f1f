import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest

/// Every registered architecture against timm 1.0 (ShuffleNetV2, which timm lacks, against torchvision) (fixtures from scripts/timm_fixtures.py): the same state-dict names,
/// loaded through ``TimmImport``, and the same eval-mode logits for a batch of four photographs at 72×56, within 1e-4
/// of each image's largest logit (before or after the classifier's bias, whichever is larger). The weights are scaled as timm initialises them and the BatchNorm statistics come from real
/// images, so the four images' logits are far apart: a padding offset, an H/W transpose or two images swapped in the
/// batch moves the logits by far more than the tolerance.
final class TimmEquivalenceTests: XCTestCase {
    /// Largest allowed |Δlogit|, relative to the image's largest |logit| in the reference.
    static let relativeTolerance: Float = 1e-4
    /// The reference logits of any two images must differ (max over classes) by this many tolerances at least (the
    /// larger of the two images' tolerances).
    static let minimumSeparation: Float = 500
    /// Lower separations for fixtures whose random-weight features are nearly image-independent: PP-LCNetV2's stage 3
    /// (four to eight blocks without shortcuts) averages the photographs' differences away (measured: small 166×,
    /// base 11×), so only the small variant has a fixture, compared at 100×.
    static let separationOverride: [String: Float] = ["lcnetv2_small": 100]

    /// - Parameter model: the network, when the fixture's is not a registered one (else built from the fixture).
    func check(_ name: String, model: Module? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try TimmFixture.load(name)
        let model = try model ?? fixture.makeModel()
        let ours = model.stateDict().map(\.0)
        XCTAssertEqual(ours.count, fixture.names.count, "\(name): tensor count", file: file, line: line)
        XCTAssertEqual(Set(fixture.names).subtracting(ours).sorted(), [], "\(name): timm names we lack", file: file, line: line)
        XCTAssertEqual(Set(ours).subtracting(fixture.names).sorted(), [], "\(name): names timm lacks", file: file, line: line)
        let report = try fixture.fill(model)
        XCTAssertTrue(report.missing.isEmpty && report.unexpected.isEmpty && report.mismatched.isEmpty,
                      "\(name): \(report)", file: file, line: line)
        XCTAssertEqual(report.loaded, fixture.names.count, file: file, line: line)

        let x = try fixture.input()
        let n = fixture.inputShapeNCHW[0]
        model.eval()
        try compare(GradMode.withoutGrad { model(x) }, fixture.logits, magnitudes: try fixture.magnitudes(of: fixture.logits),
                    n: n, classes: fixture.classes, "\(name)", file: file, line: line)

        if let fusedLogits = fixture.fusedLogits, let fusedNames = fixture.fusedNames {
            guard let fusable = model as? Reparameterizable else {
                return XCTFail("\(name): the fixture has fused logits but the model is not Reparameterizable",
                               file: file, line: line)
            }
            fusable.reparameterize()
            XCTAssertEqual(Set(model.stateDict().map(\.0)), Set(fusedNames), "\(name) fused: names", file: file, line: line)
            model.eval()
            try compare(GradMode.withoutGrad { model(x) }, fusedLogits, magnitudes: try fixture.magnitudes(of: fusedLogits),
                        n: n, classes: fixture.classes, "\(name) fused", file: file, line: line)
        }
    }

    func compare(_ logits: Tensor, _ reference: [Float], magnitudes: [Float], n: Int, classes: Int, _ label: String,
                 file: StaticString, line: UInt) throws {
        XCTAssertEqual(logits.shape, [n, classes], label, file: file, line: line)
        guard logits.shape == [n, classes] else { return }
        let ours = logits.scalars
        let row = { (v: [Float], i: Int) in Array(v[i * classes..<(i + 1) * classes]) }
        // Each image's tolerance is relative to its own logits' magnitude (``TimmFixture/magnitudes(of:)``): one image
        // with large features must not loosen the check of the others.
        let tolerances = magnitudes.map { Self.relativeTolerance * $0 }
        // The reference must separate the images, or the comparison could not see a spatial or batch bug.
        var separation = Float.infinity
        for i in 0..<n {
            for j in (i + 1)..<n {
                let gap = maxAbsDifference(row(reference, i), row(reference, j)) / max(tolerances[i], tolerances[j])
                separation = min(separation, gap)
            }
        }
        XCTAssertGreaterThan(separation, Self.separationOverride[label.components(separatedBy: " ")[0]] ?? Self.minimumSeparation,
                             "\(label): the reference logits of two images are too close to tell apart", file: file, line: line)
        var worst: Float = 0
        for i in 0..<n {
            let diff = maxAbsDifference(row(ours, i), row(reference, i))
            worst = max(worst, diff / tolerances[i])
            XCTAssertLessThanOrEqual(diff, tolerances[i], "\(label), image \(i): logits differ from timm's (max |Δ| \(diff))",
                                     file: file, line: line)
        }
        print("timm equivalence \(label): max |Δlogit| = \(worst) × the tolerance (1e-4 of the image's logit magnitude); "
              + "the closest two images differ by \(Int(separation))× the tolerance")
    }

    /// Deep variants whose every layer kind is covered by a fixture of a shallower or sibling variant (their depth makes
    /// a fixture slow and adds no new code path): the name and the fixture that covers it.
    static let coveredBy = ["PPLCNetV2_base": "lcnetv2_small", "PPLCNetV2_large": "lcnetv2_small",
                            "ConvNeXt_femto": "convnext_atto", "ConvNeXt_pico": "convnext_atto",
                            "ConvNeXt_nano": "convnext_atto",
                            // convnext_tiny's layers, deeper and (base) wider
                            "ConvNeXt_small": "convnext_tiny", "ConvNeXt_base_224": "convnext_tiny",
                            "ConvNeXt_base_384": "convnext_tiny",
                            // swin_tiny's layers, deeper and (base) wider; window 12 at 384 px: the reduced fixture
                            "SwinTransformer_small_patch4_window7_224": "swin_tiny_patch4_window7_224",
                            "SwinTransformer_base_patch4_window7_224": "swin_tiny_patch4_window7_224",
                            "SwinTransformer_base_patch4_window12_384": "swin_reduced_window12_384",
                            // the same networks as deit_tiny / vit_small (timm's and PaddleClas's definitions agree)
                            "ViT_tiny_patch16_224": "deit_tiny_patch16_224", "DeiT_small_patch16_224": "vit_small_patch16_224",
                            // deit_tiny_distilled's layers at deit_small's width
                            "DeiT_small_distilled_patch16_224": "deit_tiny_distilled_patch16_224",
                            // PaddleClas's wider ViT_small (768 wide, no qkv bias, qk_scale): the same layers and
                            // options, whose scale and missing bias VisionTransformerTests check
                            "ViT_small_patch16_224": "vit_small_patch16_224"]

    /// Every architecture of the model zoo has a fixture.
    func testEveryRegisteredModelHasAFixture() throws {
        for entry in ModelRegistry.builtins().cards where Self.coveredBy[entry.name] == nil {
            let found = ([entry.name] + entry.aliases).contains {
                Bundle.module.url(forResource: "Fixtures/timm/\($0)", withExtension: "json") != nil
            }
            XCTAssertTrue(found, "\(entry.name) (\(entry.aliases)): no Fixtures/timm fixture; add it to scripts/timm_fixtures.py")
        }
    }

    func testMobileNetV3Large035() throws { try check("mobilenetv3_large_035") }
    func testMobileNetV3Large050() throws { try check("mobilenetv3_large_050") }
    func testMobileNetV3Large075() throws { try check("mobilenetv3_large_075") }
    func testMobileNetV3Large100() throws { try check("mobilenetv3_large_100") }
    func testMobileNetV3Large125() throws { try check("mobilenetv3_large_125") }
    func testMobileNetV3Small035() throws { try check("mobilenetv3_small_035") }
    func testMobileNetV3Small050() throws { try check("mobilenetv3_small_050") }
    func testMobileNetV3Small075() throws { try check("mobilenetv3_small_075") }
    func testMobileNetV3Small100() throws { try check("mobilenetv3_small_100") }
    func testMobileNetV3Small125() throws { try check("mobilenetv3_small_125") }
    func testEfficientNetB0() throws { try check("efficientnet_b0") }
    func testEfficientNetB1() throws { try check("efficientnet_b1") }
    func testEfficientNetB2() throws { try check("efficientnet_b2") }
    func testEfficientNetB3() throws { try check("efficientnet_b3") }
    func testEfficientNetB4() throws { try check("efficientnet_b4") }
    func testEfficientNetB5() throws { try check("efficientnet_b5") }
    func testEfficientNetB6() throws { try check("efficientnet_b6") }
    func testEfficientNetB7() throws { try check("efficientnet_b7") }
    func testMobileOneS0AndFused() throws { try check("mobileone_s0") }
    func testMobileOneS1AndFused() throws { try check("mobileone_s1") }
    func testMobileOneS2AndFused() throws { try check("mobileone_s2") }
    func testMobileOneS3AndFused() throws { try check("mobileone_s3") }
    func testMobileOneS4AndFused() throws { try check("mobileone_s4") }
    func testResNet18() throws { try check("resnet18") }
    func testResNet18d() throws { try check("resnet18d") }
    func testResNet34() throws { try check("resnet34") }
    func testResNet34d() throws { try check("resnet34d") }
    func testResNet50() throws { try check("resnet50") }
    func testResNet50d() throws { try check("resnet50d") }
    func testResNet101() throws { try check("resnet101") }
    // The deepest ResNets with their residual branches' last BatchNorm damped as training leaves it
    // (scripts/timm_fixtures.py RESIDUAL_DAMPING); ResNet200_vd is PaddleClas's depths on timm's ResNet.
    func testResNet101d() throws { try check("resnet101d") }
    func testResNet152() throws { try check("resnet152") }
    func testResNet152d() throws { try check("resnet152d") }
    func testResNet200vd() throws { try check("ResNet200_vd") }
    func testPPLCNet025() throws { try check("lcnet_025") }
    func testPPLCNet035() throws { try check("lcnet_035") }
    func testPPLCNet050() throws { try check("lcnet_050") }
    func testPPLCNet075() throws { try check("lcnet_075") }
    func testPPLCNet100() throws { try check("lcnet_100") }
    func testPPLCNet150() throws { try check("lcnet_150") }
    func testPPLCNet200() throws { try check("lcnet_200") }
    func testPPLCNet250() throws { try check("lcnet_250") }
    func testPPLCNetV2SmallAndFused() throws { try check("lcnetv2_small") }
    func testMobileNetV1025() throws { try check("mobilenetv1_025") }
    func testMobileNetV1050() throws { try check("mobilenetv1_050") }
    func testMobileNetV1075() throws { try check("mobilenetv1_075") }
    func testMobileNetV1100() throws { try check("mobilenetv1_100") }
    func testMobileNetV2025() throws { try check("mobilenetv2_025") }
    func testMobileNetV2050() throws { try check("mobilenetv2_050") }
    func testMobileNetV2075() throws { try check("mobilenetv2_075") }
    func testMobileNetV2100() throws { try check("mobilenetv2_100") }
    func testMobileNetV2150() throws { try check("mobilenetv2_150") }
    func testMobileNetV2200() throws { try check("mobilenetv2_200") }
    func testShuffleNetV2X025() throws { try check("shufflenet_v2_x0_25") }
    func testShuffleNetV2X033() throws { try check("shufflenet_v2_x0_33") }
    func testShuffleNetV2X05() throws { try check("shufflenet_v2_x0_5") }
    func testShuffleNetV2X10() throws { try check("shufflenet_v2_x1_0") }
    func testShuffleNetV2X15() throws { try check("shufflenet_v2_x1_5") }
    func testShuffleNetV2X20() throws { try check("shufflenet_v2_x2_0") }
    func testShuffleNetV2Swish() throws { try check("shufflenet_v2_swish") }
    func testConvNeXtAtto() throws { try check("convnext_atto") }
    func testConvNeXtTiny() throws { try check("convnext_tiny") }
    func testSwinTiny() throws { try check("swin_tiny_patch4_window7_224") }
    /// Swin-B/384's window 12 and 384 px window plan (shifts of 6, 23×23 bias tables) on a narrow, shallow network:
    /// timm's `SwinTransformer(**SWIN_REDUCED)` of scripts/timm_fixtures.py.
    func testSwinWindow12Reduced() throws {
        let model = SwinTransformer(embedDim: 32, depths: [2, 2, 2, 2], heads: [1, 2, 4, 8], window: 12, imageSize: 384,
                                    classCount: 10, dropPathRate: 0)
        let blocks = model.layers_.flatMap { $0.blocks.layers.compactMap { $0 as? SwinBlock } }
        XCTAssertEqual(blocks.map(\.window.0), [12, 12, 12, 12, 12, 12, 12, 12])
        XCTAssertEqual(blocks.map(\.shift.0), [0, 6, 0, 6, 0, 6, 0, 0])
        try check("swin_reduced_window12_384", model: model)
    }
    func testDeiTTiny() throws { try check("deit_tiny_patch16_224") }
    func testDeiTTinyDistilled() throws { try check("deit_tiny_distilled_patch16_224") }
    func testViTSmall() throws { try check("vit_small_patch16_224") }
}
