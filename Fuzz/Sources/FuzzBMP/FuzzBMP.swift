import ClasData
import FuzzSupport

/// Bytes → `ImageCodec.decode` → `BMPCodec` (our own parser: headers, palettes, strides). `BM` is written over the
/// first 2 bytes so every input of 14 bytes or more reaches the BMP decoder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBMP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let magic: [UInt8] = [0x42, 0x4D]
    for i in 0..<min(2, bytes.count) { bytes[i] = magic[i] }
    FuzzImage.check(bytes, toRGB: size % 2 == 0)
    return 0
}
