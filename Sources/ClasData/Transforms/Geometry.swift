/// Pixel copies that move whole rows or pixels: crops and flips, for 8-bit and float images alike.
enum Crop {
    /// The `width` x `height` region whose top-left corner is (`x`, `y`); it must lie inside the image.
    static func crop<C>(_ src: PixelImage<C>, x: Int, y: Int, width: Int, height: Int) -> PixelImage<C> {
        precondition(x >= 0 && y >= 0 && width >= 0 && height >= 0 && x + width <= src.width
                     && y + height <= src.height, "crop outside the image")
        if x == 0 && y == 0 && width == src.width && height == src.height { return src }
        let c = src.channels, rowLength = width * c
        return PixelImage(width: width, height: height, channels: c) { out in
            src.pixels.withUnsafeBufferPointer { sp in
                guard let s = sp.baseAddress, let d = out.baseAddress else { return }
                for r in 0..<height {
                    (d + r * rowLength).update(from: s + ((y + r) * src.width + x) * c, count: rowLength)
                }
            }
        }
    }

    /// The image mirrored like `cv2.flip`: code 1 horizontally, 0 vertically, -1 both.
    static func flip<C>(_ src: PixelImage<C>, code: Int) -> PixelImage<C> {
        let (w, h, c) = (src.width, src.height, src.channels)
        let horizontal = code != 0, vertical = code <= 0
        let rowLength = w * c
        return PixelImage(width: w, height: h, channels: c) { out in
            src.pixels.withUnsafeBufferPointer { sp in
                guard let s0 = sp.baseAddress, let d0 = out.baseAddress else { return }
                for r in 0..<h {
                    let s = s0 + (vertical ? h - 1 - r : r) * rowLength
                    let d = d0 + r * rowLength
                    if !horizontal {
                        d.update(from: s, count: rowLength)
                        continue
                    }
                    var so = (w - 1) &* c
                    var dOff = 0
                    for _ in 0..<w {
                        for k in 0..<c { d[dOff &+ k] = s[so &+ k] }
                        so = so &- c
                        dOff = dOff &+ c
                    }
                }
            }
        }
    }
}
