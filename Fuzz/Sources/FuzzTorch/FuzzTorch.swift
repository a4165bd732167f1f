import ClasHubTorch
import CZlib
import Foundation

/// Bytes → `TorchCheckpoint.parse` (zip directory and entries, the restricted unpickler, tensor views).
/// An even first byte makes the rest the `data.pkl` of a zip written here with valid CRCs and sixteen 1 KiB storages
/// (so mutations reach the unpickler instead of failing the CRC check); an odd one makes the rest the whole file.
/// Every input must give tensors whose value count matches their shape, or a `TorchCheckpoint.FormatError` naming
/// the path.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorch(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let rest = Data(bytes: data + 1, count: size - 1)
    let file = data[0] % 2 == 0 ? storedZip([("fuzz/data.pkl", rest)] + (0..<16).map { ("fuzz/data/\($0)", Data(count: 1024)) }) : rest
    do {
        for (name, t) in try TorchCheckpoint.parse(file, path: "fuzz.pth") where t.count != t.shape.reduce(1, *) {
            fatalError("\(name): \(t.count) values for shape \(t.shape)")
        }
    } catch let error as TorchCheckpoint.FormatError {
        if error.path != "fuzz.pth" { fatalError("error names \(error.path)") }
    } catch {
        fatalError("not a TorchCheckpoint.FormatError: \(type(of: error)): \(error)")
    }
    return 0
}

/// A zip of stored entries, as torch writes them.
func storedZip(_ entries: [(String, Data)]) -> Data {
    var out = Data(), directory = Data()
    func le(_ v: Int, _ n: Int, _ d: inout Data) { for i in 0..<n { d.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    for (path, bytes) in entries {
        let name = Data(path.utf8)
        let crc = bytes.withUnsafeBytes { Int(crc32(0, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), uInt($0.count))) }
        let offset = out.count
        for central in [false, true] {
            var h = Data()
            le(central ? 0x0201_4B50 : 0x0403_4B50, 4, &h)
            if central { le(20, 2, &h) }
            le(20, 2, &h); le(0, 2, &h); le(0, 2, &h); le(0, 4, &h); le(crc, 4, &h)
            le(bytes.count, 4, &h); le(bytes.count, 4, &h); le(name.count, 2, &h); le(0, 2, &h)
            if central { le(0, 2, &h); le(0, 2, &h); le(0, 2, &h); le(0, 4, &h); le(offset, 4, &h) }
            h.append(name)
            if central { directory.append(h) } else { out.append(h); out.append(bytes) }
        }
    }
    let directoryOffset = out.count
    out.append(directory)
    le(0x0605_4B50, 4, &out); le(0, 2, &out); le(0, 2, &out); le(entries.count, 2, &out); le(entries.count, 2, &out)
    le(directory.count, 4, &out); le(directoryOffset, 4, &out); le(0, 2, &out)
    return out
}
