import ClasConfig
import ClasModels
import ClasNN
import ClasTensor
import XCTest

/// PaddleClas's PULC keys of PP-LCNet (and the refusal of intermediate outputs outside distillation), through the
/// registry as a config would give them.
final class PPLCNetOptionsTests: XCTestCase {
    /// Builds `name` from `Arch` options written as YAML (`["stride_list": "[2, [2, 1], …]"]`).
    func make(_ options: KeyValuePairs<String, String>, name: String = "PPLCNet_x0_25") throws -> Module {
        Randomness.seed(1)
        let registry = ModelRegistry.builtins()
        let yaml = "{name: \(name)" + options.map { ", \($0.key): \($0.value)" }.joined() + "}"
        let node = try ConfigLoader.parse(yaml, path: "arch.yaml")
        let model = try registry.build(node, context: ArchContext(classCount: 3, registry: registry), path: "Arch",
                                       decoder: ConfigDecoder())
        model.eval()
        return model
    }

    func features(_ model: Module, _ x: Tensor) -> Tensor {
        GradMode.withoutGrad { (model as! PPLCNet).forwardFeatures(x) }
    }

    /// `stride_list: [2, [2, 1], [2, 1], [2, 1], [2, 1]]` (PULC textline_orientation) keeps the width: 32×96 → 1×48 (H
    /// halves five times, W only at the stem); the default strides give 1×3.
    func testStrideListPairsStrideEachDirection() throws {
        let x = Tensor.zeros([1, 32, 96, 3])
        XCTAssertEqual(features(try make([:]), x).shape, [1, 1, 3, 128])
        let tall = try make(["stride_list": "[2, [2, 1], [2, 1], [2, 1], [2, 1]]"])
        XCTAssertEqual(features(tall, x).shape, [1, 1, 48, 128])
        XCTAssertEqual(GradMode.withoutGrad { tall(x) }.shape, [1, 3])
        XCTAssertThrowsError(try make(["stride_list": "[2, 2, 2]"])) { error in
            XCTAssertTrue("\(error)".contains("expects 5 strides"), "\(error)")
        }
        XCTAssertThrowsError(try make(["stride_list": "[2, [2, 1, 1], 2, 2, 2]"]))
    }

    /// `use_last_conv: False` drops the head conv: the classifier reads the 128 pooled features (×0.25);
    /// `class_expand` sets the head conv's width.
    func testUseLastConvAndClassExpand() throws {
        let plain = try make(["use_last_conv": "False"])
        let names = Dictionary(uniqueKeysWithValues: plain.namedParameters().map { ($0.0, $0.1.shape) })
        XCTAssertNil(names["conv_head.weight"])
        XCTAssertEqual(names["classifier.weight"], [3, 128])
        let wide = try make(["class_expand": "512"])
        XCTAssertEqual(wide.namedParameters().first { $0.0 == "classifier.weight" }?.1.shape, [3, 512])
        XCTAssertEqual(GradMode.withoutGrad { plain(Tensor.zeros([2, 64, 64, 3])) }.shape, [2, 3])
    }

    /// `act: relu` changes every activation (the logits differ from hard-swish's on the same weights); an unknown
    /// activation is an error naming the choices.
    func testActivation() throws {
        var rng = RandomState(seed: 5)
        let x = Tensor.randomNormal([1, 64, 64, 3], using: &rng)
        let a = GradMode.withoutGrad { try! make([:])(x) }.scalars
        let b = GradMode.withoutGrad { try! make(["act": "relu"])(x) }.scalars
        XCTAssertGreaterThan(zip(a, b).map { abs($0 - $1) }.max() ?? 0, 1e-3)
        XCTAssertThrowsError(try make(["act": "gelu"])) { XCTAssertTrue("\($0)".contains("hardswish, relu or relu6")) }
    }

    /// Intermediate outputs are refused outside a DistillationModel; null, False and [] are accepted.
    func testReturnPatternsAreRefusedAtTopLevel() throws {
        for (key, value) in [("return_patterns", "[blocks3]"), ("return_stages", "True")] {
            XCTAssertThrowsError(try make([key: value])) { XCTAssertTrue("\($0)".contains("DistillationModel"), "\($0)") }
            XCTAssertThrowsError(try make([key: value], name: "MobileNetV2"))
        }
        XCTAssertNoThrow(try make(["return_stages": "False", "return_patterns": "[]"]))
    }
}
