import ClasTensor
import Foundation

/// Reads PyTorch checkpoints (`.pth`, `.bin`, `.pt`) in the zip format of `torch.save` since PyTorch 1.6:
/// `<prefix>/data.pkl` (the pickled object, read by the restricted `Unpickler`) and `<prefix>/data/<key>`
/// (the raw little-endian storages). Weights only: nothing in the file is executed.
public enum TorchCheckpoint {
    /// Why a file was refused.
    public struct FormatError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): not a loadable PyTorch checkpoint: \(reason)" }
    }

    /// The largest `data.pkl` read (the pickle of a state dict is small; the tensors are separate entries).
    public static let maxPickleBytes = 256 << 20
    /// The largest storage entry read.
    public static let maxStorageBytes: UInt64 = 8 << 30

    /// The state dict of a checkpoint as (name, Float32 tensor) pairs, in file order. Tensors are copied out of
    /// their storages honouring shape, strides and offset; half, bfloat16, double and integer tensors are converted.
    /// The top-level object may be the state dict itself, or a dict holding it under `state_dict`, `model`,
    /// `module` or `model_state_dict` (other entries, such as an epoch number, are ignored); a `module.` prefix
    /// (from DataParallel) is removed, as timm does.
    public static func read(_ path: String) throws -> [(String, Tensor)] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw FormatError(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, path: path)
    }

    /// `read` on bytes in memory (`path` names the source in errors).
    public static func parse(_ data: Data, path: String) throws -> [(String, Tensor)] {
        func fail(_ reason: String) -> FormatError { FormatError(path: path, reason: reason) }
        if data.count >= 2, data[data.startIndex] == 0x80 {
            throw fail("this is the legacy (before PyTorch 1.6) format; re-save it with torch.save(state_dict, path) "
                + "in a recent PyTorch")
        }
        guard data.prefix(4).elementsEqual([0x50, 0x4B, 0x03, 0x04]) else {
            throw fail("not a zip file (PyTorch ≥ 1.6 format)")
        }
        let archive: ZipArchive
        do {
            archive = try ZipArchive(data)
        } catch {
            throw fail("unreadable zip: \(error)")
        }
        let pickles = archive.entries.filter { $0.path.hasSuffix("/data.pkl") && $0.path.split(separator: "/").count == 2 }
        guard let pickleEntry = pickles.first else { throw fail("no <name>/data.pkl entry") }
        guard pickles.count == 1 else { throw fail("more than one data.pkl") }
        let prefix = String(pickleEntry.path.dropLast("data.pkl".count))
        func extract(_ entry: ZipArchive.Entry, limit: UInt64) throws -> Data {
            do {
                return try archive.contents(of: entry, limit: limit)
            } catch {
                throw fail("entry \(error)")
            }
        }
        if let order = archive[prefix + "byteorder"] {
            let text = String(decoding: try extract(order, limit: 16), as: UTF8.self)
            guard text.trimmingCharacters(in: .whitespacesAndNewlines) == "little" else {
                throw fail("byte order '\(text.prefix(16))' is not supported")
            }
        }
        let pickle = try extract(pickleEntry, limit: UInt64(maxPickleBytes))
        let named: [(String, TorchTensorRef)]
        do {
            named = try Unpickler.load(pickle) { try stateDict($0, fail) }
        } catch let refused as Unpickler.Refused {
            throw fail("\(prefix)data.pkl refused: \(refused)")
        }
        var storages: [String: (TorchDType, Tensor)] = [:]
        var result: [(String, Tensor)] = []
        for (name, ref) in named {
            let key = ref.storage.key
            let storage: Tensor
            if let (dtype, s) = storages[key] {
                // Every reference to a storage must declare it alike (the bounds were checked against this one).
                guard dtype == ref.storage.dtype, s.count == ref.storage.count else {
                    throw fail("storage \(key) is declared with different types or sizes")
                }
                storage = s
            } else {
                guard let entry = archive[prefix + "data/" + key] else { throw fail("storage \(key) is missing") }
                let bytes = UInt64(ref.storage.count) * UInt64(ref.storage.dtype.byteSize)
                guard entry.size >= bytes else { throw fail("storage \(key) has \(entry.size) bytes, \(bytes) needed") }
                let raw = try extract(entry, limit: maxStorageBytes)
                storage = Tensor(uninitializedShape: [ref.storage.count])
                raw.withUnsafeBytes { ref.storage.dtype.decode($0, count: ref.storage.count, into: storage.data) }
                storages[key] = (ref.storage.dtype, storage)
            }
            result.append((name, gather(ref, from: storage)))
        }
        return result
    }

    /// The (name, tensor) entries of the state dict inside the unpickled object.
    private static func stateDict(_ root: PickleValue, _ fail: (String) -> FormatError) throws -> [(String, TorchTensorRef)] {
        guard case .dict(var dict) = root else { throw fail("the pickled object is a \(root.kind), not a dict") }
        func tensors(_ d: PickleDict) -> [(String, TorchTensorRef)] {
            d.entries.compactMap { e in
                guard case .string(let k) = e.key, case .tensor(let t) = e.value else { return nil }
                return (k.hasPrefix("module.") ? String(k.dropFirst(7)) : k, t)
            }
        }
        if tensors(dict).isEmpty {
            for key in ["state_dict", "model", "module", "model_state_dict"] {
                if case .dict(let inner)? = dict[key], !tensors(inner).isEmpty { dict = inner; break }
            }
        }
        let found = tensors(dict)
        guard !found.isEmpty else { throw fail("no tensors in the checkpoint's dict") }
        var seen = Set<String>()
        for (name, _) in found where !seen.insert(name).inserted { throw fail("duplicate tensor name \(name)") }
        return found
    }

    /// The elements of a strided view as a contiguous tensor.
    private static func gather(_ ref: TorchTensorRef, from storage: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: ref.shape)
        let n = out.count
        guard n > 0 else { return out }
        let src = storage.data, dst = out.data
        var contiguous = true
        var expected = 1
        for (size, stride) in zip(ref.shape, ref.strides).reversed() where size != 1 {
            if stride != expected { contiguous = false; break }
            expected *= size
        }
        if contiguous {
            dst.update(from: src + ref.offset, count: n)
            return out
        }
        let rank = ref.shape.count
        var index = [Int](repeating: 0, count: rank)
        var at = ref.offset
        for i in 0..<n {
            dst[i] = src[at]
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                at += ref.strides[d]
                if index[d] < ref.shape[d] { break }
                at -= ref.strides[d] * ref.shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

}
