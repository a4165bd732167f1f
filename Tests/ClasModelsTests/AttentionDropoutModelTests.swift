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

    /// Every attention layer of the model gets the rate; in evaluation the model is the one without dropout, in
    /// training two steps differ (fresh masks) and reseeding the training stream repeats a step.
    func check(_ name: String, size: Int, plain: KeyValuePairs<String, String>, dropped: KeyValuePairs<String, String>,
               rates: (Module) -> [Float]) throws {
        let (dropped, plain) = (try make(name, dropped), try make(name, plain))
        let r = rates(dropped)
        XCTAssertFalse(r.isEmpty, name)
        XCTAssertEqual(Set(r), [0.3], "\(name): every attention layer")
        XCTAssertEqual(Set(rates(plain)), [0], name)
        let x = randn([2, size, size, 3], seed: 4)
        dropped.eval()
        plain.eval()
        XCTAssertEqual(GradMode.withoutGrad { dropped(x) }.scalars, GradMode.withoutGrad { plain(x) }.scalars,
                       "\(name): no dropout in evaluation")
        dropped.train()
        Randomness.beginStep(seed: 1, step: 0)
        let a = GradMode.withoutGrad { dropped(x) }.scalars
        let b = GradMode.withoutGrad { dropped(x) }.scalars
        Randomness.beginStep(seed: 1, step: 0)
        let c = GradMode.withoutGrad { dropped(x) }.scalars
        XCTAssertNotEqual(a, b, "\(name): a fresh mask per call")
        XCTAssertEqual(a, c, "\(name): the mask follows the training stream")
        XCTAssertTrue(a.allSatisfy(\.isFinite))
    }

    func testViT() throws {
        try check("DeiT_tiny_patch16_224", size: 32, plain: ["img_size": "32", "patch_size": "8"],
                  dropped: ["img_size": "32", "patch_size": "8", "attn_drop_rate": "0.3"]) { m in
            m.namedModules().compactMap { ($0.1 as? Attention)?.attnDrop }
        }
    }

    func testSwin() throws {
        try check("SwinTransformer_tiny_patch4_window7_224", size: 32, plain: ["drop_path_rate": "0"],
                  dropped: ["drop_path_rate": "0", "attn_drop_rate": "0.3"]) { m in
            m.namedModules().compactMap { ($0.1 as? WindowAttention)?.attnDrop }
        }
    }
}
