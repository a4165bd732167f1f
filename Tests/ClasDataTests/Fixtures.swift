import _ClasTestSupport
import ClasData
import Foundation
import XCTest

/// Hand-assembled PNG files for any colour type and bit depth (stored deflate blocks, so no zlib is needed):
/// lets the tests produce exactly the PNG variants real datasets contain, and broken ones.
enum PNGFixture: PNGChunkWriting {
    /// A PNG with `colorType` (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA) and `bitDepth`, whose scanlines
    /// (without filter bytes) are `rows`; optional PLTE and tRNS payloads; extra chunks before IDAT.
    static func make(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]],
                     palette: [UInt8]? = nil, transparency: [UInt8]? = nil) -> [UInt8] {
        var ihdr = be32(width) + be32(height)
        ihdr += [bitDepth, colorType, 0, 0, 0]
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", ihdr)
        if let palette { png += chunk("PLTE", palette) }
        if let transparency { png += chunk("tRNS", transparency) }
        var raw: [UInt8] = []
        for row in rows { raw += [0] + row }
        png += chunk("IDAT", zlibStored(raw))
        png += chunk("IEND", [])
        return png
    }

    /// 16-bit big-endian samples as bytes.
    static func be16(_ values: [Int]) -> [UInt8] { values.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
}

/// Small helpers shared by the ClasData tests.
enum TestData {
    /// An RGB image whose pixels follow a simple pattern (so crops and flips are checkable).
    static func pattern(width: Int, height: Int, channels: Int = 3) -> Image {
        var img = Image(width: width, height: height, channels: channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels { img[x, y, c] = UInt8((x * 16 + y * 4 + c * 60) % 256) }
            }
        }
        return img
    }

    /// A smooth colour gradient (JPEG-friendly).
    static func gradient(width: Int, height: Int) -> Image {
        var img = Image(width: width, height: height, channels: 3)
        for y in 0..<height {
            for x in 0..<width {
                img[x, y, 0] = UInt8(x * 255 / max(width - 1, 1))
                img[x, y, 1] = UInt8(y * 255 / max(height - 1, 1))
                img[x, y, 2] = UInt8((x + y) * 127 / max(width + height - 2, 1))
            }
        }
        return img
    }

    /// Writes `bytes` to `dir/name` and returns the path.
    @discardableResult
    static func write(_ bytes: [UInt8], _ dir: String, _ name: String) throws -> String {
        let path = (dir as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Asserts that `body` throws an error whose description contains every string in `needles`.
    static func assertThrows<T>(_ needles: [String], file: StaticString = #filePath, line: UInt = #line,
                                _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected an error mentioning \(needles)", file: file, line: line)
        } catch {
            let text = "\(error)"
            for n in needles where !text.contains(n) {
                XCTFail("error '\(text)' does not mention '\(n)'", file: file, line: line)
            }
        }
    }
}
