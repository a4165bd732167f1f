/// Vectorised conversions between 8-bit and float pixel rows (explicit SIMD over raw pointers, so the loops
/// compile to packed SSE/AVX code whatever the auto-vectoriser decides).
enum PixelKernels {
    /// dst[i] = UInt8(src[i]) rounded half up and saturated (NaN -> 0), as `UInt8.converting` does.
    static func floatToUInt8(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt8>, _ n: Int) {
        let magic = SIMD8<Float>(repeating: 8_388_608)  // 2^23: adding it leaves the integer part in the mantissa
        var i = 0
        while i &+ 8 <= n {
            var y = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self) + 0.5
            y = y.replacing(with: 0, where: .!(y .> 0))
            y = y.replacing(with: 255, where: y .> 255)
            var r = (y + magic) - magic  // round to nearest; step back where that rounded up: floor(y)
            r = r.replacing(with: r - 1, where: r .> y)
            let bits = unsafeBitCast(r + magic, to: SIMD8<UInt32>.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: bits), as: SIMD8<UInt8>.self)
            i &+= 8
        }
        while i < n {
            dst[i] = UInt8.converting(src[i])
            i &+= 1
        }
    }

    /// dst[i] = Float(src[i]).
    static func uint8ToFloat(_ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i &+ 8 <= n {
            let b = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<UInt8>.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: b)),
                                                        as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < n {
            dst[i] = Float(src[i])
            i &+= 1
        }
    }

    /// Eight components of the source as floats.
    @inline(__always)
    static func load8<C: PixelComponent>(_ p: UnsafePointer<C>) -> SIMD8<Float> {
        if C.self == UInt8.self {
            let b = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<UInt8>.self)
            return SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: b))
        }
        if C.self == Float.self { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
        var v = SIMD8<Float>()
        for k in 0..<8 { v[k] = p[k].floatValue }
        return v
    }

    /// out = (x * scale - mean[c]) / std[c] for `pixels` interleaved 3-channel pixels, in float32 and in this
    /// operation order (bit-identical to NumPy's `(img.astype('float32') * scale - mean) / std`).
    static func normalize3<C: PixelComponent>(_ src: UnsafePointer<C>, _ dst: UnsafeMutablePointer<Float>, pixels: Int,
                                              scale: Float, mean: [Float], std: [Float]) {
        // Lanes 0...23 cover 8 pixels; lane l belongs to channel l % 3.
        func pattern(_ v: [Float], _ block: Int) -> SIMD8<Float> {
            var p = SIMD8<Float>()
            for l in 0..<8 { p[l] = v[(block * 8 + l) % 3] }
            return p
        }
        let m = (pattern(mean, 0), pattern(mean, 1), pattern(mean, 2))
        let d = (pattern(std, 0), pattern(std, 1), pattern(std, 2))
        let s = SIMD8<Float>(repeating: scale)
        let n = pixels &* 3
        var i = 0
        while i &+ 24 <= n {
            let o = UnsafeMutableRawPointer(dst + i)
            o.storeBytes(of: (load8(src + i) * s - m.0) / d.0, as: SIMD8<Float>.self)
            o.storeBytes(of: (load8(src + (i &+ 8)) * s - m.1) / d.1, toByteOffset: 32, as: SIMD8<Float>.self)
            o.storeBytes(of: (load8(src + (i &+ 16)) * s - m.2) / d.2, toByteOffset: 64, as: SIMD8<Float>.self)
            i &+= 24
        }
        while i < n {
            let c = i % 3
            dst[i] = (src[i].floatValue * scale - mean[c]) / std[c]
            i &+= 1
        }
    }
}
