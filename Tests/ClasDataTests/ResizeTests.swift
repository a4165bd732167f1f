import ClasData
import ClasTensor
import XCTest
import _ClasTestSupport

/// `ResizeImage` against values computed by hand from cv2.resize's definitions.
final class ResizeTests: XCTestCase {
    private func resize<C>(_ img: PixelImage<C>, _ w: Int, _ h: Int, _ interp: String) throws -> PixelImage<C> {
        let op = try ResizeImage(.init(size: SizeOption(width: w, height: h), interpolation: interp))
        var rng = RandomState(seed: 1)
        return try op.transform(img, rng: &rng)
    }

    /// 2x2 -> 4x4 bilinear with half-pixel centres: row/column weights [1,0], [.75,.25], [.25,.75], [0,1].
    func testBilinear2x2To4x4() throws {
        let src = Image(width: 2, height: 2, channels: 1, pixels: [0, 2, 200, 252])
        let out = try resize(src, 4, 4, "bilinear")
        XCTAssertEqual(out.pixels, [
            0, 0, 1, 2,  // [0, 0.5, 1.5, 2], but cv2's fixed point mixes the clamped border row with itself at
                         // weights 0.25/0.75 and truncates each product: 0 and 1 (checked against OpenCV 5.0)
            50, 54, 61, 65,  // 0.75 * top + 0.25 * bottom = [50, 53.625, 60.875, 64.5]; halves round up
            150, 160, 180, 190,  // [150, 159.875, 179.625, 189.5]
            200, 213, 239, 252,
        ])
        let f = try resize(src.toFloat(), 4, 4, "bilinear")
        assertClose(Array(f.pixels[4..<8]), [50, 53.625, 60.875, 64.5], tol: 1e-4, "float row 1")
    }

    /// Outputs of OpenCV 5.0's cv2.resize for a random 5x4 gray image (uint8 for bilinear, float32 otherwise).
    func testAgainstOpenCVReference() throws {
        let input: [UInt8] = [139, 74, 229, 241, 169, 65, 6, 160, 149, 106, 38, 175, 188, 205, 175, 229, 98, 249, 10, 148]
        let src = Image(width: 5, height: 4, channels: 1, pixels: input)
        XCTAssertEqual(try resize(src, 7, 3, "bilinear").pixels,
                       [127, 90, 107, 217, 223, 197, 158, 52, 74, 114, 174, 176, 161, 141, 197, 148, 147, 239, 98, 89, 152])
        XCTAssertEqual(try resize(src, 3, 6, "bilinear").pixels,
                       [117, 229, 193, 81, 195, 157, 52, 165, 131, 77, 183, 174, 134, 219, 143, 185, 249, 102])
        let f = src.toFloat()
        let expected: [String: [Float]] = [
            "bicubic": [134.1651, 73.1523, 95.0678, 218.6111, 238.9777, 199.1112, 153.4026, 21.5642, 56.7902, 115.9226,
                        161.8125, 188.5982, 168.4693, 133.226, 208.1356, 135.893, 145.0334, 240.7315, 85.3501, 65.6892,
                        162.0557],
            "area": [120.5, 82.4, 87.95, 211.75, 216.75, 192.1, 153.25, 51.5, 74.9, 107.2, 174.0, 176.4, 162.4, 140.5,
                     181.25, 142.85, 140.55, 233.75, 93.75, 97.15, 154.75],
            "lanczos": [143.9421, 69.115, 86.7246, 219.5646, 244.0465, 186.6427, 153.6751, 15.8597, 55.6065, 113.2989,
                        158.5459, 190.3668, 168.7957, 131.9865, 215.6755, 125.4048, 157.3803, 243.1234, 90.7903, 55.6826,
                        171.5581],
        ]
        for (mode, values) in expected { assertClose(try resize(f, 7, 3, mode).pixels, values, tol: 2e-3, "\(mode) 5x4 -> 7x3") }
        assertClose(try resize(f, 3, 2, "area").pixels, [77.2, 163.7, 160.5, 134.7, 179.9, 139.9], tol: 2e-3, "area 5x4 -> 3x2")
        assertClose(try resize(f, 3, 2, "bicubic").pixels, [69.9103, 191.875, 149.3987, 133.8767, 221.125, 144.5642],
                    tol: 2e-3, "bicubic 5x4 -> 3x2")
    }

    /// Outputs of Pillow 13's Image.resize for the same image (`backend: pil`, antialiased), 8-bit.
    func testAgainstPillowReference() throws {
        let input: [UInt8] = [139, 74, 229, 241, 169, 65, 6, 160, 149, 106, 38, 175, 188, 205, 175, 229, 98, 249, 10, 148]
        let src = Image(width: 5, height: 4, channels: 1, pixels: input)
        func pil(_ w: Int, _ h: Int, _ mode: String) throws -> [UInt8] {
            let op = try ResizeImage(.init(size: SizeOption(width: w, height: h), interpolation: mode, backend: "pil"))
            var rng = RandomState(seed: 0)
            return try op.transform(src, rng: &rng).pixels
        }
        XCTAssertEqual(try pil(7, 6, "bilinear"), [139, 102, 118, 229, 238, 210, 169, 102, 67, 84, 195, 195, 171, 138, 60, 45, 72,
                                                  165, 160, 141, 118, 43, 102, 157, 183, 192, 182, 163, 134, 135, 160, 219, 139,
                                                  131, 162, 229, 154, 141, 249, 78, 69, 148])
        XCTAssertEqual(try pil(3, 2, "bilinear"), [79, 164, 166, 121, 168, 136])
        XCTAssertEqual(try pil(3, 2, "bicubic"), [70, 166, 172, 125, 169, 134])
        XCTAssertEqual(try pil(3, 2, "lanczos"), [63, 169, 178, 125, 166, 132])
        XCTAssertEqual(try pil(3, 2, "box"), [72, 195, 167, 136, 219, 135])
        XCTAssertEqual(try pil(3, 2, "hamming"), [79, 173, 160, 131, 189, 140])
        XCTAssertEqual(try pil(3, 2, "nearest"), [65, 160, 106, 229, 249, 148])
        XCTAssertEqual(try pil(7, 6, "bicubic"), [148, 97, 110, 234, 254, 215, 169, 110, 54, 66, 195, 204, 168, 132, 57, 29, 54,
                                                 159, 161, 134, 108, 22, 100, 173, 180, 205, 192, 165, 137, 136, 167, 222, 131,
                                                 124, 168, 251, 148, 128, 253, 53, 46, 155])
        XCTAssertEqual(try pil(7, 6, "nearest"), [139, 74, 74, 229, 241, 241, 169, 65, 6, 6, 160, 149, 149, 106, 65, 6, 6, 160,
                                                 149, 149, 106, 38, 175, 175, 188, 205, 205, 175, 38, 175, 175, 188, 205, 205,
                                                 175, 229, 98, 98, 249, 10, 10, 148])
        // Pillow's bicubic differs from cv2's (a = -0.5 and antialiasing vs a = -0.75 and 4 taps).
        XCTAssertNotEqual(try pil(3, 2, "bicubic"), try resize(src, 3, 2, "bicubic").pixels)
        TestData.assertThrows(["ResizeImage", "interpolation", "area", "backend pil"]) {
            try ResizeImage(.init(size: SizeOption(3), interpolation: "area", backend: "pil"))
        }
        TestData.assertThrows(["ResizeImage", "'box'", "backend cv2"]) {
            try ResizeImage(.init(size: SizeOption(3), interpolation: "box"))
        }
    }

    /// The exact 8-bit bilinear path stays within one level of the float computation.
    func testFixedPointBilinearTracksFloat() throws {
        var rng = RandomState(seed: 9)
        for (w, h, ow, oh) in [(37, 23, 64, 40), (100, 80, 33, 27), (9, 9, 18, 18), (13, 7, 27, 3)] {
            let src = Image(width: w, height: h, channels: 3) { p in for i in 0..<p.count { p[i] = UInt8(rng.int(below: 256)) } }
            let u8 = try resize(src, ow, oh, "bilinear")
            let f = try resize(src.toFloat(), ow, oh, "bilinear")
            for (a, b) in zip(u8.pixels, f.pixels) { XCTAssertLessThanOrEqual(abs(Float(a) - b), 1.01) }
        }
    }

    func testBilinearIsTheDefault() throws {
        let src = Image(width: 2, height: 2, channels: 1, pixels: [0, 2, 200, 252])
        let op = try ResizeImage(.init(size: SizeOption(4)))
        var rng = RandomState(seed: 1)
        XCTAssertEqual(try op.transform(src, rng: &rng), try resize(src, 4, 4, "bilinear"))
    }

    func testNearestUsesFloorNotHalfPixel() throws {
        let src = Image(width: 2, height: 2, channels: 1, pixels: [1, 2, 3, 4])
        XCTAssertEqual(try resize(src, 4, 4, "nearest").pixels, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        // 3 -> 2: cv2.INTER_NEAREST takes floor(d * 1.5) = 0, 1 (half-pixel centres would take 0, 2).
        let row = Image(width: 3, height: 1, channels: 1, pixels: [10, 20, 30])
        XCTAssertEqual(try resize(row, 2, 1, "nearest").pixels, [10, 20])
    }

    func testAreaDownscaleByTwoIsBlockMean() throws {
        let src = Image(width: 4, height: 2, channels: 2, pixels: [
            1, 10, 2, 20, 100, 0, 100, 0,
            3, 30, 4, 40, 101, 0, 100, 0,
        ])
        let out = try resize(src, 2, 1, "area")
        // (1+2+3+4)/4 = 2.5 -> 3 (cv2 rounds half up here), (10+20+30+40)/4 = 25, 401/4 = 100.25 -> 100, 0.
        XCTAssertEqual(out.pixels, [3, 25, 100, 0])
    }

    func testAreaFractionalDownscale() throws {
        // 3 -> 2: weights [2/3, 1/3, 0] and [0, 1/3, 2/3].
        let src = FloatImage(width: 3, height: 1, channels: 1, pixels: [30, 60, 90])
        assertClose(try resize(src, 2, 1, "area").pixels, [40, 80], tol: 1e-4, "area 3->2")
    }

    func testAreaUpscaleMatchesOpenCVAreaLinear() throws {
        // INTER_AREA upscaling 2 -> 4: sx = floor(d/2), fx = (d+1) - (sx+1)*2 clipped, i.e. weights
        // [1,0], [1,0]... fx for d=1: 2 - 2 = 0; d=2: sx=1 -> last pixel. Result is nearest-like: [a, a, b, b].
        let src = FloatImage(width: 2, height: 1, channels: 1, pixels: [10, 50])
        assertClose(try resize(src, 4, 1, "area").pixels, [10, 10, 50, 50], tol: 1e-5, "area 2->4")
        // 2 -> 3: scale 2/3; d=0: sx=0, fx = 1 - 1.5 <= 0 -> 0; d=1: sx=0, fx = 2 - 1.5 = 0.5; d=2: sx=1 -> last.
        assertClose(try resize(src, 3, 1, "area").pixels, [10, 30, 50], tol: 1e-5, "area 2->3")
    }

    /// Keys cubic (a = -0.75) weights at x = 0.25 are [-0.10546875, 0.87890625, 0.26171875, -0.03515625].
    func testBicubicUpscaleWithReplicatedBorder() throws {
        let src = FloatImage(width: 2, height: 1, channels: 1, pixels: [0, 100])
        let out = try resize(src, 4, 1, "bicubic")
        assertClose(out.pixels, [-10.546875, 22.65625, 77.34375, 110.546875], tol: 1e-4, "bicubic float")
        let u8 = try resize(Image(width: 2, height: 1, channels: 1, pixels: [0, 100]), 4, 1, "bicubic")
        XCTAssertEqual(u8.pixels, [0, 23, 77, 111], "8-bit results saturate")
    }

    func testLanczosKeepsConstantsAndInterpolatesSamples() throws {
        let flat = FloatImage(width: 5, height: 5, channels: 1, pixels: Array(repeating: 42, count: 25))
        assertClose(try resize(flat, 9, 7, "lanczos").pixels, Array(repeating: 42, count: 63), tol: 1e-3, "flat")
        let ramp = FloatImage(width: 8, height: 1, channels: 1, pixels: (0..<8).map { Float($0 * 10) })
        let up = try resize(ramp, 16, 1, "lanczos")
        XCTAssertEqual(up.pixels[8], 37.5, accuracy: 1.0, "interior of a ramp stays near the ramp")
    }

    func testEqualSizeCopiesUnchanged() throws {
        let src = TestData.pattern(width: 5, height: 4)
        XCTAssertEqual(try resize(src, 5, 4, "bicubic"), src)
    }

    func testResizeShortRoundsHalfToEven() throws {
        let op = try ResizeImage(.init(resizeShort: 3))
        // 4 x 6 -> percent 0.75 -> (3, round(4.5) = 4): Python's round goes to even.
        XCTAssertTrue(op.outputSize(width: 4, height: 6) == (3, 4))
        let op4 = try ResizeImage(.init(resizeShort: 4))
        XCTAssertTrue(op4.outputSize(width: 5, height: 3) == (7, 4))  // 6.67 -> 7
        let op5 = try ResizeImage(.init(resizeShort: 5))
        XCTAssertTrue(op5.outputSize(width: 10, height: 2) == (25, 5))
        var rng = RandomState(seed: 0)
        XCTAssertEqual(try op.transform(TestData.pattern(width: 4, height: 6), rng: &rng).sizeDescription, "3x4x3")
    }

    func testResizeShortWinsOverSize() throws {
        let op = try ResizeImage(.init(size: SizeOption(10), resizeShort: 4))
        XCTAssertTrue(op.outputSize(width: 8, height: 16) == (4, 8))
        let sizeOnly = try ResizeImage(.init(size: SizeOption(10), resizeShort: 0))
        XCTAssertTrue(sizeOnly.outputSize(width: 8, height: 16) == (10, 10))
    }

    func testRandomInterpolationIsSeeded() throws {
        let op = try ResizeImage(.init(size: SizeOption(7), interpolation: "random"))
        let src = TestData.gradient(width: 13, height: 11)
        var outputs = Set<[UInt8]>()
        for seed in 0..<16 {
            var a = RandomState(seed: UInt64(seed)), b = RandomState(seed: UInt64(seed))
            let x = try op.transform(src, rng: &a)
            XCTAssertEqual(x, try op.transform(src, rng: &b))
            outputs.insert(x.pixels)
        }
        XCTAssertEqual(outputs.count, 2, "random picks bilinear or bicubic")
    }

    /// The vectorised float -> 8-bit store rounds half up and saturates exactly like `UInt8.converting`.
    func testVectorisedByteConversion() {
        var values: [Float] = [-1, -0.5, -0.1, 0, 0.49, 0.5, 0.51, 1.5, 2.5, 127.5, 254.49, 254.5, 255, 255.4, 300, .nan,
                               .infinity, -.infinity, 3.999_999_8, 100.000_01]
        var rng = RandomState(seed: 4)
        for _ in 0..<1000 { values.append(rng.uniform(-20, 280)) }
        for _ in 0..<200 { values.append(Float(rng.int(below: 256)) + 0.5) }
        var out = [UInt8](repeating: 7, count: values.count)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                if let s = src.baseAddress, let d = dst.baseAddress { UInt8.convert(s, to: d, count: values.count) }
            }
        }
        for (v, got) in zip(values, out) {
            let expected: UInt8 = v.isNaN || v <= 0 ? 0 : (v >= 254.5 ? 255 : UInt8((v + 0.5).rounded(.down)))
            XCTAssertEqual(got, expected, "value \(v)")
            XCTAssertEqual(UInt8.converting(v), expected, "scalar, value \(v)")
        }
    }

    func testMultiChannelMatchesPerChannel() throws {
        let src = TestData.pattern(width: 9, height: 7)
        let out = try resize(src, 5, 4, "bilinear")
        for c in 0..<3 {
            var plane = Image(width: 9, height: 7, channels: 1)
            for y in 0..<7 { for x in 0..<9 { plane[x, y, 0] = src[x, y, c] } }
            let p = try resize(plane, 5, 4, "bilinear")
            for y in 0..<4 { for x in 0..<5 { XCTAssertEqual(out[x, y, c], p[x, y, 0]) } }
        }
    }
}

extension ImageOp {
    /// Runs the op on an image (8-bit or float) and returns the resulting image of the same kind.
    func transform<C>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        var sample: Sample
        if let u8 = image as? Image {
            sample = Sample(path: "mem.png", payload: .image(u8))
        } else if let f = image as? FloatImage {
            sample = Sample(path: "mem.png", payload: .floatImage(f))
        } else {
            throw TransformError(op: "test", path: "", message: "unsupported component type")
        }
        try apply(&sample, rng: &rng)
        switch sample.payload {
        case .image(let out as PixelImage<C>): return out
        case .floatImage(let out as PixelImage<C>): return out
        default: throw TransformError(op: "test", path: "", message: "payload kind changed: \(sample.payloadDescription)")
        }
    }
}
