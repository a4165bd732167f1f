import FuzzSupport
import ClasData

/// Bytes → `ImageCodec.decode` through libpng. The PNG signature is written over the first 8 bytes so every input
/// reaches libpng, and for even-length inputs the chunk CRCs are recomputed so mutations get past libpng's checksum
/// test to the chunk parsers (odd-length inputs keep their CRCs and test the checksum path).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    for i in 0..<min(8, bytes.count) { bytes[i] = signature[i] }
    if size % 2 == 0 { fixCRCs(&bytes) }
    FuzzImage.check(bytes, toRGB: size % 4 < 2)
    return 0
}

/// Recomputes the CRC of every chunk that fits in `png`.
func fixCRCs(_ b: inout [UInt8]) {
    var i = 8
    while i + 12 <= b.count {
        let length = Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
        guard length <= b.count - i - 12 else { break }
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in b[(i + 4)..<(i + 8 + length)] {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        for k in 0..<4 { b[i + 8 + length + k] = UInt8((crc >> (24 - 8 * UInt32(k))) & 0xFF) }
        i += 12 + length
    }
}
