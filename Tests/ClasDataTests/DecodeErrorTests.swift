import ClasData
import XCTest
import _ClasTestSupport

/// Broken, empty, foreign and oversized files give `ImageError`s that name the file and the reason.
final class DecodeErrorTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = temporaryDirectory() }

    private func reason(of path: String, maxPixels: Int = ImageCodec.defaultMaxPixels) -> ImageError.Reason? {
        do {
            _ = try ImageCodec.decodeFile(path, maxPixels: maxPixels)
            XCTFail("\(path) decoded without error")
            return nil
        } catch let error as ImageError {
            XCTAssertEqual(error.path, path)
            XCTAssertTrue(error.description.contains(path), "description '\(error)' lacks the path")
            return error.reason
        } catch {
            XCTFail("unexpected error type: \(error)")
            return nil
        }
    }

    private var goodPNG: [UInt8] {
        PNGFixture.make(width: 8, height: 8, bitDepth: 8, colorType: 2, rows: Array(repeating: Array(repeating: 9, count: 24), count: 8))
    }

    func testZeroByteFile() throws {
        let path = try TestData.write([], dir, "empty.png")
        XCTAssertEqual(reason(of: path), .empty)
    }

    func testMissingFile() {
        guard case .unreadable(let m)? = reason(of: dir + "/nope.jpg") else { return XCTFail("not unreadable") }
        XCTAssertTrue(m.contains("No such file"), m)
    }

    func testTextFile() throws {
        let path = try TestData.write(Array("hello, this is not an image\n".utf8), dir, "notes.jpg")
        guard case .unknownFormat(let m)? = reason(of: path) else { return XCTFail("not unknownFormat") }
        XCTAssertTrue(m.contains("text"), m)
    }

    func testBinaryGarbageShowsLeadingBytes() throws {
        let path = try TestData.write([0x00, 0x01, 0xFE, 0x42, 0x99], dir, "x.png")
        guard case .unknownFormat(let m)? = reason(of: path) else { return XCTFail("not unknownFormat") }
        XCTAssertTrue(m.contains("00 01 fe 42 99"), m)
    }

    func testGIFIsUnsupported() throws {
        let path = try TestData.write(Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0], dir, "anim.gif")
        XCTAssertEqual(reason(of: path), .unsupportedFormat("GIF"))
        let description = "\(ImageError(path: path, reason: .unsupportedFormat("GIF")))"
        XCTAssertTrue(description.contains("unsupported format: GIF"))
    }

    func testTruncatedPNG() throws {
        let png = goodPNG
        let path = try TestData.write(Array(png.prefix(png.count / 2)), dir, "cut.png")
        switch reason(of: path) {
        case .truncated?, .corrupt?: break
        case let other: XCTFail("unexpected reason \(String(describing: other))")
        }
        let headerOnly = try TestData.write(Array(png.prefix(20)), dir, "cut2.png")
        XCTAssertNotNil(reason(of: headerOnly))
        let signatureOnly = try TestData.write(Array(png.prefix(4)), dir, "cut3.png")
        guard case .truncated? = reason(of: signatureOnly) else { return XCTFail("4 bytes should be truncated") }
    }

    func testCorruptPNGChecksum() throws {
        var png = goodPNG
        png[png.count - 30] ^= 0xFF  // inside IDAT: the CRC no longer matches
        let path = try TestData.write(png, dir, "bad.png")
        XCTAssertNotNil(reason(of: path))
    }

    func testTruncatedJPEG() throws {
        let jpeg = try ImageCodec.encodeJPEG(TestData.gradient(width: 64, height: 64), quality: 90)
        let path = try TestData.write(Array(jpeg.prefix(jpeg.count * 3 / 4)), dir, "cut.jpg")
        guard case .truncated(let m)? = reason(of: path) else { return XCTFail("not truncated") }
        XCTAssertTrue(m.lowercased().contains("premature end"), m)
        // A failed decode must not poison the thread's cached decompressor.
        XCTAssertEqual(try ImageCodec.decode(jpeg).sizeDescription, "64x64x3")
        XCTAssertNotNil(reason(of: try TestData.write(Array(jpeg.prefix(jpeg.count / 2)), dir, "cut-header.jpg")))
        XCTAssertEqual(try ImageCodec.decode(jpeg).sizeDescription, "64x64x3")
    }

    func testCorruptJPEGHeader() throws {
        let path = try TestData.write([0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 0x11, count: 200), dir, "bad.jpg")
        XCTAssertNotNil(reason(of: path))
    }

    func testPixelLimitCheckedFromPNGHeader() throws {
        // The header claims 100000 x 100000 pixels; the data is a few bytes. Decoding must refuse at the header.
        let png = PNGFixture.make(width: 100_000, height: 100_000, bitDepth: 8, colorType: 0, rows: [[0]])
        let path = try TestData.write(png, dir, "bomb.png")
        XCTAssertEqual(reason(of: path), .tooManyPixels(width: 100_000, height: 100_000, limit: ImageCodec.defaultMaxPixels))
        let small = try TestData.write(goodPNG, dir, "small.png")
        XCTAssertEqual(reason(of: small, maxPixels: 63), .tooManyPixels(width: 8, height: 8, limit: 63))
        XCTAssertNoThrow(try ImageCodec.decodeFile(small, maxPixels: 64))
    }

    func testPixelLimitCheckedFromJPEGHeader() throws {
        var jpeg = try ImageCodec.encodeJPEG(TestData.gradient(width: 16, height: 16))
        // Patch the SOF0 frame size to 60000 x 60000.
        guard let sof = (0..<jpeg.count - 9).first(where: { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 }) else {
            return XCTFail("no SOF0 marker")
        }
        jpeg[sof + 5] = 0xEA; jpeg[sof + 6] = 0x60; jpeg[sof + 7] = 0xEA; jpeg[sof + 8] = 0x60
        let path = try TestData.write(jpeg, dir, "bomb.jpg")
        XCTAssertEqual(reason(of: path), .tooManyPixels(width: 60_000, height: 60_000, limit: ImageCodec.defaultMaxPixels))
        XCTAssertTrue("\(ImageError(path: path, reason: .tooManyPixels(width: 60_000, height: 60_000, limit: 5)))"
            .contains("decompression bomb"))
    }

    func testDirectoryIsUnreadable() {
        guard case .unreadable(let m)? = reason(of: dir) else { return XCTFail("not unreadable") }
        XCTAssertTrue(m.contains("directory"), m)
    }
}
