import ClasData
import ClasTensor
import XCTest
import _ClasTestSupport

/// JPEG encode/decode round trips, gray and CMYK handling.
final class JPEGDecodeTests: XCTestCase {
    private func meanAbsDiff(_ a: [UInt8], _ b: [UInt8]) -> Double {
        XCTAssertEqual(a.count, b.count)
        var s = 0
        for (x, y) in zip(a, b) { s += abs(Int(x) - Int(y)) }
        return Double(s) / Double(max(a.count, 1))
    }

    func testRGBRoundTripIsClose() throws {
        let src = TestData.gradient(width: 64, height: 48)
        let jpeg = try ImageCodec.encodeJPEG(src, quality: 95)
        XCTAssertEqual(Array(jpeg.prefix(3)), [0xFF, 0xD8, 0xFF])
        let img = try ImageCodec.decode(jpeg, path: "g.jpg")
        XCTAssertEqual(img.sizeDescription, "64x48x3")
        XCTAssertLessThan(meanAbsDiff(img.pixels, src.pixels), 2.0)
        XCTAssertNotEqual(img.pixels, Image(width: 64, height: 48, channels: 3).pixels)
    }

    func testBGRIsReversedRGB() throws {
        let jpeg = try ImageCodec.encodeJPEG(TestData.gradient(width: 16, height: 16))
        let rgb = try ImageCodec.decode(jpeg)
        let bgr = try ImageCodec.decode(jpeg, toRGB: false)
        XCTAssertEqual(bgr, rgb.reversingChannels())
        XCTAssertNotEqual(bgr, rgb)
    }

    func testGrayBecomesThreeEqualChannels() throws {
        var gray = Image(width: 16, height: 8, channels: 1)
        for y in 0..<8 { for x in 0..<16 { gray[x, y, 0] = UInt8(x * 15 + y) } }
        let img = try ImageCodec.decode(try ImageCodec.encodeJPEG(gray, quality: 98))
        XCTAssertEqual(img.channels, 3)
        for y in 0..<8 {
            for x in 0..<16 {
                XCTAssertEqual(img[x, y, 0], img[x, y, 1])
                XCTAssertEqual(img[x, y, 1], img[x, y, 2])
                XCTAssertLessThanOrEqual(abs(Int(img[x, y, 0]) - Int(gray[x, y, 0])), 3)
            }
        }
    }

    /// PIL's conversion of an (Adobe-inverted) CMYK pixel with stored values c, k: k - k*(255-c)/255.
    private func pilCMYKToRGB(_ stored: UInt8, _ k: UInt8) -> Int {
        let t = (255 - Int(stored)) * Int(k) + 128
        return Int(k) - (((t >> 8) + t) >> 8)
    }

    func testCMYKIsConvertedLikePIL() throws {
        let colours: [[UInt8]] = [[200, 100, 50, 220], [0, 255, 128, 255], [255, 255, 255, 0], [30, 60, 90, 128]]
        var cmyk = Image(width: 32, height: 32, channels: 4)
        for y in 0..<32 {
            for x in 0..<32 {
                let colour = colours[(y / 16) * 2 + x / 16]
                for c in 0..<4 { cmyk[x, y, c] = colour[c] }
            }
        }
        let jpeg = try ImageCodec.encodeJPEG(cmyk, quality: 100, cmyk: true)
        let img = try ImageCodec.decode(jpeg, path: "cmyk.jpg")
        XCTAssertEqual(img.channels, 3)
        for (i, colour) in colours.enumerated() {
            let (x, y) = ((i % 2) * 16 + 8, (i / 2) * 16 + 8)
            for c in 0..<3 {
                let expected = pilCMYKToRGB(colour[c], colour[3])
                XCTAssertLessThanOrEqual(abs(Int(img[x, y, c]) - expected), 3,
                                         "colour \(colour) channel \(c): \(img[x, y, c]) vs \(expected)")
            }
        }
        // Stored k = 0 means full ink under Adobe inversion: black.
        XCTAssertLessThanOrEqual(img[24, 8, 0], 3)
    }

    /// A JPEG with an APP1 EXIF segment holding `orientation` inserted after SOI.
    private func withEXIF(_ jpeg: [UInt8], orientation: Int, littleEndian: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { littleEndian ? [UInt8(v & 0xFF), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func u32(_ v: Int) -> [UInt8] { littleEndian ? u16(v & 0xFFFF) + u16(v >> 16) : u16(v >> 16) + u16(v & 0xFFFF) }
        var tiff: [UInt8] = littleEndian ? [0x49, 0x49] : [0x4D, 0x4D]
        tiff += u16(42) + u32(8) + u16(2)
        tiff += u16(0x010F) + u16(2) + u32(4) + Array("Cam\0".utf8)  // Make, inline ASCII
        tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0)
        tiff += u32(0)
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let length = payload.count + 2
        return [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload + jpeg.dropFirst(2)
    }

    func testEXIFOrientationLikeOpenCV() throws {
        var src = Image(width: 32, height: 16, channels: 3)
        for y in 0..<16 { for x in 0..<32 { for c in 0..<3 { src[x, y, c] = UInt8((x / 8) * 60 + (y / 8) * 20 + c) } } }
        let plain = try ImageCodec.encodeJPEG(src, quality: 100)
        let raw = try ImageCodec.decode(plain)
        for little in [false, true] {
            let rotated = withEXIF(plain, orientation: 6, littleEndian: little)
            let upright = try ImageCodec.decode(rotated, exifOrientation: true)
            XCTAssertEqual(upright.sizeDescription, "16x32x3", "orientation 6 turns the image a quarter clockwise")
            for y in 0..<32 { for x in 0..<16 { XCTAssertEqual(upright[x, y, 0], raw[y, 15 - x, 0]) } }
            XCTAssertEqual(try ImageCodec.decode(rotated), raw, "not applied unless asked")
            let flipped = try ImageCodec.decode(withEXIF(plain, orientation: 3, littleEndian: little), exifOrientation: true)
            XCTAssertEqual(flipped[0, 0, 0], raw[31, 15, 0])
            XCTAssertEqual(flipped[31, 15, 1], raw[0, 0, 1])
        }
        var cv2 = Sample(path: "r.jpg", payload: .encoded(withEXIF(plain, orientation: 8, littleEndian: true)))
        var pil = cv2
        var rng = RandomState(seed: 0)
        try DecodeImage().apply(&cv2, rng: &rng)
        try DecodeImage(.init(backend: "pil")).apply(&pil, rng: &rng)
        guard case .image(let a) = cv2.payload, case .image(let b) = pil.payload else { return XCTFail("not decoded") }
        XCTAssertEqual(a.sizeDescription, "16x32x3", "backend cv2 applies EXIF orientation")
        XCTAssertEqual(b, raw, "backend pil ignores it")
        // Orientation 8: transpose then vertical flip: out(x, y) = raw(31 - y, x).
        XCTAssertEqual(a[3, 0, 0], raw[31, 3, 0])
        // Malformed EXIF is ignored.
        var broken = withEXIF(plain, orientation: 6, littleEndian: false)
        broken[12] = 0x00  // damage the TIFF byte-order mark
        XCTAssertEqual(try ImageCodec.decode(broken, exifOrientation: true), raw)
    }

    func testOneByOne() throws {
        var px = Image(width: 1, height: 1, channels: 3)
        px.pixels = [200, 30, 90]
        let img = try ImageCodec.decode(try ImageCodec.encodeJPEG(px, quality: 100))
        XCTAssertEqual(img.sizeDescription, "1x1x3")
        XCTAssertLessThan(meanAbsDiff(img.pixels, px.pixels), 6)
    }

    func testQualityIsValidated() {
        TestData.assertThrows(["quality must be 1...100"]) {
            try ImageCodec.encodeJPEG(TestData.gradient(width: 4, height: 4), quality: 0)
        }
    }

    func testWriteJPEGFile() throws {
        let path = temporaryDirectory() + "/a.jpg"
        try ImageCodec.writeJPEG(TestData.gradient(width: 20, height: 10), to: path, quality: 90)
        XCTAssertEqual(try ImageCodec.decodeFile(path).sizeDescription, "20x10x3")
    }

    func testBMP24And8Bit() throws {
        // 24-bit, bottom-up, 2x2: rows padded to 8 bytes.
        var bmp: [UInt8] = Array("BM".utf8) + le32(14 + 40 + 16) + le32(0) + le32(54)
        bmp += le32(40) + le32(2) + le32(2) + [1, 0, 24, 0] + le32(0) + le32(16) + le32(0) + le32(0) + le32(0) + le32(0)
        bmp += [3, 2, 1, 6, 5, 4, 0, 0]  // bottom row: (1,2,3) (4,5,6) stored BGR
        bmp += [9, 8, 7, 12, 11, 10, 0, 0]  // top row
        let img = try ImageCodec.decode(bmp, path: "a.bmp")
        XCTAssertEqual(img.pixels, [7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6])
        // 8-bit palette, top-down (negative height), 3x1.
        var pal: [UInt8] = Array("BM".utf8) + le32(0) + le32(0) + le32(14 + 40 + 8)
        pal += le32(40) + le32(3) + le32(UInt32(bitPattern: -1)) + [1, 0, 8, 0] + le32(0) + le32(4) + le32(0) + le32(0)
        pal += le32(2) + le32(0)
        pal += [30, 20, 10, 0, 60, 50, 40, 0]  // palette entries (B, G, R, 0)
        pal += [1, 0, 1, 0]
        XCTAssertEqual(try ImageCodec.decode(pal).pixels, [40, 50, 60, 10, 20, 30, 40, 50, 60])
    }

    private func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
    private func le32(_ v: Int) -> [UInt8] { le32(UInt32(v)) }
}
