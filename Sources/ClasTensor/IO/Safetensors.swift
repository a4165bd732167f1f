import Foundation

/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length, a JSON header mapping names to dtype, shape and data offsets (plus optional `__metadata__`
/// strings), then the raw little-endian data. Files written here hold F32 tensors; reading also converts F64,
/// F16, BF16 and integer tensors (e.g. timm's `num_batches_tracked`) to Float.
public enum Safetensors {
    /// Why a file was refused.
    public struct FormatError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): not a valid safetensors file: \(reason)" }
    }

    /// A tensor read from a file, with the dtype it was stored as.
    public struct Entry {
        public let name: String
        public let dtype: String
        public let tensor: Tensor
    }

    /// The largest header accepted (the reference implementation's limit).
    public static let maxHeaderBytes = 100_000_000

    /// Writes tensors (F32) and string metadata to `path` atomically.
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        var seen = Set<String>()
        for (name, t) in tensors {
            precondition(seen.insert(name).inserted, "duplicate tensor name \(name)")
            let bytes = t.count * 4
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var length = UInt64(json.count).littleEndian
        let lengthData = Data(bytes: &length, count: 8)
        try lengthData.withUnsafeBytes { lp in
            try json.withUnsafeBytes { jp in
                var chunks = [lp, jp]
                for (_, t) in tensors { chunks.append(UnsafeRawBufferPointer(start: t.data, count: t.count * 4)) }
                try AtomicFile.write(chunks, to: path)
            }
        }
    }

    /// Reads every tensor of a file, in data order, and its metadata. Refuses malformed files with a reason.
    public static func read(_ path: String) throws -> (entries: [Entry], metadata: [String: String]) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw FormatError(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, path: path)
    }

    /// Parses safetensors bytes (`path` names the source in errors).
    public static func parse(_ data: Data, path: String) throws -> (entries: [Entry], metadata: [String: String]) {
        func fail(_ reason: String) -> FormatError { FormatError(path: path, reason: reason) }
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maxHeaderBytes) else { throw fail("header length \(headerLength) is too large") }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("header length \(headerLength) runs past the end of the \(data.count)-byte file")
        }
        let headerEnd = 8 + Int(headerLength)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd))
        } catch {
            throw fail("header is not JSON")
        }
        guard let header = object as? [String: Any] else { throw fail("header is not a JSON object") }
        let dataSize = data.count - headerEnd
        var metadata: [String: String] = [:]
        var raws: [RawEntry] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("metadata value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            raws.append(try RawEntry(name: name, value: value, dataSize: dataSize, fail: fail))
        }
        raws.sort { $0.begin != $1.begin ? $0.begin < $1.begin : $0.end < $1.end }
        var previousEnd = 0
        for r in raws where r.end > r.begin {
            guard r.begin >= previousEnd else { throw fail("entry '\(r.name)' overlaps the previous tensor's data") }
            previousEnd = r.end
        }
        let entries = data.withUnsafeBytes { raw -> [Entry] in
            raws.map { r in
                let t = Tensor(uninitializedShape: r.shape)
                if let base = raw.baseAddress { convert(base + headerEnd + r.begin, dtype: r.dtype, count: t.count, into: t.data) }
                return Entry(name: r.name, dtype: r.dtype, tensor: t)
            }
        }
        return (entries, metadata)
    }

    /// One header entry, validated against the data section.
    private struct RawEntry {
        let name: String, dtype: String, shape: [Int], begin: Int, end: Int

        init(name: String, value: Any, dataSize: Int, fail: (String) -> FormatError) throws {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any], let offsAny = info["data_offsets"] as? [Any]
            else { throw fail("entry '\(name)' lacks dtype, shape or data_offsets") }
            guard let size = Safetensors.elementSize(dtype) else {
                throw fail("entry '\(name)' has unsupported dtype \(dtype)")
            }
            let shape = try shapeAny.map { v -> Int in
                guard let number = v as? NSNumber, number.doubleValue == number.doubleValue.rounded(),
                      number.int64Value >= 0, number.int64Value < Int64(Int32.max)
                else { throw fail("entry '\(name)' has an invalid shape \(shapeAny)") }
                return Int(number.int64Value)
            }
            guard offsAny.count == 2, let b = (offsAny[0] as? NSNumber)?.int64Value,
                  let e = (offsAny[1] as? NSNumber)?.int64Value
            else { throw fail("entry '\(name)' has invalid data_offsets") }
            guard b >= 0, e >= b, e <= Int64(dataSize) else {
                throw fail("entry '\(name)' data_offsets [\(b), \(e)] outside the \(dataSize)-byte data section")
            }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, p <= dataSize else { throw fail("entry '\(name)' shape \(shape) is too large") }
                count = p
            }
            guard Int64(count * size) == e - b else {
                throw fail("entry '\(name)' shape \(shape) (\(dtype)) needs \(count * size) bytes, offsets give \(e - b)")
            }
            (self.name, self.dtype, self.shape, self.begin, self.end) = (name, dtype, shape, Int(b), Int(e))
        }
    }

    static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F32", "I32", "U32": return 4
        case "F64", "I64", "U64": return 8
        case "F16", "BF16", "I16", "U16": return 2
        case "I8", "U8", "BOOL": return 1
        default: return nil
        }
    }

    private static func convert(_ src: UnsafeRawPointer, dtype: String, count: Int, into dst: UnsafeMutablePointer<Float>) {
        func load<T: FixedWidthInteger>(_ i: Int, _ type: T.Type) -> T {
            T(littleEndian: src.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
        }
        switch dtype {
        case "F32": for i in 0..<count { dst[i] = Float(bitPattern: load(i, UInt32.self)) }
        case "F64": for i in 0..<count { dst[i] = Float(Double(bitPattern: load(i, UInt64.self))) }
        case "F16": for i in 0..<count { dst[i] = Float(halfBits: load(i, UInt16.self)) }
        case "BF16": for i in 0..<count { dst[i] = Float(bitPattern: UInt32(load(i, UInt16.self)) << 16) }
        case "I64": for i in 0..<count { dst[i] = Float(load(i, Int64.self)) }
        case "U64": for i in 0..<count { dst[i] = Float(load(i, UInt64.self)) }
        case "I32": for i in 0..<count { dst[i] = Float(load(i, Int32.self)) }
        case "U32": for i in 0..<count { dst[i] = Float(load(i, UInt32.self)) }
        case "I16": for i in 0..<count { dst[i] = Float(load(i, Int16.self)) }
        case "U16": for i in 0..<count { dst[i] = Float(load(i, UInt16.self)) }
        case "I8": for i in 0..<count { dst[i] = Float(load(i, Int8.self)) }
        default: for i in 0..<count { dst[i] = Float(load(i, UInt8.self)) }
        }
    }
}

extension Float {
    /// Decodes an IEEE 754 half-precision bit pattern.
    init(halfBits h: UInt16) {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F), frac = UInt32(h & 0x3FF)
        if exp == 0 {
            // zero or subnormal: frac · 2^-24
            let v = Float(frac) * Float(sign: .plus, exponent: -24, significand: 1)
            self = sign != 0 ? -v : v
        } else if exp == 31 {
            self = Float(bitPattern: sign | 0x7F80_0000 | (frac << 13))
        } else {
            self = Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (frac << 13))
        }
    }
}
