import ClasConfig
import ClasModels
import ClasNN
import ClasTensor
import XCTest

/// PaddleClas's ResNet keys the PULC recipes use: `stride_list` (the ResNet101_vd teacher of the text-line tasks),
/// `input_image_channel` (the 4-channel "ultra" configs), and the stage outputs `return_stages` selects.
final class ResNetOptionsTests: XCTestCase {
    func make(_ name: String, _ options: String = "") throws -> ResNet {
        Randomness.seed(1)
        let registry = ModelRegistry.builtins()
        let node = try ConfigLoader.parse("{name: \(name)\(options)}", path: "arch.yaml")
        let model = try registry.build(node, context: ArchContext(classCount: 3, registry: registry), path: "Arch",
                                       decoder: ConfigDecoder())
        model.eval()
        return try XCTUnwrap(model as? ResNet)
    }

    /// `[2, [2, 1], [2, 1], [2, 1], [2, 1]]`: the stem halves both sides, the max pool and layer2 … layer4 only the
    /// height, so 32×64 ends at 1×32 (the default ends at 1×2).
    func testStrideListStridesEachDirection() throws {
        let x = Tensor.zeros([1, 32, 64, 3])
        for name in ["ResNet18", "ResNet18_vd"] {
            let plain = try make(name), tall = try make(name, ", stride_list: [2, [2, 1], [2, 1], [2, 1], [2, 1]]")
            let c = 512
            XCTAssertEqual(GradMode.withoutGrad { plain.forwardFeatures(x) }.shape, [1, 1, 2, c], name)
            XCTAssertEqual(GradMode.withoutGrad { tall.forwardFeatures(x) }.shape, [1, 1, 32, c], name)
            XCTAssertEqual(GradMode.withoutGrad { tall(x) }.shape, [1, 3])
            XCTAssertEqual(plain.stateDict().map(\.0), tall.stateDict().map(\.0), "strides change no weights")
        }
        XCTAssertThrowsError(try make("ResNet18", ", stride_list: [2, 2, 2]")) {
            XCTAssertTrue("\($0)".contains("expects 5 strides (the stem, the max pool, layer2 … layer4)"), "\($0)")
        }
        XCTAssertThrowsError(try make("ResNet18", ", return_stages: True")) {
            XCTAssertTrue("\($0)".contains("name them in a model of a DistillationModel"), "\($0)")
        }
    }

    /// The `_vd` shortcut pools 2×2 "SAME" at the block's stride, averaging only pixels that exist (PaddleClas's
    /// `AvgPool2D(2, stride, padding="SAME", ceil_mode=True)`): stride (2, 1) on a 3×3 map gives 2×3.
    func testVdShortcutPoolAtAStrideOfOne() {
        let x = Tensor(shape: [1, 3, 3, 1], values: (0..<9).map(Float.init))
        XCTAssertEqual(AvgPoolCeil(stride: (2, 1))(x).scalars, [2, 3, 3.5, 6.5, 7.5, 8])
        XCTAssertEqual(AvgPoolCeil()(x).scalars, [2, 3.5, 6.5, 8], "stride 2: timm's ceil_mode pooling")
    }

    /// `input_image_channel: 4` (RGB plus NormalizeImage's zero channel) widens the stem only.
    func testFourInputChannels() throws {
        let four = try make("ResNet18", ", input_image_channel: 4")
        XCTAssertEqual(four.stateDict().first { $0.0 == "conv1.weight" }?.1.shape, [64, 7, 7, 4])
        XCTAssertEqual(GradMode.withoutGrad { four(Tensor.zeros([1, 32, 32, 4])) }.shape, [1, 3])
    }

    /// PaddleClas's `stages_pattern`: the last block of each layer.
    func testStageOutputs() throws {
        XCTAssertEqual(try make("ResNet18").stageOutputNames, ["blocks[1]", "blocks[3]", "blocks[5]", "blocks[7]"])
        XCTAssertEqual(try make("ResNet34").stageOutputNames, ["blocks[2]", "blocks[6]", "blocks[12]", "blocks[15]"])
    }
}
