/// The EXIF orientation of a JPEG (tag 0x0112 in the APP1 `Exif` segment), applied the way OpenCV's
/// `imdecode(IMREAD_COLOR)` does (`ApplyExifOrientation`). PIL's `Image.open(...).convert('RGB')` ignores it, so
/// `DecodeImage` applies it only for `backend: cv2` (the default).
enum EXIFOrientation {
    /// The orientation value 1...8, or nil when absent or unreadable (malformed EXIF is ignored, as OpenCV does).
    static func read(jpeg b: UnsafeRawBufferPointer) -> Int? {
        let n = b.count
        var p = 2  // after SOI
        while p + 4 <= n, b[p] == 0xFF {
            let marker = b[p + 1]
            if marker == 0xDA || marker == 0xD9 { return nil }  // start of scan / end: no EXIF before the data
            if marker == 0xFF {
                p += 1
                continue
            }
            let length = Int(b[p + 2]) << 8 | Int(b[p + 3])
            guard length >= 2, p + 2 + length <= n else { return nil }
            let seg = p + 4
            if marker == 0xE1, length >= 8 + 6, b[seg] == 0x45, b[seg + 1] == 0x78, b[seg + 2] == 0x69, b[seg + 3] == 0x66,
               b[seg + 4] == 0, b[seg + 5] == 0
            {
                return orientation(tiff: seg + 6, end: p + 2 + length, b)
            }
            p += 2 + length
        }
        return nil
    }

    private static func orientation(tiff t: Int, end: Int, _ b: UnsafeRawBufferPointer) -> Int? {
        guard t + 8 <= end else { return nil }
        let little: Bool
        switch (b[t], b[t + 1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ o: Int) -> Int? {
            guard o >= t, o + 2 <= end else { return nil }
            return little ? Int(b[o]) | Int(b[o + 1]) << 8 : Int(b[o]) << 8 | Int(b[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let c = u16(o + 2) else { return nil }
            return little ? a | c << 16 : a << 16 | c
        }
        guard u16(t + 2) == 42, let ifd = u32(t + 4), let count = u16(t + ifd) else { return nil }
        for e in 0..<count {
            let entry = t + ifd + 2 + e * 12
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112 {
                guard u16(entry + 2) == 3, let value = u16(entry + 8), (1...8).contains(value) else { return nil }
                return value
            }
        }
        return nil
    }

    /// `image` turned upright for `orientation` (OpenCV's sequence of transpose and flips).
    static func apply(_ orientation: Int, to image: Image) -> Image {
        switch orientation {
        case 2: return Crop.flip(image, code: 1)
        case 3: return Crop.flip(image, code: -1)
        case 4: return Crop.flip(image, code: 0)
        case 5: return transpose(image)
        case 6: return Crop.flip(transpose(image), code: 1)
        case 7: return Crop.flip(transpose(image), code: -1)
        case 8: return Crop.flip(transpose(image), code: 0)
        default: return image
        }
    }

    /// Rows become columns: out(x, y) = in(y, x).
    static func transpose(_ src: Image) -> Image {
        let (w, h, c) = (src.width, src.height, src.channels)
        return Image(width: h, height: w, channels: c) { out in
            src.pixels.withUnsafeBufferPointer { sp in
                guard let s = sp.baseAddress, let d = out.baseAddress else { return }
                for y in 0..<h {
                    for x in 0..<w {
                        let si = (y &* w &+ x) &* c, di = (x &* h &+ y) &* c
                        for k in 0..<c { d[di &+ k] = s[si &+ k] }
                    }
                }
            }
        }
    }
}
