import FuzzSupport
import ClasData

/// Bytes → `ImageCodec.decode` through libjpeg-turbo, with EXIF orientation (our own APP1 parser) on. The JPEG
/// start-of-image marker is written over the first 3 bytes so every input reaches the decoder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJPEG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let marker: [UInt8] = [0xFF, 0xD8, 0xFF]
    for i in 0..<min(3, bytes.count) { bytes[i] = marker[i] }
    FuzzImage.check(bytes, toRGB: size % 2 == 0, exifOrientation: true)
    return 0
}
