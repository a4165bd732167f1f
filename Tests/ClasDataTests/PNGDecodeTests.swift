import ClasData
import XCTest
import _ClasTestSupport

/// Every PNG variant arrives as 8-bit RGB (alpha dropped, palettes expanded, 16-bit reduced).
final class PNGDecodeTests: XCTestCase {
    private func decode(_ png: [UInt8], toRGB: Bool = true) throws -> Image {
        try ImageCodec.decode(png, path: "test.png", toRGB: toRGB)
    }

    func testGray8() throws {
        let img = try decode(PNGFixture.make(width: 2, height: 1, bitDepth: 8, colorType: 0, rows: [[10, 200]]))
        XCTAssertEqual(img.sizeDescription, "2x1x3")
        XCTAssertEqual(img.pixels, [10, 10, 10, 200, 200, 200])
    }

    func testGray1BitExpandsToFullRange() throws {
        let img = try decode(PNGFixture.make(width: 3, height: 1, bitDepth: 1, colorType: 0, rows: [[0b1010_0000]]))
        XCTAssertEqual(img.pixels, [255, 255, 255, 0, 0, 0, 255, 255, 255])
    }

    func testGrayAlphaDropsAlpha() throws {
        let png = PNGFixture.make(width: 2, height: 1, bitDepth: 8, colorType: 4, rows: [[50, 0, 60, 128]])
        XCTAssertEqual(try decode(png).pixels, [50, 50, 50, 60, 60, 60])
    }

    func testRGB8() throws {
        let png = PNGFixture.make(width: 2, height: 2, bitDepth: 8, colorType: 2,
                                  rows: [[1, 2, 3, 4, 5, 6], [7, 8, 9, 250, 251, 252]])
        XCTAssertEqual(try decode(png).pixels, [1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 251, 252])
    }

    func testRGBAKeepsStoredColoursWithoutCompositing() throws {
        let png = PNGFixture.make(width: 3, height: 1, bitDepth: 8, colorType: 6,
                                  rows: [[10, 20, 30, 0, 200, 100, 50, 128, 90, 91, 92, 255]])
        XCTAssertEqual(try decode(png).pixels, [10, 20, 30, 200, 100, 50, 90, 91, 92])
    }

    func testBGROrder() throws {
        let png = PNGFixture.make(width: 2, height: 1, bitDepth: 8, colorType: 6, rows: [[1, 2, 3, 9, 4, 5, 6, 9]])
        XCTAssertEqual(try decode(png, toRGB: false).pixels, [3, 2, 1, 6, 5, 4])
        let rgb = PNGFixture.make(width: 1, height: 1, bitDepth: 8, colorType: 2, rows: [[7, 8, 9]])
        XCTAssertEqual(try decode(rgb, toRGB: false).pixels, [9, 8, 7])
    }

    func testPaletteWithTransparency() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255]
        let png = PNGFixture.make(width: 3, height: 1, bitDepth: 8, colorType: 3, rows: [[2, 0, 1]],
                                  palette: palette, transparency: [0, 128])
        XCTAssertEqual(try decode(png).pixels, [0, 0, 255, 255, 0, 0, 0, 255, 0])
    }

    func testPalette4Bit() throws {
        let palette: [UInt8] = [0, 0, 0, 10, 20, 30, 40, 50, 60]
        let png = PNGFixture.make(width: 3, height: 1, bitDepth: 4, colorType: 3, rows: [[0x12, 0x00]], palette: palette)
        XCTAssertEqual(try decode(png).pixels, [10, 20, 30, 40, 50, 60, 0, 0, 0])
    }

    func test16BitRGBTakesTheHighByte() throws {
        let samples = [0x1234, 0x8080, 0xFFFF, 0x0000, 0x00FF, 0x7FFF]
        let png = PNGFixture.make(width: 2, height: 1, bitDepth: 16, colorType: 2, rows: [PNGFixture.be16(samples)])
        let img = try decode(png)
        for (got, v) in zip(img.pixels, samples) {
            XCTAssertLessThanOrEqual(abs(Int(got) - (v >> 8)), 1, "16-bit sample \(v) decoded to \(got)")
        }
        XCTAssertEqual(img.pixels[2], 255)
        XCTAssertEqual(img.pixels[3], 0)
    }

    func test16BitGrayAlpha() throws {
        let png = PNGFixture.make(width: 1, height: 1, bitDepth: 16, colorType: 4,
                                  rows: [PNGFixture.be16([0x4000, 0x1000])])
        let img = try decode(png)
        XCTAssertEqual(img.channels, 3)
        for v in img.pixels { XCTAssertLessThanOrEqual(abs(Int(v) - 0x40), 1) }
    }

    func testOneByOne() throws {
        let png = PNGFixture.make(width: 1, height: 1, bitDepth: 8, colorType: 0, rows: [[77]])
        XCTAssertEqual(try decode(png).pixels, [77, 77, 77])
    }

    func testEncoderRoundTripsAllChannelCounts() throws {
        for channels in 1...4 {
            let src = TestData.pattern(width: 5, height: 3, channels: channels)
            let decoded = try ImageCodec.decode(try ImageCodec.encodePNG(src))
            for y in 0..<3 {
                for x in 0..<5 {
                    let expected: [UInt8] = channels <= 2
                        ? Array(repeating: src[x, y, 0], count: 3) : (0..<3).map { src[x, y, $0] }
                    XCTAssertEqual((0..<3).map { decoded[x, y, $0] }, expected, "\(channels) channels at (\(x),\(y))")
                }
            }
        }
    }

    func testWritePNGFileIsAtomicAndReadable() throws {
        let dir = temporaryDirectory()
        let path = dir + "/sub/out.png"
        let src = TestData.pattern(width: 4, height: 4)
        try ImageCodec.writePNG(src, to: path)
        XCTAssertEqual(try ImageCodec.decodeFile(path), src)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/sub")
        XCTAssertEqual(leftovers, ["out.png"])
    }

    func testEncoderRejectsFiveChannels() {
        TestData.assertThrows(["1, 2, 3 or 4 channels"]) {
            try ImageCodec.encodePNG(Image(width: 1, height: 1, channels: 5))
        }
    }
}
