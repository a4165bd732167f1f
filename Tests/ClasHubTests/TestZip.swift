@testable import ClasHub
import Foundation

/// Writes a zip of stored entries (local headers, central directory, end record), as torch's writer does.
enum TestZip {
    static func make(_ entries: [(String, [UInt8])]) -> Data {
        var out = Data()
        var directory = Data()
        func le(_ v: UInt64, _ n: Int, _ d: inout Data) { for i in 0..<n { d.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        for (path, bytes) in entries {
            let name = Array(path.utf8)
            let crc = UInt64(ZipArchive.crc32(Data(bytes)))
            let offset = UInt64(out.count)
            le(0x0403_4B50, 4, &out); le(20, 2, &out); le(0, 2, &out); le(0, 2, &out); le(0, 4, &out)
            le(crc, 4, &out); le(UInt64(bytes.count), 4, &out); le(UInt64(bytes.count), 4, &out)
            le(UInt64(name.count), 2, &out); le(0, 2, &out)
            out.append(contentsOf: name)
            out.append(contentsOf: bytes)
            le(0x0201_4B50, 4, &directory); le(20, 2, &directory); le(20, 2, &directory); le(0, 2, &directory)
            le(0, 2, &directory); le(0, 4, &directory); le(crc, 4, &directory)
            le(UInt64(bytes.count), 4, &directory); le(UInt64(bytes.count), 4, &directory)
            le(UInt64(name.count), 2, &directory); le(0, 2, &directory); le(0, 2, &directory); le(0, 2, &directory)
            le(0, 2, &directory); le(0, 4, &directory); le(offset, 4, &directory)
            directory.append(contentsOf: name)
        }
        let directoryOffset = UInt64(out.count)
        out.append(directory)
        le(0x0605_4B50, 4, &out); le(0, 2, &out); le(0, 2, &out)
        le(UInt64(entries.count), 2, &out); le(UInt64(entries.count), 2, &out)
        le(UInt64(directory.count), 4, &out); le(directoryOffset, 4, &out); le(0, 2, &out)
        return out
    }
}
