import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// ViT/DeiT beyond the timm fixtures: options, the distilled heads, PaddleClas's ViT-small, the layers' names.
final class VisionTransformerTests: XCTestCase {
    func make(_ name: String, _ options: KeyValuePairs<String, String> = [:]) throws -> VisionTransformer {
        let model = try ModelRegistry.builtins().make(name, classCount: 7, options: options)
        return try XCTUnwrap(model as? VisionTransformer)
    }

    func testImageAndPatchSizeSetTheTokens() throws {
        let m = try make("deit_tiny_patch16_224", ["img_size": "32", "patch_size": "4"])
        XCTAssertEqual(m.posEmbed.shape, [1, 65, 192])
        XCTAssertEqual(m.patchEmbed.proj.weight.shape, [192, 4, 4, 3])
        m.eval()
        XCTAssertEqual(GradMode.withoutGrad { m(randn([2, 32, 32, 3])) }.shape, [2, 7])
        let names = Set(m.stateDict().map(\.0))
        for n in ["cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.11.attn.qkv.bias", "blocks.0.norm1.weight",
                  "blocks.0.mlp.fc2.bias", "norm.bias", "head.weight"] {
            XCTAssertTrue(names.contains(n), n)
        }
    }

    func testBadOptionsAreRefusedWithTheReason() throws {
        func message(_ options: KeyValuePairs<String, String>) -> String {
            do { _ = try make("DeiT_tiny_patch16_224", options); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(["attn_drop_rate": "1"]).contains("[0, 1)"))
        XCTAssertTrue(message(["img_size": "30"]).contains("not a multiple of patch_size"))
        XCTAssertTrue(message(["img_size": "0"]).contains("positive size"))
        XCTAssertTrue(message(["drop_path_rate": "1.5"]).contains("[0, 1)"))
        XCTAssertEqual(message(["attn_drop_rate": "0", "drop_rate": "0.0"]), "")
    }

    /// The model's output is the mean of the class and distillation heads (timm and PaddleClas); both are available.
    func testDistilledModelAveragesItsHeads() throws {
        Randomness.seed(3)
        let m = try make("DeiT_tiny_distilled_patch16_224", ["img_size": "16", "patch_size": "8"])
        XCTAssertEqual(m.posEmbed.shape, [1, 6, 192])
        m.eval()
        let x = randn([3, 16, 16, 3])
        let (cls, dist) = GradMode.withoutGrad { m.headLogits(x) }
        let mean = GradMode.withoutGrad { m(x) }
        let distLogits = try XCTUnwrap(dist)
        assertClose(mean.scalars, zip(cls.scalars, distLogits.scalars).map { ($0 + $1) / 2 }, tol: 1e-6)
        XCTAssertGreaterThan(maxAbsDifference(cls.scalars, distLogits.scalars), 1e-3, "two different heads")
    }

    /// PaddleClas's ViT_small: 768 wide, 8 blocks, MLP ×3, no qkv bias, attention scale 768^-0.5.
    func testPaddleClasViTSmallIsItsOwnNetwork() throws {
        let m = try make("ViT_small_patch16_224", ["img_size": "32"])
        let block = try XCTUnwrap(m.blocks.layers.first as? TransformerBlock)
        XCTAssertNil(block.attn.qkv.bias)
        XCTAssertEqual(block.attn.scale, 1 / Float(768).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(block.mlp.fc1.outFeatures, 2304)
        XCTAssertEqual(m.blocks.layers.count, 8)
        XCTAssertEqual(block.norm1.eps, 1e-5)
    }

    /// Drop path is per sample in training and off in evaluation; the gradient reaches every parameter.
    func testTrainingStepReachesEveryParameter() throws {
        Randomness.seed(5)
        let m = try make("DeiT_tiny_distilled_patch16_224", ["img_size": "16", "patch_size": "8", "drop_path_rate": "0.2",
                                                             "init_values": "0.1"])
        m.train()
        let loss = Tensor.crossEntropy(m(randn([4, 16, 16, 3])), labels: [0, 1, 2, 3])
        loss.backward()
        for (name, p) in m.namedParameters() {
            XCTAssertNotNil(p.grad, name)
        }
        XCTAssertEqual((m.blocks.layers[1] as? TransformerBlock)?.ls1?.gamma.scalars.first, 0.1)
    }
}
