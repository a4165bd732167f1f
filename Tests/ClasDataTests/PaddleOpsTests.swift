@testable import ClasData
import ClasTensor
import XCTest

/// The PaddleClas ops of issue 17 (crops, pads, rotations, blur, lighting, hide-and-seek, the RandAugment variants,
/// RandomApply): exact pixels against OpenCV/NumPy/Pillow where the op is deterministic given its draws
/// (`PaddleOpsReference`, written by `scripts/paddle_op_fixtures.py`), the draws' semantics otherwise, and
/// determinism for a seed.
final class PaddleOpsTests: XCTestCase {
    private func run(_ op: any ImageOp, _ image: Image, seed: UInt64 = 1) throws -> Sample {
        var sample = Sample(path: "x.png", payload: .image(image))
        var rng = RandomState(seed: seed)
        try op.apply(&sample, rng: &rng)
        return sample
    }

    private func image(_ s: Sample) -> Image {
        guard case .image(let i) = s.payload else { XCTFail("not an 8-bit image: \(s.payloadDescription)"); return Image(width: 1, height: 1, channels: 1) }
        return i
    }

    private func floats(_ s: Sample) -> FloatImage {
        guard case .floatImage(let i) = s.payload else { XCTFail("not a float image: \(s.payloadDescription)"); return FloatImage(width: 1, height: 1, channels: 1) }
        return i
    }

    /// Every output of `op` over 20 seeds, to check draws.
    private func outcomes(_ op: any ImageOp, _ img: Image) throws -> [Sample] {
        try (0..<20).map { try run(op, img, seed: UInt64($0)) }
    }

    // MARK: crops

    func testRandomCropsStayInsideAndFollowTheSeed() throws {
        let img = PILOpsTests.pattern(9, 7)
        for op in [try RandomCropImage(.init(size: SizeOption(width: 4, height: 3))) as any ImageOp,
                   try RandCropImageV2(.init(size: SizeOption(width: 4, height: 3)))] {
            var origins = Set<[Int]>()
            for s in try outcomes(op, img) {
                let out = image(s)
                XCTAssertEqual([out.width, out.height], [4, 3])
                // Find the crop's origin: the pattern is unique per pixel.
                let origin = (0...5).flatMap { x in (0...4).map { [x, $0] } }.first { o in
                    out.pixels == Crop.crop(img, x: o[0], y: o[1], width: 4, height: 3).pixels
                }
                XCTAssertNotNil(origin)
                origins.insert(origin ?? [])
            }
            XCTAssertGreaterThan(origins.count, 8, "positions vary with the seed")
            XCTAssertEqual(try run(op, img, seed: 5).payloadDescription, try run(op, img, seed: 5).payloadDescription)
            XCTAssertEqual(image(try run(op, img, seed: 5)).pixels, image(try run(op, img, seed: 5)).pixels)
            TestData.assertThrows(["smaller than the crop 4x3"]) { try run(op, PILOpsTests.pattern(3, 7)) }
        }
        // RandCropImageV2 returns an image of exactly the crop size unchanged.
        let exact = PILOpsTests.pattern(4, 3)
        XCTAssertEqual(image(try run(RandCropImageV2(.init(size: SizeOption(width: 4, height: 3))), exact)).pixels, exact.pixels)
    }

    func testCenterCropRoundsHalfToEvenAndReadsHeightFirst() throws {
        let img = PILOpsTests.pattern(9, 8)
        // size [h, w] = [3, 4]: top round(5/2) = 2 (half to even), left round(5/2) = 2.
        let out = image(try run(CenterCrop(.init(size: SizeOption(width: 3, height: 4))), img))
        XCTAssertEqual([out.width, out.height], [4, 3])
        XCTAssertEqual(out.pixels, Crop.crop(img, x: 2, y: 2, width: 4, height: 3).pixels)
        // margins 3 → round(1.5) = 2 and 1 → round(0.5) = 0.
        let out2 = image(try run(CenterCrop(.init(size: SizeOption(width: 7, height: 6))), img))
        XCTAssertEqual(out2.pixels, Crop.crop(img, x: 2, y: 0, width: 6, height: 7).pixels)
    }

    func testCropImageAtRatioMatchesOpenCV() throws {
        let out = image(try run(CropImageAtRatio(.init(size: 6, pad: 2)), PILOpsTests.pattern(13, 11)))
        XCTAssertEqual([out.width, out.height], [6, 6])
        XCTAssertEqual(out.pixels, PaddleOpsReference.cropAtRatio6pad2)
    }

    func testRandomResizedCropDrawsTorchvisionRectangles() throws {
        let op = try RandomResizedCrop(.init(size: SizeOption(width: 8, height: 6), scale: [0.2, 0.6]))   // [h, w]
        var rng = RandomState(seed: 3)
        for _ in 0..<200 {
            let r = op.cropRect(imageWidth: 40, imageHeight: 30, rng: &rng)
            XCTAssertTrue(r.x >= 0 && r.y >= 0 && r.x + r.w <= 40 && r.y + r.h <= 30)
            let area = Double(r.w * r.h) / 1200, ratio = Double(r.w) / Double(r.h)
            XCTAssertTrue(area > 0.15 && area < 0.66, "area \(area)")
            XCTAssertTrue(ratio > 0.7 && ratio < 1.4, "ratio \(ratio)")
        }
        // No attempt fits a 100x2 strip at ratio [3/4, 4/3]: the fallback is the centred 3x2 crop (w = round(2·4/3)).
        let strip = try RandomResizedCrop(.init(size: SizeOption(4), scale: [0.5, 1.0]))
        var r2 = RandomState(seed: 1)
        let fallback = strip.cropRect(imageWidth: 100, imageHeight: 2, rng: &r2)
        XCTAssertEqual([fallback.x, fallback.y, fallback.w, fallback.h], [48, 0, 3, 2])
        let out = image(try run(op, PILOpsTests.pattern(40, 30)))
        XCTAssertEqual([out.width, out.height], [6, 8])
    }

    // MARK: pads

    func testPadMatchesPillowExpand() throws {
        let out = image(try run(Pad(.init(padding: [1, 2, 3, 0], fill: [10, 20, 30])), PILOpsTests.pattern(5, 4)))
        XCTAssertEqual([out.width, out.height], [9, 6])
        XCTAssertEqual(out.pixels, PaddleOpsReference.pad1230)
        let uniform = image(try run(Pad(.init(padding: [2])), PILOpsTests.pattern(5, 4)))
        XCTAssertEqual([uniform.width, uniform.height], [9, 8])
        XCTAssertEqual(uniform[0, 0, 0], 0)
    }

    func testPadv2PadsToSizeOrDivisorOnAFloatCanvas() throws {
        let img = PILOpsTests.pattern(5, 3)
        let centred = floats(try run(Padv2(.init(size: SizeOption(width: 8, height: 6), padMode: 1)), img))
        XCTAssertEqual([centred.width, centred.height], [8, 6])
        // Offsets ((8-5)//2, (6-3)//2) = (1, 1); the rest is 127.5.
        XCTAssertEqual(centred[0, 0, 0], 127.5)
        XCTAssertEqual(centred[1, 1, 2], Float(img[0, 0, 2]))
        XCTAssertEqual(centred[5, 3, 1], Float(img[4, 2, 1]))
        XCTAssertEqual(centred[6, 3, 1], 127.5)
        let divisor = floats(try run(Padv2(.init(sizeDivisor: 4, padMode: 2)), img))
        XCTAssertEqual([divisor.width, divisor.height], [8, 4])
        XCTAssertEqual(divisor[3, 1, 0], Float(img[0, 0, 0]), "pad_mode 2 pads left and top")
        let placed = floats(try run(Padv2(.init(size: SizeOption(6), padMode: -1, offsets: [1, 2], fillValue: [0, 0, 0])), img))
        XCTAssertEqual(placed[1, 2, 0], Float(img[0, 0, 0]))
        TestData.assertThrows(["Padv2", "larger than size 4"]) { try run(Padv2(.init(size: SizeOption(4))), img) }
        TestData.assertThrows(["pad_mode -1 needs offsets"]) { try Padv2(.init(padMode: -1)) }
    }

    // MARK: rotations, blur, lighting, hide-and-seek

    func testRandomRot90MatchesNumPyAndReportsTheOrientation() throws {
        let img = PILOpsTests.pattern(5, 4)
        XCTAssertEqual(RandomRot90.rotate(img, quarterTurns: 1).pixels, PaddleOpsReference.rot90k1)
        XCTAssertEqual(RandomRot90.rotate(img, quarterTurns: 2).pixels, PaddleOpsReference.rot90k2)
        XCTAssertEqual(RandomRot90.rotate(img, quarterTurns: 3).pixels, PaddleOpsReference.rot90k3)
        var seen = Set<Int>()
        for s in try outcomes(RandomRot90(), img) {
            let k = try XCTUnwrap(s.values[RandomRot90.valueKey])
            seen.insert(k)
            XCTAssertEqual(image(s).pixels, RandomRot90.rotate(img, quarterTurns: k).pixels)
        }
        XCTAssertEqual(seen, [0, 1, 2, 3])
    }

    func testBlurFiltersMatchOpenCV() {
        let img = PILOpsTests.pattern(13, 11)
        XCTAssertEqual(Blur.fixedPointKernel(11), [2, 7, 17, 31, 45, 52, 45, 31, 17, 7, 2])
        XCTAssertEqual(Blur.gaussian(img, kx: 5, ky: 7).pixels, PaddleOpsReference.gaussian5x7)
        XCTAssertEqual(Blur.gaussian(img, kx: 11, ky: 9).pixels, PaddleOpsReference.gaussian11x9)
        XCTAssertEqual(Blur.motion(img, size: 7, angle: 30).pixels, PaddleOpsReference.motion7at30)
        XCTAssertEqual(Blur.motion(img, size: 5, angle: -45).pixels, PaddleOpsReference.motion5atMinus45)
        XCTAssertEqual(Blur.motion(img, size: 11, angle: 17).pixels, PaddleOpsReference.motion11at17)
    }

    func testBlurImageReportsWhetherItBlurred() throws {
        let img = PILOpsTests.pattern(16, 12)
        var labels = Set<Int>()
        for s in try outcomes(BlurImage(), img) {
            let label = try XCTUnwrap(s.values[BlurImage.valueKey])
            labels.insert(label)
            XCTAssertEqual(image(s).pixels == img.pixels, label == 0)
        }
        XCTAssertEqual(labels, [0, 1])
        var never = BlurImage.Options()
        never.ratio = 0
        XCTAssertEqual(try outcomes(BlurImage(never), img).compactMap { $0.values[BlurImage.valueKey] }, [Int](repeating: 0, count: 20))
        TestData.assertThrows(["BlurImage", "before NormalizeImage"]) {
            var s = Sample(path: "f.png", payload: .floatImage(img.toFloat()))
            var rng = RandomState(seed: 0)
            try BlurImage().apply(&s, rng: &rng)
        }
    }

    func testPCALightingAddsThePrincipalComponentOffsets() throws {
        // alpha = [1, 0, 0]: eigvec[:, 0] · 0.2175.
        let off = PCALighting.offsets(alpha: [1, 0, 0])
        for c in 0..<3 { XCTAssertEqual(off[c], PCALighting.eigvec[c][0] * 0.2175, accuracy: 1e-7) }
        let img = PILOpsTests.pattern(4, 3)
        let out = floats(try run(PCALighting(), img, seed: 9))
        let shift = (0..<3).map { out.pixels[$0] - Float(img.pixels[$0]) }
        for i in stride(from: 0, to: out.pixels.count, by: 3) {
            for c in 0..<3 { XCTAssertEqual(out.pixels[i + c] - Float(img.pixels[i + c]), shift[c], accuracy: 1e-4) }
        }
        XCTAssertGreaterThan(shift.map(abs).max() ?? 0, 0)
        XCTAssertLessThan(shift.map(abs).max() ?? 1, 0.2, "N(0, 0.1) draws times eigenvalues below 0.22")
    }

    func testHideAndSeekZeroesWholeGridCells() throws {
        let (w, h) = (64, 48)
        let img = Image(width: w, height: h, channels: 3, pixels: [UInt8](repeating: 200, count: w * h * 3))
        var grids = Set<Int>()
        for s in try outcomes(HideAndSeek(), img) {
            let out = image(s)
            if out.pixels == img.pixels { grids.insert(0); continue }
            // Some grid of PaddleClas's sizes has every cell either all hidden or all kept.
            let grid = HideAndSeek.gridSizes.dropFirst().first { g in
                stride(from: 0, to: w, by: g).allSatisfy { x in stride(from: 0, to: h, by: g).allSatisfy { y in
                    let cell = (y..<min(h, y + g)).flatMap { yy in (x..<min(w, x + g)).map { out.pixels[(yy * w + $0) * 3] } }
                    return Set(cell).count == 1
                } }
            }
            XCTAssertNotNil(grid)
            grids.insert(grid ?? -1)
        }
        XCTAssertGreaterThan(grids.count, 2)
    }

    // MARK: RandAugment variants, RandomApply

    func testRandAugmentVariantsAreSeededAndKeepTheSize() throws {
        let img = PILOpsTests.pattern(24, 20)
        for op in [try RandAugmentV2() as any ImageOp, try RandAugmentV3(), try RandAugmentV4()] {
            var changed = 0
            for seed in 0..<12 {
                let a = image(try run(op, img, seed: UInt64(seed))), b = image(try run(op, img, seed: UInt64(seed)))
                XCTAssertEqual(a.pixels, b.pixels, "\(type(of: op)) is deterministic for a seed")
                XCTAssertEqual([a.width, a.height], [24, 20])
                if a.pixels != img.pixels { changed += 1 }
            }
            XCTAssertGreaterThan(changed, 3, "\(type(of: op)) changes images")
        }
        // With no layers V2 and V3 are the identity.
        var none = RandAugmentV2.Options()
        none.numLayers = 0
        XCTAssertEqual(image(try run(RandAugmentV2(none), img)).pixels, img.pixels)
    }

    func testCutoutOfTheVariantsFillsTheClippedSquare() {
        var rng = RandomState(seed: 4)
        let img = Image(width: 10, height: 8, channels: 3, pixels: [UInt8](repeating: 9, count: 240))
        let out = RandAugmentLayers.cutout(img, halfSize: 3, value: 128, rng: &rng)
        var rng2 = RandomState(seed: 4)
        let cy = rng2.int(in: 0...8), cx = rng2.int(in: 0...10)
        for y in 0..<8 {
            for x in 0..<10 {
                let inside = y >= max(0, cy - 3) && y < min(8, cy + 3) && x >= max(0, cx - 3) && x < min(10, cx + 3)
                XCTAssertEqual(out[x, y, 1], inside ? 128 : 9)
            }
        }
    }

    func testRandomApplyRunsItsOpsWithProbabilityP() throws {
        let img = PILOpsTests.pattern(6, 5)
        let pad = try Pad(.init(padding: [1])), rot = try CenterCrop(.init(size: SizeOption(width: 6, height: 4)))
        let always = try RandomApply(p: 1, ops: [pad, rot]), never = try RandomApply(p: 0, ops: [pad, rot])
        XCTAssertEqual(image(try run(always, img)).pixels, image(try run(rot, image(try run(pad, img)))).pixels)
        XCTAssertEqual(image(try run(never, img)).pixels, img.pixels)
        let half = try RandomApply(p: 0.5, ops: [pad])
        let padded = try (0..<40).filter { image(try run(half, img, seed: UInt64($0))).width == 8 }.count
        XCTAssertTrue((8...32).contains(padded), "\(padded) of 40")
        TestData.assertThrows(["p must be in [0, 1]"]) { try RandomApply(p: 1.5, ops: []) }
    }
}
