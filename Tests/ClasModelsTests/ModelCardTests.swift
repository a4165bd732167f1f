import ClasModels
import ClasNN
import ClasTensor
import XCTest

/// Every built-in card agrees with the model it describes: the classifier's parameters and input width, the stages'
/// module names, re-parameterisation.
final class ModelCardTests: XCTestCase {
    func testCardsDescribeTheirModels() throws {
        let models = ModelRegistry.builtins()
        XCTAssertEqual(models.cards.count, 81)  // main's 62, ViT/DeiT 7, ConvNeXt 8, Swin 4
        for card in models.cards {
            let model = try models.make(card.name, classCount: 7)
            let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.0, $0.1.shape) })
            let prefix = try XCTUnwrap(card.classifier.first, card.name)
            XCTAssertEqual(parameters[prefix + "weight"], [7, card.featureChannels], card.name)
            let modules = Set(model.namedModules().map(\.0))
            for stage in card.stages { XCTAssertTrue(modules.contains(stage), "\(card.name): no module \(stage)") }
            XCTAssertEqual(card.reparameterizes, model is Reparameterizable, card.name)
            if let timm = card.aliases.first {
                XCTAssertNotNil(models.card(named: timm), "\(card.name): found by its timm name")
            }
        }
    }

    func testWeightSourcesAreTimmHubTags() {
        let cards = ModelRegistry.builtins().cards
        XCTAssertEqual(cards.first { $0.name == "MobileNetV3_small_x1_0" }?.weights, "timm/mobilenetv3_small_100.lamb_in1k")
        XCTAssertEqual(cards.first { $0.name == "ResNet50_vd" }?.weights, "timm/resnet50d.ra2_in1k")
        XCTAssertNil(cards.first { $0.name == "EfficientNetB7" }?.weights)
        XCTAssertEqual(cards.first { $0.name == "PPLCNet_x1_0" }?.weights, "timm/lcnet_100.ra2_in1k")
        XCTAssertEqual(cards.first { $0.name == "MobileNetV2" }?.weights, "timm/mobilenetv2_100.ra_in1k")
        XCTAssertEqual(cards.first { $0.name == "MobileNetV1" }?.mean, [0.5, 0.5, 0.5], "timm trained it so")
        XCTAssertEqual(cards.first { $0.name == "ResNet101_vd" }?.inputSize, 256)
        XCTAssertNil(cards.first { $0.name == "ResNet200_vd" }?.weights, "PaddleClas's depths: no timm weights")
        XCTAssertEqual(cards.first { $0.name == "DeiT_tiny_patch16_224" }?.weights, "timm/deit_tiny_patch16_224.fb_in1k")
        XCTAssertEqual(cards.first { $0.name == "vit_small_patch16_224" }?.weights,
                       "timm/vit_small_patch16_224.augreg_in21k_ft_in1k")
        XCTAssertNil(cards.first { $0.name == "ViT_small_patch16_224" }?.weights, "PaddleClas's ViT-S: no timm weights")
        XCTAssertEqual(cards.first { $0.name == "ConvNeXt_base_384" }?.weights, "timm/convnext_base.fb_in22k_ft_in1k_384")
        XCTAssertEqual(cards.first { $0.name == "ConvNeXt_base_384" }?.inputSize, 384)
        // The weights are of the card's timm model, or (PaddleClas's ConvNeXt_base_384) of the same network under the
        // timm name of its 224 px entry.
        let models = ModelRegistry.builtins()
        XCTAssertEqual(models.card(named: "swin_base_patch4_window12_384")?.inputSize, 384)
        for card in cards {
            guard let w = card.weights else { continue }
            let timmModel = String(w.dropFirst(5).prefix { $0 != "." })
            XCTAssertTrue(w.hasPrefix("timm/") && ((card.aliases.first ?? card.name) == timmModel
                || models.card(named: timmModel).map { $0.family == card.family && $0.summary == card.summary } == true), w)
        }
    }
}
