import ClasTensor
import Foundation

/// Bytes → `Safetensors.parse` (header length, JSON header, dtypes, shapes, offsets). Every input must give
/// tensors whose value count matches their shape, or a `Safetensors.FormatError` naming the path.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    do {
        let (entries, _) = try Safetensors.parse(Data(bytes: data, count: size), path: "fuzz.safetensors")
        for e in entries where e.tensor.count != e.tensor.shape.reduce(1, *) {
            fatalError("\(e.name): \(e.tensor.count) values for shape \(e.tensor.shape)")
        }
    } catch let error as Safetensors.FormatError {
        if error.path != "fuzz.safetensors" { fatalError("error names \(error.path)") }
    } catch {
        fatalError("not a Safetensors.FormatError: \(type(of: error)): \(error)")
    }
    return 0
}
