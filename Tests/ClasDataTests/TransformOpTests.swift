import ClasData
import ClasTensor
import XCTest
import _ClasTestSupport

/// Crops, flips, random crops, normalisation and the decode step.
final class TransformOpTests: XCTestCase {
    func testCenterCropOffsets() throws {
        let src = TestData.pattern(width: 7, height: 6)
        let op = try CropImage(.init(size: SizeOption(width: 3, height: 2)))
        var rng = RandomState(seed: 0)
        let out = try op.transform(src, rng: &rng)
        XCTAssertEqual(out.sizeDescription, "3x2x3")
        // x0 = (7 - 3) // 2 = 2, y0 = (6 - 2) // 2 = 2.
        for y in 0..<2 { for x in 0..<3 { for c in 0..<3 { XCTAssertEqual(out[x, y, c], src[x + 2, y + 2, c]) } } }
        // Odd margins round down: 6 wide, crop 3 -> x0 = 1.
        let odd = try CropImage(.init(size: SizeOption(3))).transform(TestData.pattern(width: 6, height: 3), rng: &rng)
        XCTAssertEqual(odd[0, 0, 0], TestData.pattern(width: 6, height: 3)[1, 0, 0])
    }

    func testCropLargerThanImageNamesTheFile() throws {
        let op = try CropImage(.init(size: SizeOption(8)))
        var sample = Sample(path: "/data/small.jpg", payload: .image(TestData.pattern(width: 5, height: 9)))
        var rng = RandomState(seed: 0)
        TestData.assertThrows(["CropImage", "/data/small.jpg", "5x9", "8x8"]) { try op.apply(&sample, rng: &rng) }
    }

    func testFlipCodes() throws {
        let src = TestData.pattern(width: 4, height: 3)
        func flipped(_ code: Int) throws -> Image {
            let op = try RandFlipImage(.init(flipCode: code))
            for seed in 0..<64 {
                var rng = RandomState(seed: UInt64(seed))
                let out = try op.transform(src, rng: &rng)
                if out != src { return out }
            }
            throw TransformError(op: "test", path: "", message: "never flipped")
        }
        let h = try flipped(1), v = try flipped(0), both = try flipped(-1)
        for y in 0..<3 {
            for x in 0..<4 {
                for c in 0..<3 {
                    XCTAssertEqual(h[x, y, c], src[3 - x, y, c])
                    XCTAssertEqual(v[x, y, c], src[x, 2 - y, c])
                    XCTAssertEqual(both[x, y, c], src[3 - x, 2 - y, c])
                }
            }
        }
    }

    func testFlipHappensAboutHalfTheTimeAndIsSeeded() throws {
        let op = try RandFlipImage(.init())
        let src = TestData.pattern(width: 3, height: 2)
        var flips = 0
        for seed in 0..<1000 {
            var a = RandomState(seed: UInt64(seed), stream: 9), b = RandomState(seed: UInt64(seed), stream: 9)
            let x = try op.transform(src, rng: &a)
            XCTAssertEqual(x, try op.transform(src, rng: &b))
            if x != src { flips += 1 }
        }
        XCTAssertTrue((430...570).contains(flips), "\(flips) flips in 1000")
    }

    func testRandCropOutputSizeAndDeterminism() throws {
        let op = try RandCropImage(.init(size: SizeOption(width: 20, height: 10)))
        let src = TestData.gradient(width: 64, height: 48)
        var distinct = Set<[UInt8]>()
        for seed in 0..<8 {
            var a = RandomState(seed: UInt64(seed)), b = RandomState(seed: UInt64(seed))
            let x = try op.transform(src, rng: &a)
            XCTAssertEqual(x.sizeDescription, "20x10x3")
            XCTAssertEqual(x, try op.transform(src, rng: &b), "same seed, same crop")
            distinct.insert(x.pixels)
        }
        XCTAssertGreaterThan(distinct.count, 4, "different seeds give different crops")
    }

    func testRandCropRectanglesFollowScaleAndRatio() throws {
        let op = try RandCropImage(.init(size: SizeOption(8), scale: [0.25, 0.5], ratio: [0.5, 2.0]))
        var rng = RandomState(seed: 3)
        for _ in 0..<500 {
            let r = op.cropRect(imageWidth: 200, imageHeight: 100, rng: &rng)
            XCTAssertTrue(r.x >= 0 && r.y >= 0 && r.x + r.w <= 200 && r.y + r.h <= 100, "\(r) outside 200x100")
            let fraction = Double(r.w * r.h) / 20_000
            XCTAssertTrue(fraction <= 0.5 + 1e-9 && fraction > 0.2, "area fraction \(fraction)")
            let aspect = Double(r.w) / Double(r.h)
            XCTAssertTrue(aspect > 0.45 && aspect < 2.2, "aspect \(aspect)")
        }
        // The whole image: scale [1, 1] and ratio [1, 1] on a square picks everything.
        let full = try RandCropImage(.init(size: SizeOption(8), scale: [1, 1], ratio: [1, 1]))
        let r = full.cropRect(imageWidth: 50, imageHeight: 50, rng: &rng)
        XCTAssertTrue(r == (0, 0, 50, 50), "\(r)")
        // Tiny images never give an empty crop.
        let tiny = op.cropRect(imageWidth: 1, imageHeight: 1, rng: &rng)
        XCTAssertTrue(tiny == (0, 0, 1, 1), "\(tiny)")
    }

    func testNormalizeDefaults() throws {
        let op = try NormalizeImage(.init())
        var rng = RandomState(seed: 0)
        let src = Image(width: 1, height: 1, channels: 3, pixels: [0, 128, 255])
        let out = try op.transform(src.toFloat(), rng: &rng)  // float input works too
        let viaU8 = try applyNormalize(op, src)
        XCTAssertEqual(out, viaU8)
        assertClose(viaU8.pixels, [-2.1179039, 0.2051821, 2.64], tol: 1e-5, "ImageNet normalisation")
    }

    /// The vectorised path computes exactly NumPy's float32 `(x * scale - mean) / std`, element by element.
    func testNormalizeIsBitExactOnLargeImages() throws {
        let op = try NormalizeImage(.init(scale: 1.0 / 255.0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]))
        let src = TestData.pattern(width: 37, height: 5)  // 555 components: SIMD blocks plus a scalar tail
        let out = try applyNormalize(op, src)
        let (s, m, d): (Float, [Float], [Float]) = (Float(1.0 / 255.0), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        for i in 0..<src.pixels.count {
            let c = i % 3
            let expected = (Float(src.pixels[i]) * s - m[c]) / d[c]
            XCTAssertEqual(out.pixels[i].bitPattern, expected.bitPattern, "component \(i)")
        }
        let viaFloat = try op.transform(src.toFloat(), rng: &rngForTests)
        XCTAssertEqual(viaFloat, out)
    }

    private var rngForTests = RandomState(seed: 0)

    func testNormalizeCustomAndFourChannels() throws {
        let op = try NormalizeImage(.init(scale: 1, mean: [1, 2, 3], std: [2, 2, 0.5], channelNum: 4))
        let out = try applyNormalize(op, Image(width: 2, height: 1, channels: 3, pixels: [5, 6, 7, 1, 2, 3]))
        XCTAssertEqual(out.channels, 4)
        XCTAssertEqual(out.pixels, [2, 2, 8, 0, 0, 0, 0, 0])
    }

    private func applyNormalize(_ op: NormalizeImage, _ img: Image) throws -> FloatImage {
        var sample = Sample(path: "x.png", payload: .image(img))
        var rng = RandomState(seed: 0)
        try op.apply(&sample, rng: &rng)
        guard case .floatImage(let out) = sample.payload else { throw TransformError(op: "", path: "", message: "not float") }
        return out
    }

    func testPipelineFromBytes() throws {
        let png = try ImageCodec.encodePNG(Image(width: 2, height: 2, channels: 3, pixels: Array(repeating: 51, count: 12)))
        var sample = Sample(path: "a.png", label: 3, payload: .encoded(png))
        let ops: [any ImageOp] = [
            try DecodeImage(.init()), try ResizeImage(.init(size: SizeOption(4))),
            try NormalizeImage(.init(scale: 1.0 / 255.0, mean: [0, 0, 0], std: [1, 1, 1])), try ToCHWImage(),
        ]
        var rng = RandomState(seed: 0)
        try Transforms.apply(ops, to: &sample, rng: &rng)
        guard case .floatImage(let out) = sample.payload else { return XCTFail("not normalised") }
        XCTAssertEqual(out.sizeDescription, "4x4x3", "ToCHWImage keeps HWC")
        assertClose(out.pixels, Array(repeating: 0.2, count: 48), tol: 1e-6, "51/255")
    }

    func testOpsBeforeDecodeExplainTheFix() throws {
        var sample = Sample(path: "raw.jpg", payload: .encoded([1, 2, 3]))
        var rng = RandomState(seed: 0)
        TestData.assertThrows(["ResizeImage", "raw.jpg", "DecodeImage"]) {
            try ResizeImage(.init(size: SizeOption(4))).apply(&sample, rng: &rng)
        }
        TestData.assertThrows(["NormalizeImage", "DecodeImage"]) { try NormalizeImage().apply(&sample, rng: &rng) }
    }

    func testDecodeImageOrderAndErrors() throws {
        let png = PNGFixture.make(width: 1, height: 1, bitDepth: 8, colorType: 2, rows: [[1, 2, 3]])
        var sample = Sample(path: "p.png", payload: .encoded(png))
        var rng = RandomState(seed: 0)
        try DecodeImage(.init(toRGB: false)).apply(&sample, rng: &rng)
        guard case .image(let img) = sample.payload else { return XCTFail("not decoded") }
        XCTAssertEqual(img.pixels, [3, 2, 1])
        var bad = Sample(path: "/x/broken.png", payload: .encoded([0x89, 0x50]))
        TestData.assertThrows(["/x/broken.png", "truncated"]) { try DecodeImage().apply(&bad, rng: &rng) }
        TestData.assertThrows(["DecodeImage", "max_pixels must be positive"]) { try DecodeImage(.init(maxPixels: 0)) }
        let png2 = PNGFixture.make(width: 2, height: 2, bitDepth: 8, colorType: 0, rows: [[1, 2], [3, 4]])
        var big = Sample(path: "big.png", payload: .encoded(png2))
        TestData.assertThrows(["big.png", "exceeds the limit of 3"]) {
            try DecodeImage(.init(maxPixels: 3)).apply(&big, rng: &rng)
        }
    }
}
