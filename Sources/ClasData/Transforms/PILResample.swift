import Foundation

/// Resizing with Pillow's `Image.resize` semantics (PaddleClas `backend: pil`): a separable convolution whose
/// support grows with the downscale factor (antialiasing), taps clipped to the image and renormalised, 8-bit
/// images in Pillow's 22-bit fixed point with an 8-bit intermediate after the horizontal pass, as Pillow's
/// `ImagingResampleInner` does (checked bit-identical to Pillow 13 on up-, down- and mixed scales; Pillow 13 runs
/// the vertical pass first in some cases, e.g. widening while shrinking the height, which changes 8-bit results
/// through the intermediate rounding). Filters: bilinear (triangle), bicubic (a = -0.5), lanczos (a = 3), box,
/// hamming; nearest follows Pillow's affine scaling (accumulated pixel-centre coordinates).
enum PILResample {
    private static let precisionBits = 22

    /// The filter and its support radius.
    private static func filter(_ mode: Interpolation) -> (support: Double, f: (Double) -> Double) {
        switch mode {
        case .box: return (0.5, { $0 > -0.5 && $0 <= 0.5 ? 1 : 0 })
        case .bicubic:
            return (2, { v in
                let a = -0.5, x = abs(v)
                if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
                return 0
            })
        case .lanczos:
            func sinc(_ x: Double) -> Double { x == 0 ? 1 : sin(x * Double.pi) / (x * Double.pi) }
            return (3, { x in -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0 })
        case .hamming:
            return (1, { v in
                let x = abs(v)
                if x == 0 { return 1 }
                if x >= 1 { return 0 }
                let t = x * Double.pi
                return sin(t) / t * (0.54 + 0.46 * cos(t))
            })
        default: return (1, { v in abs(v) < 1 ? 1 - abs(v) : 0 })
        }
    }

    /// Pillow's `precompute_coeffs`: per output sample the first source index, the tap count and k weights.
    struct Taps {
        var first: [Int] = [], count: [Int] = [], weights: [Double] = []
        var k = 0
    }

    static func taps(src: Int, dst: Int, mode: Interpolation) -> Taps {
        let (support0, f) = filter(mode)
        let scale = Double(Float(src)) / Double(dst)
        let filterScale = max(scale, 1)
        let support = support0 * filterScale
        var t = Taps()
        t.k = Int(support.rounded(.up)) * 2 + 1
        t.weights = [Double](repeating: 0, count: dst * t.k)
        for d in 0..<dst {
            let center = (Double(d) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), src) - xmin
            var total = 0.0
            for x in 0..<max(xmax, 0) {
                let w = f((Double(x + xmin) - center + 0.5) / filterScale)
                t.weights[d * t.k + x] = w
                total += w
            }
            if total != 0 { for x in 0..<max(xmax, 0) { t.weights[d * t.k + x] /= total } }
            t.first.append(xmin)
            t.count.append(max(xmax, 0))
        }
        return t
    }

    /// Resizes the `rect` of `src` to `width` x `height` like Pillow (`mode` already resolved, not `.area`).
    static func resize<S: PixelComponent>(
        _ src: PixelImage<S>, rect: (x: Int, y: Int, w: Int, h: Int), width: Int, height: Int, mode: Interpolation
    ) -> PixelImage<S> {
        var img = Crop.crop(src, x: rect.x, y: rect.y, width: rect.w, height: rect.h)
        if mode == .nearest {
            let sx = nearestIndices(src: rect.w, dst: width), sy = nearestIndices(src: rect.h, dst: height)
            let c = img.channels
            return PixelImage(width: width, height: height, channels: c) { out in
                img.pixels.withUnsafeBufferPointer { sp in
                    guard let s = sp.baseAddress, let d = out.baseAddress else { return }
                    for y in 0..<height {
                        for x in 0..<width {
                            for ch in 0..<c { d[(y * width + x) * c + ch] = s[(sy[y] * rect.w + sx[x]) * c + ch] }
                        }
                    }
                }
            }
        }
        if width != rect.w { img = pass(img, taps: taps(src: rect.w, dst: width, mode: mode), horizontal: true) }
        if height != rect.h { img = pass(img, taps: taps(src: rect.h, dst: height, mode: mode), horizontal: false) }
        return img
    }

    /// Pillow's nearest resize (`ImagingScaleAffine`): the source coordinate starts at `scale / 2` and grows by
    /// `scale` per output sample, in doubles, truncated.
    static func nearestIndices(src: Int, dst: Int) -> [Int] {
        let scale = Double(Float(src)) / Double(dst)
        var position = scale * 0.5
        var out: [Int] = []
        out.reserveCapacity(dst)
        for _ in 0..<dst {
            out.append(min(Int(position), src - 1))
            position += scale
        }
        return out
    }

    /// One 1-D pass along rows (`horizontal`) or columns.
    private static func pass<S: PixelComponent>(_ img: PixelImage<S>, taps t: Taps, horizontal: Bool) -> PixelImage<S> {
        if let u8 = img as? Image, let out = passU8(u8, taps: t, horizontal: horizontal) as? PixelImage<S> { return out }
        let c = img.channels, n = t.first.count
        let outW = horizontal ? n : img.width, outH = horizontal ? img.height : n
        let fk = t.weights.map { Float($0) }
        return PixelImage(width: outW, height: outH, channels: c) { out in
            img.pixels.withUnsafeBufferPointer { sp in
                guard let s = sp.baseAddress, let d = out.baseAddress else { return }
                let step = horizontal ? c : img.width * c
                for o in 0..<n {
                    for line in 0..<(horizontal ? outH : outW) {
                        let start = horizontal ? (line * img.width + t.first[o]) * c : (t.first[o] * img.width + line) * c
                        let dst = horizontal ? (line * outW + o) * c : (o * outW + line) * c
                        for ch in 0..<c {
                            var acc: Float = 0
                            for j in 0..<t.count[o] { acc += s[start + j * step + ch].floatValue * fk[o * t.k + j] }
                            d[dst + ch] = S.converting(acc)
                        }
                    }
                }
            }
        }
    }

    /// The 8-bit pass in Pillow's fixed point: `clip8((1 << 21 + sum(pixel * k)) >> 22)` with
    /// `k = round_away(w * 2^22)` (`normalize_coeffs_8bpc`).
    private static func passU8(_ img: Image, taps t: Taps, horizontal: Bool) -> Image {
        let c = img.channels, n = t.first.count, k = t.k
        let one = Double(1 << precisionBits), half = Int32(1 << (precisionBits - 1))
        let ik = t.weights.map { w -> Int32 in w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one) }
        @inline(__always) func clip8(_ v: Int32) -> UInt8 { UInt8(clamping: v >> Int32(precisionBits)) }
        let outW = horizontal ? n : img.width, outH = horizontal ? img.height : n
        return Image(width: outW, height: outH, channels: c) { out in
            img.pixels.withUnsafeBufferPointer { sp in
                ik.withUnsafeBufferPointer { kp in
                    guard let s = sp.baseAddress, let d = out.baseAddress, let kk = kp.baseAddress else { return }
                    if horizontal {
                        for y in 0..<outH {
                            let row = s + y * img.width * c, dst = d + y * outW * c
                            for o in 0..<n {
                                let p = row + t.first[o] &* c, w = kk + o &* k, count = t.count[o], q = dst + o &* c
                                if c == 3 {
                                    var a0 = half, a1 = half, a2 = half
                                    for j in 0..<count {
                                        let px = p + j &* 3, wj = w[j]
                                        a0 = a0 &+ Int32(px[0]) &* wj
                                        a1 = a1 &+ Int32(px[1]) &* wj
                                        a2 = a2 &+ Int32(px[2]) &* wj
                                    }
                                    q[0] = clip8(a0)
                                    q[1] = clip8(a1)
                                    q[2] = clip8(a2)
                                } else {
                                    for ch in 0..<c {
                                        var a = half
                                        for j in 0..<count { a = a &+ Int32(p[j &* c &+ ch]) &* w[j] }
                                        q[ch] = clip8(a)
                                    }
                                }
                            }
                        }
                        return
                    }
                    let rowLength = img.width * c
                    let acc = UnsafeMutablePointer<Int32>.allocate(capacity: rowLength)
                    defer { acc.deallocate() }
                    for o in 0..<n {
                        acc.initialize(repeating: half, count: rowLength)
                        for j in 0..<t.count[o] {
                            let src = s + (t.first[o] + j) * rowLength, wj = kk[o &* k &+ j]
                            for i in 0..<rowLength { acc[i] = acc[i] &+ Int32(src[i]) &* wj }
                        }
                        let dst = d + o * rowLength
                        for i in 0..<rowLength { dst[i] = clip8(acc[i]) }
                    }
                }
            }
        }
    }
}
