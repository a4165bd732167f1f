@testable import ClasData
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// The augmentation ops: determinism under a seed, value ranges, identity cases, PaddleClas parameterisation and
/// option errors. (Pillow agreement of the underlying operations: `PILOpsTests`.)
final class AugmentOpTests: XCTestCase {
    private func decode<O: Decodable>(_ type: O.Type, _ json: String) throws -> O {
        try JSONDecoder().decode(O.self, from: Data(json.utf8))
    }

    private func run(_ op: any ImageOp, _ image: Image, seed: UInt64) throws -> Image {
        var sample = Sample(path: "mem.png", payload: .image(image))
        var rng = RandomState(seed: seed)
        try op.apply(&sample, rng: &rng)
        guard case .image(let out) = sample.payload else { throw OptionsError("not an 8-bit image") }
        return out
    }

    private func run(_ op: any ImageOp, _ image: FloatImage, seed: UInt64) throws -> FloatImage {
        var sample = Sample(path: "mem.png", payload: .floatImage(image))
        var rng = RandomState(seed: seed)
        try op.apply(&sample, rng: &rng)
        guard case .floatImage(let out) = sample.payload else { throw OptionsError("not a float image") }
        return out
    }

    private let texture = PILOpsTests.pattern(32, 24)

    func testDeterministicUnderASeedAndVaryingAcrossSeeds() throws {
        let ops: [any ImageOp] = [
            try AutoAugment(), try RandAugment(), try RandAugmentV2(), try TimmAutoAugment(),
            try TimmAutoAugment(.init(configStr: "augmix-m5-w3")), try TimmAutoAugment(.init(configStr: "original-mstd0.5")),
            try TimmAutoAugment(.init(configStr: "v0", interpolation: "random")),
            try TimmAutoAugment(.init(configStr: "augmix-m3-w2-d2-b1")),
            try AugMix(.init(prob: 1)), try ColorJitter(.init(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)),
            try RandomRotation(.init(degrees: [30], interpolation: "bilinear")), try RandomGrayscale(.init(p: 0.5)),
            try Cutout(.init(length: 8)), try GridMask(.init(d1: 4, d2: 12)), try RandomErasing(.init(epsilon: 1)),
        ]
        for op in ops {
            let name = type(of: op).name
            var outputs: Set<[UInt8]> = []
            for seed in 0..<8 as Range<UInt64> {
                let a = try run(op, texture, seed: seed), b = try run(op, texture, seed: seed)
                XCTAssertEqual(a, b, "\(name) with seed \(seed) is not deterministic")
                XCTAssertEqual(a.sizeDescription, texture.sizeDescription, name)
                outputs.insert(a.pixels)
            }
            XCTAssertGreaterThan(outputs.count, 1, "\(name) gives one output for 8 seeds")
        }
    }

    func testFloatOpsKeepTypeAndSize() throws {
        let image = FloatImage(width: 20, height: 16, channels: 3, pixels: (0..<960).map { Float($0 % 17) / 8 - 1 })
        let ops: [any ImageOp] = [
            try RandomErasing(.init(epsilon: 1, mode: "pixel")), try RandomErasing(.init(epsilon: 1, mode: "rand")),
            try RandomErasing(.init(epsilon: 1, sh: 1.0 / 3.0, useLogAspect: true)), try Cutout(.init(length: 6)),
            try GridMask(.init(d1: 4, d2: 10, rotate: 30)),
        ]
        for op in ops {
            let out = try run(op, image, seed: 3)
            XCTAssertEqual(out.sizeDescription, image.sizeDescription, type(of: op).name)
            XCTAssertNotEqual(out, image, "\(type(of: op).name) changed nothing")
            XCTAssertTrue(out.pixels.allSatisfy(\.isFinite))
        }
    }

    func testPILOpsRejectFloatImagesWithAHint() throws {
        let image = FloatImage(width: 4, height: 4, channels: 3)
        for op in [try AutoAugment(), try RandAugment(), try AugMix(), try TimmAutoAugment()] as [any ImageOp] {
            TestData.assertThrows([type(of: op).name, "before NormalizeImage", "mem.png"]) {
                try run(op, image, seed: 0)
            }
        }
    }

    /// Magnitude 0 leaves the image unchanged for every geometric and enhance operation.
    func testZeroMagnitudeIsIdentity() {
        let ops: [PaddleAugmentOp] = [.shearX, .shearY, .translateX, .translateY, .rotate, .color, .contrast, .sharpness,
                                      .brightness]
        for op in ops {
            for seed in 0..<4 as Range<UInt64> {
                var rng = RandomState(seed: seed)
                XCTAssertEqual(op.apply(texture, magnitude: op.randMagnitude(0), fill: [128, 128, 128], rng: &rng), texture,
                               "\(op)")
            }
        }
        let timmIdentity: [TimmOpName] = [.rotate, .shearX, .shearY, .translateX, .translateY, .translateXRel, .translateYRel,
                                          .colorIncreasing, .contrastIncreasing, .brightnessIncreasing,
                                          .sharpnessIncreasing, .solarizeIncreasing, .solarizeAdd, .posterizeOriginal]
        for name in timmIdentity {
            for interpolation in [PIL.Resample.nearest, .bilinear, .bicubic] {
                var h = TimmHParams()
                h.interpolation = interpolation
                var rng = RandomState(seed: 1)
                let op = TimmAugmentOp(name: name, prob: 1, magnitude: 0, hparams: h)
                XCTAssertEqual(op.apply(texture, rng: &rng), name == .posterizeOriginal
                               ? PIL.posterize(texture, bits: 4) : texture, "\(name)")
            }
        }
        // Non-increasing enhance ops at level 0 use factor 0.1 (timm's range is [0.1, 1.9]).
        var rng = RandomState(seed: 0)
        XCTAssertEqual(TimmAugmentOp(name: .color, prob: 1, magnitude: 0, hparams: TimmHParams()).apply(texture, rng: &rng),
                       PIL.color(texture, factor: 0.1))
    }

    func testProbabilityZeroIsIdentity() throws {
        let ops: [any ImageOp] = [
            try AugMix(.init(prob: 0)), try TimmAutoAugment(.init(prob: 0)), try ColorJitter(), try RandomGrayscale(.init(p: 0)),
            try RandomRotation(.init(degrees: [0])), try RandomRotation(.init(degrees: [45], prob: 0)),
            try RandAugment(.init(numLayers: 0)), try TimmAutoAugment(.init(configStr: "rand-n0")),
            try TimmAutoAugment(.init(configStr: "rand-m9-p0")), try RandomErasing(.init(epsilon: 0)),
            try Cutout(.init(nHoles: 0)), try GridMask(.init(prob: 0)),
        ]
        for op in ops {
            for seed in 0..<4 as Range<UInt64> {
                XCTAssertEqual(try run(op, texture, seed: seed), texture, "\(type(of: op).name) seed \(seed)")
            }
        }
        XCTAssertEqual(try run(try RandomGrayscale(.init(p: 1)), texture, seed: 0), PIL.grayscale(texture))
    }

    func testAutoAugmentSubPolicies() throws {
        let op = try AutoAugment()
        XCTAssertEqual(AutoAugment.imageNetPolicy.count, 25)
        // Sub-policy 13: invert (p 0.6), then equalize (p 1.0).
        var seen: Set<[UInt8]> = []
        let allowed = [PIL.equalize(texture).pixels, PIL.equalize(PIL.invert(texture)).pixels]
        for seed in 0..<40 as Range<UInt64> {
            var rng = RandomState(seed: seed)
            let out = op.apply(policyIndex: 13, to: texture, rng: &rng)
            XCTAssertTrue(allowed.contains(out.pixels), "seed \(seed)")
            seen.insert(out.pixels)
        }
        XCTAssertEqual(seen.count, 2, "both branches of the 0.6 probability occur")
        // The policy magnitudes are NumPy linspaces: rotate 9 → 30°, posterize 8 → 5 bits, solarize 5 → 113.78.
        XCTAssertEqual(PaddleAugmentOp.rotate.policyMagnitude(9), 30, accuracy: 1e-12)
        XCTAssertEqual(PaddleAugmentOp.posterize.policyMagnitude(8), 4)
        XCTAssertEqual(PaddleAugmentOp.posterize.policyMagnitude(1), 8)
        XCTAssertEqual(PaddleAugmentOp.posterize.policyMagnitude(5), 6)
        XCTAssertEqual(PaddleAugmentOp.solarize.policyMagnitude(5), 256 - 256 * 5 / 9, accuracy: 1e-9)
        // Rotations are always counter-clockwise by +magnitude with gray fill (rotate_with_fill).
        var rng = RandomState(seed: 0)
        XCTAssertEqual(PaddleAugmentOp.rotate.apply(texture, magnitude: 30, fill: [0, 0, 0], rng: &rng),
                       PIL.rotate(texture, degrees: 30, fill: [128, 128, 128]))
    }

    func testRandAugmentLevels() throws {
        let op = try RandAugment()
        XCTAssertEqual(op.numLayers, 2)
        XCTAssertEqual(op.magnitude, 5)
        XCTAssertEqual(op.fillcolor, [128, 128, 128])
        XCTAssertEqual(PaddleAugmentOp.posterize.randMagnitude(5), 2)
        XCTAssertEqual(PaddleAugmentOp.rotate.randMagnitude(5), 15)
        XCTAssertEqual(PaddleAugmentOp.solarize.randMagnitude(5), 128)
        XCTAssertEqual(PaddleAugmentOp.translateX.randMagnitude(10), 150.0 / 331.0)
        // A one-layer RandAugment result is one of the 14 operations' possible results.
        let one = try RandAugment(.init(numLayers: 1, magnitude: 10))
        for seed in 0..<6 as Range<UInt64> {
            let out = try run(one, texture, seed: seed)
            var candidates: [Image] = []
            for op in RandAugment.operations {
                for signSeed in 0..<8 as Range<UInt64> {
                    var r = RandomState(seed: signSeed)
                    candidates.append(op.apply(texture, magnitude: op.randMagnitude(10), fill: [128, 128, 128], rng: &r))
                }
            }
            XCTAssertTrue(candidates.contains(out), "seed \(seed)")
        }
    }

    /// PaddleClas's RandAugmentV2 levels: enhance factor 1.8·l + 0.1 (identity at magnitude 5), translation by
    /// 100·l pixels, cutout of half-side 40·l filled with fillcolor[0]; `progress_magnitude` is read.
    func testRandAugmentV2Levels() throws {
        let five = try RandAugmentV2()
        for op in [RandAugmentV2.Operation.color, .contrast, .sharpness, .brightness] {
            var r = RandomState(seed: 1)
            XCTAssertEqual(five.apply(op, texture, rng: &r), texture, "\(op) at magnitude 5 is the identity")
        }
        let one = try RandAugmentV2(.init(magnitude: 1, progressMagnitude: [1, 2]))
        var r = RandomState(seed: 3)
        let shifted = one.apply(.translateX, texture, rng: &r)
        let (w, h) = (texture.width, texture.height)
        /// Whether `out` is `texture` moved left (dx 10) or right (dx -10) by 10 pixels where both are defined.
        func isShifted(_ out: Image, by dx: Int) -> Bool {
            for y in 0..<h {
                for x in max(0, -dx)..<min(w, w - dx) {
                    for c in 0..<3 where out.pixels[(y * w + x) * 3 + c] != texture.pixels[(y * w + x + dx) * 3 + c] {
                        return false
                    }
                }
            }
            return true
        }
        XCTAssertTrue(isShifted(shifted, by: 10) || isShifted(shifted, by: -10), "translateX by 10 px at magnitude 1")
        r = RandomState(seed: 5)
        let cut = one.apply(.cutout, texture, rng: &r)
        var changed = 0, filled = 0
        for i in 0..<w * h {
            var differs = false, gray = true
            for c in 0..<3 {
                if cut.pixels[i * 3 + c] != texture.pixels[i * 3 + c] { differs = true }
                if cut.pixels[i * 3 + c] != 128 { gray = false }
            }
            if differs { changed += 1 }
            if differs && gray { filled += 1 }
        }
        XCTAssertGreaterThan(changed, 0)
        XCTAssertLessThanOrEqual(changed, 8 * 8, "cutout of half-side 4")
        XCTAssertEqual(filled, changed, "cutout fills with fillcolor[0]")
        let decoded = try decode(RandAugmentV2.Options.self, #"{"num_layers": 1, "progress_magnitude": [5, 10]}"#)
        XCTAssertEqual(decoded.progressMagnitude, [5, 10])
        XCTAssertThrowsError(try RandAugmentV2(.init(progressMagnitude: [5, -1])))
    }

    func testAugMixStaysBetweenItsInputs() throws {
        let op = try AugMix(.init(prob: 1, augProbCoeff: 1, mixtureWidth: 3, mixtureDepth: 1, augSeverity: 3))
        // On a flat image each single PaddleClas AugMix operation only darkens (black fill, posterize to <= 4 bits)
        // or keeps it (autocontrast and equalize of a flat image), so with chains of depth 1 the mixture stays in
        // [0, 100] and the centre, which small rotations/shears/shifts keep covered, in [96 (4-bit 100), 100].
        let flat = Image(width: 24, height: 24, channels: 3, pixels: [UInt8](repeating: 100, count: 24 * 24 * 3))
        var changed = 0
        for seed in 0..<12 as Range<UInt64> {
            let out = try run(op, flat, seed: seed)
            XCTAssertTrue(out.pixels.allSatisfy { $0 <= 100 }, "seed \(seed)")
            XCTAssertTrue((96...100).contains(out[12, 12, 0]), "seed \(seed): centre \(out[12, 12, 0])")
            if out != flat { changed += 1 }
        }
        XCTAssertGreaterThan(changed, 6)
    }

    func testAugMixOptionsAndAliases() throws {
        let d = try AugMix(decode(AugMix.Options.self, "{}"))
        XCTAssertEqual([d.prob, d.augProbCoeff, d.augSeverity], [0.5, 0.1, 1])
        XCTAssertEqual([d.mixtureWidth, d.mixtureDepth], [3, 1])
        let a = try AugMix(decode(AugMix.Options.self, #"{"severity": 3, "width": 2, "depth": -1, "alpha": 0.5, "prob": "1.0/2.0"}"#))
        XCTAssertEqual([a.prob, a.augProbCoeff, a.augSeverity], [0.5, 0.5, 3])
        XCTAssertEqual([a.mixtureWidth, a.mixtureDepth], [2, -1])
        TestData.assertThrows(["AugMix", "mixture_width", "width", "not both"]) {
            try decode(AugMix.Options.self, #"{"mixture_width": 2, "width": 3}"#)
        }
        TestData.assertThrows(["AugMix", "aug_prob_coeff"]) { try AugMix(.init(augProbCoeff: 0)) }
    }

    func testTimmConfigGrammar() throws {
        XCTAssertEqual(try TimmAugmentConfig.parse("rand-m9-mstd0.5-inc1"),
                       TimmAugmentConfig(scheme: .rand(magnitude: 9, numLayers: 2, prob: 0.5, increasing: true, weightIndex: nil),
                                         magnitudeStd: 0.5, magnitudeMax: 10))
        XCTAssertEqual(try TimmAugmentConfig.parse("rand-m7-n3-p0.8-mmax12-w0").scheme,
                       .rand(magnitude: 7, numLayers: 3, prob: 0.8, increasing: false, weightIndex: 0))
        XCTAssertEqual(try TimmAugmentConfig.parse("rand-m7-mmax12").magnitudeMax, 12)
        XCTAssertEqual(try TimmAugmentConfig.parse("rand-mstd101").magnitudeStd, .infinity)
        XCTAssertEqual(try TimmAugmentConfig.parse("augmix-m5-w3").scheme,
                       .augmix(magnitude: 5, width: 3, depth: -1, alpha: 1, blended: false))
        XCTAssertEqual(try TimmAugmentConfig.parse("augmix-m3-w4-d2-a0.5-b1").scheme,
                       .augmix(magnitude: 3, width: 4, depth: 2, alpha: 0.5, blended: true))
        XCTAssertEqual(try TimmAugmentConfig.parse("original-mstd0.5"),
                       TimmAugmentConfig(scheme: .auto(policy: "original"), magnitudeStd: 0.5, magnitudeMax: 10))
        XCTAssertEqual(try TimmAugmentConfig.parse("v0").scheme, .auto(policy: "v0"))
        XCTAssertEqual(try TimmAugmentConfig.parse("rand").scheme,
                       .rand(magnitude: 10, numLayers: 2, prob: 0.5, increasing: false, weightIndex: nil))
        let errors = [
            ("rand-m9-x3", ["'x3'", "key 'x'"]), ("rand-m9-foo", ["'foo'", "no number"]),
            ("randy-m9", ["unknown scheme 'randy'"]), ("augmix-q2", ["'q2'"]), ("v0-m5", ["'m5'", "mstd"]),
            ("rand-m9.5", ["'m9.5'", "integer"]), ("rand-w1", ["'w1'"]), ("", ["empty"]),
        ]
        for (text, needles) in errors {
            TestData.assertThrows(needles) { try TimmAugmentConfig.parse(text) }
        }
        TestData.assertThrows(["TimmAutoAugment", "'m9x'"]) { try TimmAutoAugment(.init(configStr: "rand-m9x-n2x")) }
    }

    func testTimmHyperParameters() throws {
        let d = try TimmAutoAugment()
        XCTAssertEqual(d.hparams.translateConst, 100, "int(224 * 0.45)")
        XCTAssertEqual(d.hparams.fill, [124, 116, 104], "round(255 * ImageNet mean)")
        XCTAssertEqual(d.hparams.interpolation, .bicubic)
        XCTAssertEqual(d.hparams.magnitudeStd, 0.5)
        guard case let .rand(ops, numLayers, weights) = d.plan else { return XCTFail("rand plan expected") }
        XCTAssertEqual(ops.map(\.name), TimmAugmentPolicies.randIncreasingTransforms)
        XCTAssertEqual(Set(ops.map(\.prob)), [0.5])
        XCTAssertEqual(Set(ops.map(\.magnitude)), [9])
        XCTAssertEqual(numLayers, 2)
        XCTAssertNil(weights)
        let o = try TimmAutoAugment(decode(TimmAutoAugment.Options.self,
                                           #"{"config_str": "augmix-m5-w3", "img_size": [200, 180], "interpolation": "random", "mean": [0.5, 0.5, 0.5]}"#))
        XCTAssertEqual(o.hparams.translateConst, 81)
        XCTAssertEqual(o.hparams.translatePct, 0.3)
        XCTAssertEqual(o.hparams.fill, [128, 128, 128], "round(127.5) = 128 (half to even)")
        XCTAssertNil(o.hparams.interpolation)
        TestData.assertThrows(["TimmAutoAugment", "interpolation", "lanczos"]) {
            try TimmAutoAugment(.init(interpolation: "lanczos"))
        }
        guard case let .auto(policy) = try TimmAutoAugment(.init(configStr: "original")).plan else { return XCTFail("auto") }
        XCTAssertEqual(policy.count, 25)
        XCTAssertEqual(policy[0].map(\.name), [.posterizeOriginal, .rotate])
        XCTAssertEqual(policy[0].map(\.prob), [0.4, 0.6])
    }

    func testRandomErasingBox() throws {
        let op = try RandomErasing(.init(epsilon: 1, sl: 0.1, sh: 0.2, r1: 0.5))
        let image = FloatImage(width: 40, height: 30, channels: 3, pixels: [Float](repeating: 5, count: 3600))
        for seed in 0..<10 as Range<UInt64> {
            let out = try run(op, image, seed: seed)
            var xs: [Int] = [], ys: [Int] = []
            for y in 0..<30 { for x in 0..<40 where out[x, y, 0] != 5 {
                XCTAssertEqual([out[x, y, 0], out[x, y, 1], out[x, y, 2]], [0, 0, 0])
                xs.append(x)
                ys.append(y)
            } }
            guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else { return XCTFail("nothing erased") }
            let (w, h) = (x1 - x0 + 1, y1 - y0 + 1)
            XCTAssertEqual(xs.count, w * h, "the erased region is a rectangle")
            let fraction = Double(w * h) / 1200
            XCTAssertTrue(fraction > 0.08 && fraction < 0.23, "area fraction \(fraction)")
            XCTAssertTrue(Double(h) / Double(w) > 0.4 && Double(h) / Double(w) < 2.5, "aspect \(h)/\(w)")
        }
        let paddle = try RandomErasing(decode(RandomErasing.Options.self,
                                              #"{"EPSILON": 0.25, "sl": 0.02, "sh": "1.0/3.0", "r1": 0.3, "attempt": 10, "use_log_aspect": true, "mode": "pixel"}"#))
        XCTAssertEqual(paddle.areaRange.1, 1.0 / 3.0)
        XCTAssertEqual(paddle.aspectRange.0, log(0.3), accuracy: 1e-12)
        XCTAssertEqual(paddle.mode, .pixel)
        TestData.assertThrows(["RandomErasing", "mode", "'noise'"]) { try RandomErasing(.init(mode: "noise")) }
        TestData.assertThrows(["RandomErasing", "sl", "sh"]) { try RandomErasing(.init(sl: 0.5, sh: 0.4)) }
        // An image too small for any box is left alone after `attempt` tries.
        let tiny = FloatImage(width: 1, height: 1, channels: 3, pixels: [1, 2, 3])
        XCTAssertEqual(try run(try RandomErasing(.init(epsilon: 1)), tiny, seed: 0), tiny)
    }

    func testColorJitter() throws {
        let exact = try ColorJitter(decode(ColorJitter.Options.self, #"{"brightness": [0.5, 0.5]}"#))
        XCTAssertEqual(try run(exact, texture, seed: 4), PIL.brightness(texture, factor: 0.5))
        let d = try ColorJitter(.init(brightness: 0.4, contrast: 1.5, hue: 0.1))
        XCTAssertEqual(d.brightness, 0.6...1.4)
        XCTAssertEqual(d.contrast, 0...2.5)
        XCTAssertNil(d.saturation)
        XCTAssertEqual(d.hue, -0.1...0.1)
        TestData.assertThrows(["ColorJitter", "hue"]) { try ColorJitter(.init(hue: 0.6)) }
        TestData.assertThrows(["ColorJitter", "brightness", "non-negative"]) { try ColorJitter(.init(brightness: -1)) }
    }

    func testRandomRotation() throws {
        let quarter = try RandomRotation(decode(RandomRotation.Options.self, #"{"degrees": [90, 90], "expand": true}"#))
        let out = try run(quarter, texture, seed: 0)
        XCTAssertEqual(out.sizeDescription, "24x32x3")
        XCTAssertEqual(out, PIL.rotate(texture, degrees: 90, expand: true, fill: [0, 0, 0]))
        let filled = try RandomRotation(decode(RandomRotation.Options.self,
                                               #"{"degrees": [45, 45], "fill": [1, 2, 3], "interpolation": "bilinear", "center": [0, 0]}"#))
        let f = try run(filled, texture, seed: 0)
        XCTAssertEqual([f[0, 23, 0], f[0, 23, 1], f[0, 23, 2]], [1, 2, 3], "a corner uncovered by the rotation takes the fill")
        XCTAssertEqual(f, PIL.rotate(texture, degrees: 45, resample: .bilinear, center: (0, 0), fill: [1, 2, 3]))
        TestData.assertThrows(["RandomRotation", "interpolation", "'linear'"]) {
            try RandomRotation(.init(degrees: [10], interpolation: "linear"))
        }
        TestData.assertThrows(["RandomRotation", "degrees"]) { try RandomRotation(.init(degrees: [10, 5])) }
    }

    func testCutoutAndGridMask() throws {
        let image = FloatImage(width: 20, height: 20, channels: 3, pixels: [Float](repeating: 1, count: 1200))
        let cut = try run(try Cutout(.init(nHoles: 1, length: 6)), image, seed: 5)
        let zeros = cut.pixels.filter { $0 == 0 }.count
        XCTAssertTrue(zeros > 0 && zeros <= 36 * 3 && zeros % 3 == 0, "\(zeros)")
        let random = try Cutout(decode(Cutout.Options.self, #"{"fill_value": "none", "length": 10}"#))
        XCTAssertNil(random.fillValue)
        let grid = try run(try GridMask(.init(d1: 5, d2: 6, ratio: 0.4)), image, seed: 2)
        let masked = grid.pixels.filter { $0 == 0 }.count / 3
        // Period 5 with bands of int(5 * 0.4 + 0.5) = 2 in both directions masks 1 - (3/5)^2 = 64% of the pixels.
        XCTAssertTrue(masked > 200 && masked < 300, "\(masked) of 400 masked")
        let inverse = try run(try GridMask(.init(d1: 5, d2: 6, ratio: 0.4, mode: 1)), image, seed: 2)
        XCTAssertEqual(inverse.pixels.filter { $0 == 0 }.count / 3, 400 - masked)
    }

    func testOptionDefaultsAndErrors() throws {
        XCTAssertEqual(try AutoAugment(decode(AutoAugment.Options.self, "{}")).fillcolor, [128, 128, 128])
        XCTAssertEqual(try AutoAugment(decode(AutoAugment.Options.self, #"{"fillcolor": 0}"#)).fillcolor, [0])
        TestData.assertThrows(["AutoAugment", "fillcolor", "0...255"]) { try AutoAugment(.init(fillcolor: [300, 0, 0])) }
        let r = try RandAugment(decode(RandAugment.Options.self, #"{"num_layers": 3, "magnitude": 9, "fillcolor": [1, 2, 3]}"#))
        XCTAssertEqual([r.numLayers], [3])
        XCTAssertEqual(r.magnitude, 9)
        XCTAssertEqual(r.fillcolor, [1, 2, 3])
        XCTAssertEqual(Set(RandomErasing.optionKeys), ["EPSILON", "sl", "sh", "r1", "mean", "attempt", "use_log_aspect", "mode"])
        XCTAssertEqual(Set(TimmAutoAugment.optionKeys), ["config_str", "interpolation", "img_size", "mean", "prob"])
        XCTAssertEqual(try RandomGrayscale(decode(RandomGrayscale.Options.self, "{}")).p, 0.1)
    }
}
