import _ClasTestSupport
import ClasData
import Foundation

/// Hand-assembled PNG files of any colour type and bit depth (stored deflate blocks, so no zlib is needed), and
/// PNGs whose header lies (a decompression bomb); chunk writing from `_ClasTestSupport.PNGChunkWriting`.
enum PNGBytes: PNGChunkWriting {
    /// A PNG with `colorType` (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA) and `bitDepth`, whose scanlines
    /// (without filter bytes) are `rows`; optional PLTE and tRNS payloads.
    static func make(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]],
                     palette: [UInt8]? = nil, transparency: [UInt8]? = nil) -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", be32(width) + be32(height) + [bitDepth, colorType, 0, 0, 0])
        if let palette { png += chunk("PLTE", palette) }
        if let transparency { png += chunk("tRNS", transparency) }
        png += chunk("IDAT", zlibStored(rows.flatMap { [0] + $0 }))
        png += chunk("IEND", [])
        return png
    }

    /// A header declaring `width`×`height` RGB pixels followed by one tiny row of data: decoding it for real would
    /// allocate `3·width·height` bytes.
    static func bomb(width: Int, height: Int) -> [UInt8] {
        make(width: width, height: height, bitDepth: 8, colorType: 2, rows: [[UInt8](repeating: 0, count: 64)])
    }

    /// A valid 8×8 PNG with, after IHDR, a pCAL chunk declaring 2^31 - 16 bytes of which 8 are present: libpng
    /// would allocate the declared length before finding the file cut short (Fuzz/FuzzPNG's first finding).
    static func hugeChunk() -> [UInt8] {
        let png = make(width: 8, height: 8, bitDepth: 8, colorType: 0,
                       rows: [[UInt8]](repeating: [UInt8](repeating: 7, count: 8), count: 8))
        let afterIHDR = 8 + 12 + 13
        return Array(png[..<afterIHDR]) + be32(0x7FFF_FFF0) + Array("pCAL".utf8) + [UInt8](repeating: 0, count: 8)
            + Array(png[afterIHDR...])
    }

    /// A 16-bit RGB image (values big-endian).
    static func rgb16(size: Int) -> [UInt8] {
        var rows: [[UInt8]] = []
        for y in 0..<size {
            var row: [UInt8] = []
            for x in 0..<size * 3 {
                let v = (x * 997 + y * 131) % 65536
                row += [UInt8(v >> 8), UInt8(v & 0xFF)]
            }
            rows.append(row)
        }
        return make(width: size, height: size, bitDepth: 16, colorType: 2, rows: rows)
    }

    /// An 8-bit palette image with 4 colours, one partly transparent.
    static func palette(size: Int) -> [UInt8] {
        var rows: [[UInt8]] = []
        for y in 0..<size { rows.append((0..<size).map { x -> UInt8 in UInt8((x / 8 + y / 8) % 4) }) }
        return make(width: size, height: size, bitDepth: 8, colorType: 3, rows: rows,
                    palette: [255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 200, 200], transparency: [255, 128])
    }

    /// A 4-bit palette image (two pixels per byte).
    static func palette4(size: Int) -> [UInt8] {
        let rows = (0..<size).map { _ in [UInt8](repeating: 0x12, count: (size + 1) / 2) }
        return make(width: size, height: size, bitDepth: 4, colorType: 3, rows: rows,
                    palette: [10, 20, 30, 40, 50, 60, 70, 80, 90])
    }
}

/// The files that turn up in real image folders, broken and odd-but-valid, each with a file name.
enum DatasetFiles {
    /// A valid 32×32 RGB PNG and JPEG to start from.
    static var png: [UInt8] { (try? ImageCodec.encodePNG(FaultRun.image(label: 1, variant: 0))) ?? [] }
    static var jpeg: [UInt8] { (try? ImageCodec.encodeJPEG(FaultRun.image(label: 1, variant: 0), quality: 90)) ?? [] }
    /// A 96×96 noisy JPEG whose scan data is most of the file (cutting it in half cuts the scan).
    static var noisyJPEG: [UInt8] {
        var state: UInt32 = 12345
        let pixels = (0..<96 * 96 * 3).map { _ -> UInt8 in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(state >> 24)
        }
        return (try? ImageCodec.encodeJPEG(Image(width: 96, height: 96, channels: 3, pixels: pixels), quality: 90)) ?? []
    }

    /// A JPEG whose SOF header declares `width`×`height` (the scan data is for 32×32).
    static func jpegBomb(width: Int, height: Int) -> [UInt8] {
        var bytes = jpeg
        var i = 2
        while i + 9 < bytes.count {
            guard bytes[i] == 0xFF else { break }
            let marker = bytes[i + 1], length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            if (0xC0...0xC2).contains(marker) {
                bytes[i + 5] = UInt8(height >> 8); bytes[i + 6] = UInt8(height & 0xFF)
                bytes[i + 7] = UInt8(width >> 8); bytes[i + 8] = UInt8(width & 0xFF)
                return bytes
            }
            i += 2 + length
        }
        return bytes
    }

    /// Files no decoder can read, by name, each with a phrase its error must contain.
    static var broken: [(name: String, bytes: [UInt8], reason: String)] {
        let png = self.png, jpeg = self.jpeg, noisy = noisyJPEG
        var badCRC = png
        badCRC[png.count - 20] ^= 0x5A  // inside the IDAT payload
        return [
            ("zero_bytes.png", [], "the file is empty"),
            ("cut.png", Array(png.prefix(png.count / 2)), "truncated file"),
            ("cut.jpg", Array(noisy.prefix(noisy.count / 2)), "truncated file"),
            ("cut_in_header.jpg", Array(jpeg.prefix(jpeg.count / 2)), "corrupt data"),
            ("two_bytes.jpg", Array(jpeg.prefix(2)), "truncated file"),
            ("bad_crc.png", badCRC, "corrupt data"),
            ("notes.png", Array("these are not pixels\n".utf8), "looks like a text file"),
            ("page.jpg", Array("<!DOCTYPE html><html><body>404 Not Found</body></html>".utf8), "looks like a text file"),
            ("random.jpg", (0..<300).map { UInt8(($0 * 73 + 11) % 256) }, "not a PNG, JPEG or BMP"),
            ("anim.png", Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 40), "unsupported format: GIF"),
            ("scan.jpg", [0x49, 0x49, 0x2A, 0x00] + [UInt8](repeating: 0, count: 40), "unsupported format: TIFF"),
            ("photo.png", Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8 ".utf8) + [UInt8](repeating: 0, count: 32),
             "unsupported format: WebP"),
            ("bomb.png", PNGBytes.bomb(width: 30_000, height: 30_000), "possible decompression bomb"),
            ("bomb.jpg", jpegBomb(width: 60_000, height: 60_000), "possible decompression bomb"),
            ("huge_chunk.png", PNGBytes.hugeChunk(), "chunk pCAL declares 2147483632 bytes"),
        ]
    }

    /// Unusual but valid images, by name: each must decode to 3 channels.
    static var odd: [(name: String, bytes: [UInt8])] {
        func encoded(_ channels: Int, size: Int = 32) -> [UInt8] {
            let pixels = (0..<size * size * channels).map { UInt8(($0 * 31) % 256) }
            return (try? ImageCodec.encodePNG(Image(width: size, height: size, channels: channels, pixels: pixels))) ?? []
        }
        let cmyk = Image(width: 32, height: 32, channels: 4, pixels: (0..<32 * 32 * 4).map { UInt8(($0 * 7) % 256) })
        let gray = Image(width: 32, height: 32, channels: 1, pixels: (0..<32 * 32).map { UInt8($0 % 256) })
        return [
            ("gray.png", encoded(1)),
            ("gray_alpha.png", encoded(2)),
            ("rgba.png", encoded(4)),
            ("rgb16.png", PNGBytes.rgb16(size: 32)),
            ("palette.png", PNGBytes.palette(size: 32)),
            ("palette4.png", PNGBytes.palette4(size: 32)),
            ("cmyk.jpg", (try? ImageCodec.encodeJPEG(cmyk, cmyk: true)) ?? []),
            ("gray.jpg", (try? ImageCodec.encodeJPEG(gray)) ?? []),
            ("tiny.png", encoded(3, size: 1)),
            ("tiny.jpg", (try? ImageCodec.encodeJPEG(Image(width: 1, height: 1, channels: 3, pixels: [9, 99, 199]))) ?? []),
            ("wide.png", (try? ImageCodec.encodePNG(Image(width: 300, height: 2, channels: 3,
                                                          pixels: [UInt8](repeating: 77, count: 1800)))) ?? []),
            ("upper_case.PNG", png),
            ("jpeg_named.png", jpeg),
        ]
    }
}
