import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// Every registered model card against timm 1.0's numbers (from `scripts/timm_fixtures.py --counts`): parameters (1000
/// classes), parameters after fusion, MACs at 64 px and at the native size; output shape; one training step.
final class ModelZooTests: XCTestCase {
    struct Reference {
        let params: Int
        let macs64: Int
        let macsNative: Int
        var fused: Int? = nil
    }

    /// timm 1.0.31, keyed by timm name. Widths timm does not register are its generator at that width
    /// (`_gen_mobilenet_v3`, `_gen_lcnet`, `_gen_mobilenet_v1/v2`); ResNet200_vd is timm's ResNet at PaddleClas's depths;
    /// ShuffleNetV2 is torchvision's class at PaddleClas's widths (`shufflenet_v2_*`).
    static let timm: [String: Reference] = [
        "mobilenetv3_large_035": Reference(params: 2_132_216, macs64: 5_338_304, macsNative: 43_887_824),
        "mobilenetv3_large_050": Reference(params: 2_689_904, macs64: 8_109_248, macsNative: 73_663_088),
        "mobilenetv3_large_075": Reference(params: 3_993_528, macs64: 15_468_864, macsNative: 154_560_624),
        "mobilenetv3_large_100": Reference(params: 5_483_032, macs64: 21_368_960, macsNative: 216_589_760),
        "mobilenetv3_large_125": Reference(params: 7_551_976, macs64: 33_818_240, macsNative: 355_221_920),
        "mobilenetv3_small_035": Reference(params: 1_358_808, macs64: 2_480_768, macsNative: 15_951_968),
        "mobilenetv3_small_050": Reference(params: 1_593_224, macs64: 3_302_208, macsNative: 24_188_688),
        "mobilenetv3_small_075": Reference(params: 2_041_872, macs64: 5_145_024, macsNative: 43_399_344),
        "mobilenetv3_small_100": Reference(params: 2_542_856, macs64: 6_516_480, macsNative: 56_510_400),
        "mobilenetv3_small_125": Reference(params: 3_205_384, macs64: 9_695_744, macsNative: 90_800_864),
        "efficientnet_b0": Reference(params: 5_288_548, macs64: 33_246_592, macsNative: 385_814_752),
        "efficientnet_b1": Reference(params: 7_794_184, macs64: 48_695_680, macsNative: 686_802_832),
        "efficientnet_b2": Reference(params: 9_109_994, macs64: 56_292_480, macsNative: 993_561_872),
        "efficientnet_b3": Reference(params: 12_233_232, macs64: 81_706_880, macsNative: 1_827_141_392),
        "efficientnet_b4": Reference(params: 19_341_616, macs64: 127_260_512, macsNative: 4_393_771_024),
        "efficientnet_b5": Reference(params: 30_389_784, macs64: 198_978_624, macsNative: 10_266_384_752),
        "efficientnet_b6": Reference(params: 43_040_704, macs64: 283_285_728, macsNative: 19_067_593_536),
        "efficientnet_b7": Reference(params: 66_347_960, macs64: 435_309_312, macsNative: 37_745_884_192),
        "mobileone_s0": Reference(params: 5_293_272, macs64: 86_812_672, macsNative: 1_051_935_232, fused: 2_078_504),
        "mobileone_s1": Reference(params: 4_825_192, macs64: 68_935_680, macsNative: 830_062_080, fused: 4_764_840),
        "mobileone_s2": Reference(params: 7_884_648, macs64: 108_332_032, macsNative: 1_304_027_392, fused: 7_808_168),
        "mobileone_s3": Reference(params: 10_170_600, macs64: 157_155_328, macsNative: 1_902_112_768, fused: 10_078_312),
        "mobileone_s4": Reference(params: 14_951_248, macs64: 247_196_672, macsNative: 2_986_802_432, fused: 14_838_352),
        "resnet18": Reference(params: 11_689_512, macs64: 148_557_824, macsNative: 1_814_073_344),
        "resnet18d": Reference(params: 11_708_744, macs64: 168_120_320, macsNative: 2_053_713_920),
        "resnet34": Reference(params: 21_797_672, macs64: 299_552_768, macsNative: 3_663_761_408),
        "resnet34d": Reference(params: 21_816_904, macs64: 319_115_264, macsNative: 3_903_401_984),
        "resnet50": Reference(params: 25_557_032, macs64: 335_691_776, macsNative: 4_089_184_256),
        "resnet50d": Reference(params: 25_576_264, macs64: 355_254_272, macsNative: 4_328_824_832),
        "resnet101": Reference(params: 44_549_160, macs64: 638_730_240, macsNative: 7_801_405_440),
        "resnet101d": Reference(params: 44_568_392, macs64: 658_292_736, macsNative: 10_501_963_776),
        "resnet152": Reference(params: 60_192_808, macs64: 941_768_704, macsNative: 11_513_626_624),
        "resnet152d": Reference(params: 60_212_040, macs64: 961_331_200, macsNative: 15_350_579_200),
        "ResNet200_vd": Reference(params: 74_738_504, macs64: 1_246_543_872, macsNative: 15_247_122_432),
        "lcnet_025": Reference(params: 1_522_464, macs64: 2_704_640, macsNative: 16_773_440),
        "lcnet_035": Reference(params: 1_644_370, macs64: 3_633_472, macsNative: 27_357_832),
        "lcnet_050": Reference(params: 1_880_856, macs64: 5_165_568, macsNative: 44_731_008),
        "lcnet_075": Reference(params: 2_358_288, macs64: 9_449_216, macsNative: 94_786_496),
        "lcnet_100": Reference(params: 2_953_800, macs64: 14_638_080, macsNative: 155_700_480),
        "lcnet_150": Reference(params: 4_501_112, macs64: 29_697_536, macsNative: 334_188_416),
        "lcnet_200": Reference(params: 6_522_792, macs64: 50_343_936, macsNative: 580_194_816),
        "lcnet_250": Reference(params: 9_018_840, macs64: 76_577_280, macsNative: 893_719_680),
        "lcnetv2_small": Reference(params: 4_128_552, macs64: 25_438_208, macsNative: 283_463_168, fused: 4_092_840),
        "lcnetv2_base": Reference(params: 6_687_208, macs64: 51_996_672, macsNative: 600_072_192, fused: 6_624_232),
        "lcnetv2_large": Reference(params: 10_542_120, macs64: 93_214_720, macsNative: 1_092_344_320, fused: 10_444_200),
        "mobilenetv1_025": Reference(params: 470_072, macs64: 3_584_512, macsNative: 41_030_272),
        "mobilenetv1_050": Reference(params: 1_331_592, macs64: 12_674_048, macsNative: 149_497_088),
        "mobilenetv1_075": Reference(params: 2_585_560, macs64: 27_268_608, macsNative: 325_400_448),
        "mobilenetv1_100": Reference(params: 4_231_976, macs64: 47_368_192, macsNative: 568_740_352),
        "mobilenetv2_025": Reference(params: 1_519_112, macs64: 4_212_352, macsNative: 37_201_312),
        "mobilenetv2_050": Reference(params: 1_968_680, macs64: 9_104_640, macsNative: 97_131_840),
        "mobilenetv2_075": Reference(params: 2_636_424, macs64: 18_242_432, macsNative: 209_069_792),
        "mobilenetv2_100": Reference(params: 3_504_872, macs64: 25_728_512, macsNative: 300_774_272),
        "mobilenetv2_150": Reference(params: 6_858_152, macs64: 56_688_384, macsNative: 672_832_704),
        "mobilenetv2_200": Reference(params: 11_258_088, macs64: 95_202_304, macsNative: 1_137_428_224),
        "shufflenet_v2_x0_25": Reference(params: 603_688, macs64: 1_904_960, macsNative: 17_575_760),
        "shufflenet_v2_x0_33": Reference(params: 647_272, macs64: 2_303_232, macsNative: 22_454_592),
        "shufflenet_v2_x0_5": Reference(params: 1_366_792, macs64: 4_244_608, macsNative: 40_476_448),
        "shufflenet_v2_x1_0": Reference(params: 2_278_604, macs64: 12_769_632, macsNative: 144_907_992),
        "shufflenet_v2_x1_5": Reference(params: 3_503_624, macs64: 25_084_032, macsNative: 295_759_392),
        "shufflenet_v2_x2_0": Reference(params: 7_393_996, macs64: 49_493_344, macsNative: 583_253_464),
        "shufflenet_v2_swish": Reference(params: 2_278_604, macs64: 12_769_632, macsNative: 144_907_992),
        "convnext_atto": Reference(params: 3_695_520, macs64: 44_974_080, macsNative: 547_332_480),
        "convnext_femto": Reference(params: 5_217_784, macs64: 63_995_904, macsNative: 779_629_824),
        "convnext_pico": Reference(params: 9_045_672, macs64: 112_066_560, macsNative: 1_367_055_360),
        "convnext_nano": Reference(params: 15_593_560, macs64: 200_222_720, macsNative: 2_445_528_320),
        "convnext_tiny": Reference(params: 28_589_128, macs64: 364_422_144, macsNative: 4_455_531_264),
        "convnext_small": Reference(params: 50_223_688, macs64: 709_579_776, macsNative: 8_683_712_256),
        "convnext_base": Reference(params: 88_591_464, macs64: 1_254_387_712, macsNative: 15_354_729_472),
        "ConvNeXt_base_384": Reference(params: 88_591_464, macs64: 1_254_387_712, macsNative: 45_122_117_632),
        "swin_tiny_patch4_window7_224": Reference(params: 28_288_354, macs64: 737_531_904, macsNative: 4_350_425_088),
        "swin_small_patch4_window7_224": Reference(params: 49_606_258, macs64: 1_310_840_832, macsNative: 8_512_223_232),
        "swin_base_patch4_window7_224": Reference(params: 87_768_224, macs64: 2_329_518_080, macsNative: 15_126_077_440),
        "swin_base_patch4_window12_384": Reference(params: 87_903_584, macs64: 4_909_932_544, macsNative: 44_450_160_640),
        // Vision transformers: macs64 from the same network built for 64 px (img_size 64).
        "vit_tiny_patch16_224": Reference(params: 5_717_416, macs64: 92_794_368, macsNative: 1_074_851_328),
        "vit_small_patch16_224": Reference(params: 22_050_664, macs64: 366_074_880, macsNative: 4_241_218_560),
        "deit_tiny_patch16_224": Reference(params: 5_717_416, macs64: 92_794_368, macsNative: 1_074_851_328),
        "deit_small_patch16_224": Reference(params: 22_050_664, macs64: 366_074_880, macsNative: 4_241_218_560),
        "deit_tiny_distilled_patch16_224": Reference(params: 5_910_800, macs64: 98_294_784, macsNative: 1_080_351_744),
        "deit_small_distilled_patch16_224": Reference(params: 22_436_432, macs64: 387_692_544, macsNative: 4_262_836_224),
        "ViT_small_patch16_224": Reference(params: 48_754_408, macs64: 812_365_824, macsNative: 9_411_999_744),
    ]

    /// The reference row of a card: by its timm alias, else by its name (PaddleClas-only variants built with timm's
    /// classes, e.g. ResNet200_vd).
    static func reference(_ card: ModelCard) -> Reference? {
        (card.aliases + [card.name]).lazy.compactMap { timm[$0] }.first
    }

    /// Native-size forwards (MAC check) only up to this resolution: EfficientNet-B4…B7 are checked at 64 px only.
    static let nativeForwardLimit = 300
    /// A training step only for models up to this many parameters.
    static let trainStepLimit = 30_000_000

    func testEveryEntryHasReference() {
        let cards = ModelRegistry.builtins().cards
        for e in cards {
            XCTAssertNotNil(Self.reference(e), "\(e.name) has no timm reference row")
        }
        XCTAssertEqual(Set(cards.map(\.name)).count, cards.count, "duplicate names")
    }

    func testMobileNetV3Entries() throws { try checkFamily("MobileNetV3") }
    func testEfficientNetEntries() throws { try checkFamily("EfficientNet") }
    func testMobileOneEntries() throws { try checkFamily("MobileOne") }
    func testResNetEntries() throws { try checkFamily("ResNet") }
    func testPPLCNetEntries() throws { try checkFamily("PPLCNet") }
    func testPPLCNetV2Entries() throws { try checkFamily("PPLCNetV2") }
    func testMobileNetV1Entries() throws { try checkFamily("MobileNetV1") }
    func testMobileNetV2Entries() throws { try checkFamily("MobileNetV2") }
    func testShuffleNetV2Entries() throws { try checkFamily("ShuffleNetV2") }
    func testConvNeXtEntries() throws { try checkFamily("ConvNeXt") }
    func testSwinTransformerEntries() throws { try checkFamily("SwinTransformer") }
    func testViTEntries() throws { try checkFamily("ViT") }
    func testDeiTEntries() throws { try checkFamily("DeiT") }

    func checkFamily(_ family: String) throws {
        let entries = ModelRegistry.builtins().cards.filter { $0.family == family }
        XCTAssertFalse(entries.isEmpty)
        for e in entries {
            guard let ref = Self.reference(e) else { continue }
            try check(e, ref)
        }
    }

    func check(_ e: ModelCard, _ ref: Reference) throws {
        Randomness.seed(1)
        let model = try ModelRegistry.builtins().make(e.name, classCount: 1000)
        XCTAssertEqual(model.parameterCount, ref.params, "\(e.name) parameters")
        model.eval()
        // A vision transformer takes one input size: 64 px is the same network built for it.
        let small = model is VisionTransformer ? try ModelRegistry.builtins().make(e.name, options: ["img_size": "64"]) : model
        small.eval()
        var out: Tensor?
        let macs64 = MACCounter.count { out = GradMode.withoutGrad { small(Tensor.zeros([1, 64, 64, 3])) } }
        XCTAssertEqual(out?.shape, [1, 1000], "\(e.name) output shape")
        XCTAssertEqual(macs64, ref.macs64, "\(e.name) MACs at 64 px")
        var macsNative: Int?
        if e.inputSize <= Self.nativeForwardLimit {
            let r = e.inputSize
            macsNative = MACCounter.count { _ = GradMode.withoutGrad { model(Tensor.zeros([1, r, r, 3])) } }
            XCTAssertEqual(macsNative, ref.macsNative, "\(e.name) MACs at \(r) px")
        }
        if model.parameterCount <= Self.trainStepLimit { trainStep(small, e.name) }
        if let fused = ref.fused {
            guard let fusable = model as? Reparameterizable else { return XCTFail("\(e.name) should be reparameterizable") }
            XCTAssertEqual(fusable.reparameterizedParameterCount, fused, "\(e.name) predicted fused parameters")
            fusable.reparameterize()
            XCTAssertEqual(model.parameterCount, fused, "\(e.name) fused parameters")
        }
        print("\(e.name): \(model.parameterCount) params, \(macs64) MACs at 64 px, \(macsNative.map(String.init) ?? "-") at \(e.inputSize)")
    }

    /// Forward in training mode, cross-entropy, backward: finite loss, a finite gradient for every parameter.
    func trainStep(_ model: Module, _ name: String) {
        model.train()
        let x = randn([2, 64, 64, 3], seed: 3)
        let loss = Tensor.crossEntropy(model(x), labels: [3, 997])
        XCTAssertTrue(loss.item.isFinite, "\(name) loss \(loss.item)")
        loss.backward()
        for (pname, p) in model.namedParameters() {
            guard let g = p.grad else {
                XCTFail("\(name): no gradient for \(pname)")
                return
            }
            if !(0..<g.count).allSatisfy({ g.data[$0].isFinite }) {
                XCTFail("\(name): non-finite gradient in \(pname)")
                return
            }
            p.grad = nil
        }
        model.eval()
    }
}
