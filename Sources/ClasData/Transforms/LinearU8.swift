/// 8-bit bilinear resizing computed exactly as OpenCV's `cv2.resize(..., INTER_LINEAR)` does for `uint8`
/// images, in 11-bit fixed point, so results are bit-identical to PaddleClas's cv2 pipeline (checked against
/// OpenCV on up- and downscales, odd sizes and 2x).
///
/// Columns: taps `sx, sx+1` with `fx` clamped at the borders; rows: taps `sy, sy+1` clamped, weights *not*
/// clamped (so a border row mixes one source row with itself). Coefficients are `round(w * 2048)` (half to even);
/// a row sum `D = a0*S0 + a1*S1`; the output `((b0*(D0>>4))>>16 + (b1*(D1>>4))>>16 + 2) >> 2`, saturated.
enum LinearU8 {
    static func resize(_ src: Image, rect: (x: Int, y: Int, w: Int, h: Int), width: Int, height: Int) -> Image {
        let c = src.channels, rowOut = width * c
        let scaleX = 1.0 / (Double(width) / Double(rect.w)), scaleY = 1.0 / (Double(height) / Double(rect.h))
        @inline(__always) func coefficient(_ w: Float) -> Int32 { Int32((w * 2048).rounded(.toNearestOrEven)) }
        // Column taps: element offsets of the two source pixels and their coefficients, per output column.
        var x0 = [Int](repeating: 0, count: width), x1 = x0
        var a0 = [Int32](repeating: 0, count: width), a1 = a0
        for d in 0..<width {
            let f = Float((Double(d) + 0.5) * scaleX - 0.5)
            var sx = Int(f.rounded(.down)), fx = f - Float(sx)
            if sx < 0 { (sx, fx) = (0, 0) }
            if sx >= rect.w - 1 { (sx, fx) = (rect.w - 1, 0) }
            x0[d] = sx * c
            x1[d] = min(sx + 1, rect.w - 1) * c
            a0[d] = coefficient(1 - fx)
            a1[d] = coefficient(fx)
        }
        var r0 = [Int](repeating: 0, count: height), r1 = r0
        var b0 = [Int32](repeating: 0, count: height), b1 = b0
        var needed = [Bool](repeating: false, count: rect.h)
        for d in 0..<height {
            let f = Float((Double(d) + 0.5) * scaleY - 0.5)
            let sy = Int(f.rounded(.down)), fy = f - Float(sy)
            r0[d] = min(max(sy, 0), rect.h - 1)
            r1[d] = min(max(sy + 1, 0), rect.h - 1)
            b0[d] = coefficient(1 - fy)
            b1[d] = coefficient(fy)
            needed[r0[d]] = true
            needed[r1[d]] = true
        }
        let rows = UnsafeMutablePointer<Int32>.allocate(capacity: rect.h * rowOut)
        defer { rows.deallocate() }
        src.pixels.withUnsafeBufferPointer { sp in
            guard let s0 = sp.baseAddress else { return }
            x0.withUnsafeBufferPointer { x0p in
                x1.withUnsafeBufferPointer { x1p in
                    a0.withUnsafeBufferPointer { a0p in
                        a1.withUnsafeBufferPointer { a1p in
                            for y in 0..<rect.h where needed[y] {
                                let s = s0 + ((rect.y + y) * src.width + rect.x) * c
                                let d = rows + y * rowOut
                                if c == 3 {
                                    for x in 0..<width {
                                        let p = s + x0p[x], q = s + x1p[x], o = d + x &* 3
                                        let (u, v) = (a0p[x], a1p[x])
                                        o[0] = Int32(p[0]) &* u &+ Int32(q[0]) &* v
                                        o[1] = Int32(p[1]) &* u &+ Int32(q[1]) &* v
                                        o[2] = Int32(p[2]) &* u &+ Int32(q[2]) &* v
                                    }
                                    continue
                                }
                                for x in 0..<width {
                                    let p = s + x0p[x], q = s + x1p[x], o = d + x &* c
                                    let (u, v) = (a0p[x], a1p[x])
                                    for ch in 0..<c { o[ch] = Int32(p[ch]) &* u &+ Int32(q[ch]) &* v }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: c) { out in
            guard let d0 = out.baseAddress else { return }
            for y in 0..<height {
                let p = rows + r0[y] * rowOut, q = rows + r1[y] * rowOut, d = d0 + y * rowOut
                let (u, v) = (b0[y], b1[y])
                for i in 0..<rowOut {
                    let t = ((u &* (p[i] >> 4)) >> 16) &+ ((v &* (q[i] >> 4)) >> 16)
                    d[i] = UInt8(clamping: (t &+ 2) >> 2)
                }
            }
        }
    }
}
