/// A small BMP decoder for the common uncompressed variants: 1/4/8-bit palette and 24/32-bit BI_RGB (32-bit is
/// BGRX; the fourth byte is ignored, as PIL does), bottom-up or top-down rows. RLE, bit-field and embedded
/// JPEG/PNG variants are reported as unsupported.
enum BMPCodec {
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String, bgr: Bool, maxPixels: Int) throws -> Image {
        let n = bytes.count
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        func i32(_ o: Int) -> Int { Int(Int32(bitPattern: UInt32(u32(o)))) }
        guard n >= 26 else { throw ImageError(path: path, reason: .truncated("\(n) bytes is shorter than a BMP header")) }
        let dataOffset = u32(10)
        let headerSize = u32(14)
        let width: Int, rawHeight: Int, bits: Int, compression: Int, paletteEntrySize: Int
        var colorsUsed = 0
        if headerSize == 12 {
            (width, rawHeight, bits, compression, paletteEntrySize) = (u16(18), u16(20), u16(24), 0, 3)
        } else if headerSize >= 40 {
            guard n >= 14 + 40 else { throw ImageError(path: path, reason: .truncated("BMP info header is cut short")) }
            (width, rawHeight, bits, compression, paletteEntrySize) = (i32(18), i32(22), u16(28), u32(30), 4)
            colorsUsed = u32(46)
        } else {
            throw ImageError(path: path, reason: .corrupt("BMP header size \(headerSize) is not valid"))
        }
        let height = abs(rawHeight), topDown = rawHeight < 0
        guard width > 0, height > 0 else {
            throw ImageError(path: path, reason: .corrupt("BMP image size \(width)x\(rawHeight)"))
        }
        if width * height > maxPixels {
            throw ImageError(path: path, reason: .tooManyPixels(width: width, height: height, limit: maxPixels))
        }
        guard compression == 0 else {
            throw ImageError(path: path, reason: .unsupportedFormat("compressed BMP (compression type \(compression))"))
        }
        guard [1, 4, 8, 24, 32].contains(bits) else {
            throw ImageError(path: path, reason: .unsupportedFormat("\(bits)-bit BMP"))
        }
        var palette: [(UInt8, UInt8, UInt8)] = []
        if bits <= 8 {
            let entries = colorsUsed > 0 ? min(colorsUsed, 1 << bits) : 1 << bits
            let start = 14 + headerSize
            guard start + entries * paletteEntrySize <= n else {
                throw ImageError(path: path, reason: .truncated("BMP palette is cut short"))
            }
            for e in 0..<entries {
                let o = start + e * paletteEntrySize
                palette.append((bytes[o + 2], bytes[o + 1], bytes[o]))  // stored B, G, R
            }
        }
        let stride = (width * bits + 31) / 32 * 4
        guard dataOffset >= 0, dataOffset + stride * height <= n else {
            throw ImageError(path: path, reason: .truncated("BMP pixel data needs \(stride * height) bytes at offset "
                + "\(dataOffset) but the file has \(n) bytes"))
        }
        var badIndex = false
        let img = Image(width: width, height: height, channels: 3) { out in
            guard let d = out.baseAddress, let s = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            let (ro, bo) = bgr ? (2, 0) : (0, 2)
            for y in 0..<height {
                let row = s + dataOffset + (topDown ? y : height - 1 - y) * stride
                var o = y * width * 3
                for x in 0..<width {
                    let r: UInt8, g: UInt8, b: UInt8
                    switch bits {
                    case 24, 32:
                        let p = row + x * (bits / 8)
                        (b, g, r) = (p[0], p[1], p[2])
                    default:
                        let bitOffset = x * bits
                        let byte = Int(row[bitOffset >> 3])
                        let index = (byte >> (8 - bits - (bitOffset & 7))) & ((1 << bits) - 1)
                        if index < palette.count {
                            (r, g, b) = palette[index]
                        } else {
                            badIndex = true
                            (r, g, b) = (0, 0, 0)
                        }
                    }
                    d[o + ro] = r
                    d[o + 1] = g
                    d[o + bo] = b
                    o += 3
                }
            }
        }
        if badIndex { throw ImageError(path: path, reason: .corrupt("BMP pixel refers past the end of the palette")) }
        return img
    }
}
