import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest

final class OptionsTests: XCTestCase {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(json.utf8))
    }

    func testDefaults() throws {
        XCTAssertEqual(try decode(MobileNetV3.Options.self, "{}"), MobileNetV3.Options())
        XCTAssertEqual(try decode(EfficientNet.Options.self, "{}"), EfficientNet.Options())
        XCTAssertEqual(try decode(MobileOne.Options.self, "{}"), MobileOne.Options())
        XCTAssertEqual(try decode(ResNet.Options.self, "{}"), ResNet.Options())
        XCTAssertEqual(EfficientNet.Options().dropPathRate, 0.2)
        XCTAssertNil(EfficientNet.Options().dropRate, "nil takes the variant's dropout")
    }

    func testPaddleAndTimmSpellings() throws {
        let paddle = try decode(MobileNetV3.Options.self,
                                #"{"class_num": 102, "dropout_prob": 0.1, "class_expand": 1280, "drop_connect_rate": 0.05}"#)
        let timm = try decode(MobileNetV3.Options.self,
                              #"{"class_num": 102, "drop_rate": 0.1, "class_expand": 1280, "drop_path_rate": 0.05}"#)
        XCTAssertEqual(paddle, timm)
        XCTAssertEqual(paddle, MobileNetV3.Options(classNum: 102, dropRate: 0.1, classExpand: 1280, dropPathRate: 0.05))
        let r = try decode(ResNet.Options.self, #"{"input_image_channel": 1, "zero_init_last": false}"#)
        XCTAssertEqual(r, ResNet.Options(zeroInitLast: false, inChannels: 1))
        XCTAssertEqual(try decode(ResNet.Options.self, #"{"in_chans": 1}"#).inChannels, 1)
    }

    func testNullDropoutMeansNone() throws {
        XCTAssertEqual(try decode(MobileNetV3.Options.self, #"{"dropout_prob": null}"#).dropRate, 0)
        XCTAssertEqual(try decode(EfficientNet.Options.self, #"{"dropout_prob": null}"#).dropRate, 0)
    }

    func testBothSpellingsOrBadValuesAreErrors() {
        XCTAssertThrowsError(try decode(EfficientNet.Options.self, #"{"dropout_prob": 0.2, "drop_rate": 0.2}"#))
        XCTAssertThrowsError(try decode(ResNet.Options.self, #"{"drop_path_rate": 1.5}"#))
        XCTAssertThrowsError(try decode(ResNet.Options.self, #"{"class_num": 0}"#))
        XCTAssertThrowsError(try decode(EfficientNet.Options.self, #"{"padding_type": "VALID"}"#))
    }

    func testKnownKeys() {
        XCTAssertEqual(
            MobileNetV3.Options.knownKeys,
            ["class_num", "dropout_prob", "drop_rate", "class_expand", "drop_connect_rate", "drop_path_rate",
             "input_image_channel", "in_chans"])
        XCTAssertTrue(EfficientNet.Options.knownKeys.contains("padding_type"))
        XCTAssertTrue(EfficientNet.Options.knownKeys.contains("use_se"))
        XCTAssertEqual(Set(ResNet.Options.ignoredKeys.keys),
                       ["pretrained", "use_ssld", "data_format", "use_sync_bn", "infer_model_name", "infer_output_key",
                        "infer_add_softmax"])
        for e in ModelRegistry.builtins().entries { XCTAssertTrue(e.optionKeys.contains("class_num"), e.name) }
    }

    func testMakeHonoursOptions() throws {
        let v = try EfficientNet.variant("b0")
        let net = try EfficientNet.make(v, options: EfficientNet.Options(classNum: 7, useSE: false, paddingType: .same,
                                                                          inChannels: 1))
        XCTAssertFalse(net.stateDict().contains { $0.0.contains(".se.") })
        XCTAssertEqual(net.convStem.padding, .same)
        XCTAssertEqual(net.dropout.p, 0.2, "B0's default dropout")
        net.eval()
        XCTAssertEqual(GradMode.withoutGrad { net(Tensor.zeros([1, 65, 65, 1])) }.shape, [1, 7])
        let mnv3 = try MobileNetV3.make(.small, widthMultiplier: 1, options: MobileNetV3.Options(classNum: 3, classExpand: 1280))
        XCTAssertEqual(mnv3.classifier.weight.shape, [3, 1280])
        let resnet = ResNet.make(try ResNet.variant("ResNet50_vd"), options: ResNet.Options(classNum: 4, dropRate: 0.5))
        XCTAssertEqual(resnet.fc.weight.shape, [4, 2048])
        XCTAssertEqual(resnet.layer1.layers[0].namedModules().first { $0.0 == "downsample.0" }.map { "\(type(of: $0.1))" },
                       "Identity")
    }

    func testZooBuildersDecodeTheirFamily() throws {
        let models = ModelRegistry.builtins()
        guard let e = models.entry(named: "ResNet50_vd"), e.optionKeys == ResNet.Options.knownKeys + ["head"] else {
            return XCTFail("ResNet50_vd should build from ResNet.Options")
        }
        XCTAssertEqual(models.entry(named: "resnet50d")?.name, "ResNet50_vd")
        XCTAssertEqual(try models.make("ResNet50_vd", classCount: 5).parameterCount, 25_576_264 - 995 * 2049)
        XCTAssertEqual(models.card(named: "ResNet50_vd")?.classifier, ["fc."])
    }

    func testSharedOptionsReachEveryFamily() throws {
        for name in ["MobileNetV3_small_x0_5", "EfficientNetB0", "MobileOne_S1", "ResNet18_vd"] {
            let model = try ModelRegistry.builtins().make(name, classCount: 4,
                                                          options: ["drop_rate": "0.25", "drop_path_rate": "0.1", "in_chans": "1"])
            let drops = model.namedModules().compactMap { $0.1 as? Dropout }.map(\.p)
            XCTAssertTrue(drops.contains(0.25), "\(name) dropout \(drops)")
            let paths = model.namedModules().compactMap { $0.1 as? DropPath }.map(\.p)
            XCTAssertEqual(paths.max() ?? 0, 0.1, accuracy: 0.03, "\(name) drop path \(paths.max() ?? 0)")
            model.eval()
            XCTAssertEqual(GradMode.withoutGrad { model(Tensor.zeros([1, 64, 64, 1])) }.shape, [1, 4], name)
        }
        let b3 = try ModelRegistry.builtins().make("efficientnet_b3", classCount: 10)
        XCTAssertEqual(b3.namedModules().compactMap { $0.1 as? Dropout }.map(\.p), [0.3], "B3's default dropout")
    }
}
