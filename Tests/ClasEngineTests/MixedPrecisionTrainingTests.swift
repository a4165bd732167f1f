import ClasEngine
import ClasTensor
import Foundation
import XCTest

/// `AMP: {use_amp: True}` trains a transformer with bfloat16 products (``MixedPrecision``) and says so in the log; the
/// same run in float32 reaches nearly the same losses.
final class MixedPrecisionTrainingTests: XCTestCase {
    func testAMPTrainsADeiTWithBF16Products() throws {
        try XCTSkipUnless(MixedPrecision.isSupported, "this CPU has no AVX512_BF16")
        let run = try TinyRun(epochs: 1)
        var losses: [Bool: Double] = [:]
        for amp in [false, true] {
            let engine = try Engine(configPath: run.config, overrides: [
                "Arch={name: DeiT_tiny_patch16_224, img_size: 32, patch_size: 4}", "AMP={use_amp: \(amp ? "True" : "False")}",
                "Global.output_dir=\(run.dir)/amp_\(amp)", "Global.eval_during_train=False",
            ], mode: .train, quiet: true)
            var lines: [String] = []
            engine.logger.capture = { lines.append($0) }
            let trainer = try Trainer(engine: engine)
            XCTAssertEqual(trainer.step.mixedPrecision, amp)
            try trainer.run()
            XCTAssertFalse(MixedPrecision.isEnabled, "AMP is switched off after the steps")
            XCTAssertEqual(lines.contains { $0.contains("AMP: matrix products in bfloat16") }, amp, lines.joined(separator: "\n"))
            let avg = lines.first { $0.contains("[Train][Epoch 1/1][Avg]") } ?? ""
            let loss = avg.components(separatedBy: "loss: ").last.flatMap { Double($0.prefix { "0123456789.".contains($0) }) }
            losses[amp] = try XCTUnwrap(loss, avg)
        }
        // Four steps from the same seed: the epoch's mean loss moves by bfloat16's rounding, not more.
        let full = try XCTUnwrap(losses[false]), mixed = try XCTUnwrap(losses[true])
        XCTAssertNotEqual(full, mixed, "the products did not change: was AMP on?")
        XCTAssertEqual(mixed, full, accuracy: 0.02 * full)
    }
}
