import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// `attn_drop_rate` in ViT/DeiT and Swin: read from `Arch`, applied in training only, drawn from the training stream.
final class AttentionDropoutModelTests: XCTestCase {
    func make(_ name: String, _ options: KeyValuePairs<String, String>) throws -> Module {
        Randomness.seed(5)
        return try ModelRegistry.builtins().make(name, classCount: 7, options: options)
    }

    /// Every attention layer of the model gets the rate; evaluation ignores it (the output is training mode's with
    /// the rate set to 0, no drop path here); in training two calls differ (fresh masks) and reseeding the training
    /// stream repeats a call.
    func check(_ name: String, size: Int, options: KeyValuePairs<String, String>,
               layers: (Module) -> [(get: () -> Float, set: (Float) -> Void)]) throws {
        let model = try make(name, options)
        let attention = layers(model)
        XCTAssertFalse(attention.isEmpty, name)
        XCTAssertEqual(Set(attention.map { $0.get() }), [0.3], "\(name): every attention layer")
        let x = randn([2, size, size, 3], seed: 4)
        model.eval()
        let evaluated = GradMode.withoutGrad { model(x) }.scalars
        model.train()
        for a in attention { a.set(0) }
        XCTAssertEqual(GradMode.withoutGrad { model(x) }.scalars, evaluated, "\(name): no dropout in evaluation")
        for a in attention { a.set(0.3) }
        Randomness.beginStep(seed: 1, step: 0)
        let a = GradMode.withoutGrad { model(x) }.scalars
        let b = GradMode.withoutGrad { model(x) }.scalars
        Randomness.beginStep(seed: 1, step: 0)
        let c = GradMode.withoutGrad { model(x) }.scalars
        XCTAssertNotEqual(a, b, "\(name): a fresh mask per call")
        XCTAssertEqual(a, c, "\(name): the mask follows the training stream")
        XCTAssertNotEqual(a, evaluated)
        XCTAssertTrue(a.allSatisfy(\.isFinite))
    }

    func testViT() throws {
        try check("DeiT_tiny_patch16_224", size: 32, options: ["img_size": "32", "patch_size": "8", "attn_drop_rate": "0.3"]) {
            $0.namedModules().compactMap { $0.1 as? Attention }.map { a in ({ a.attnDrop }, { a.attnDrop = $0 }) }
        }
        XCTAssertEqual(try make("DeiT_tiny_patch16_224", ["img_size": "32"]).namedModules()
            .compactMap { ($0.1 as? Attention)?.attnDrop }.max(), 0, "off by default")
    }

    func testSwin() throws {
        try check("SwinTransformer_tiny_patch4_window7_224", size: 32, options: ["drop_path_rate": "0", "attn_drop_rate": "0.3"]) {
            $0.namedModules().compactMap { $0.1 as? WindowAttention }.map { a in ({ a.attnDrop }, { a.attnDrop = $0 }) }
        }
    }
}
