import CZlib
import Foundation

/// A read-only zip archive in memory (mapped), as `torch.save` writes them: the central directory (zip64 included)
/// lists the entries; entries are stored or deflated and checked against their CRC-32. Every offset and size is
/// checked against the file before it is used.
struct ZipArchive {
    struct FormatError: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    struct Entry {
        let path: String
        let method: UInt16
        let crc32: UInt32
        let compressedSize: UInt64
        let size: UInt64
        let localHeaderOffset: UInt64
    }

    static let maxEntries = 1_000_000

    let data: Data
    /// Entries by path, in central-directory order.
    private(set) var entries: [Entry] = []
    private(set) var byPath: [String: Int] = [:]

    init(_ data: Data) throws {
        self.data = data
        try readDirectory()
    }

    subscript(path: String) -> Entry? { byPath[path].map { entries[$0] } }

    private func fail(_ reason: String) -> FormatError { FormatError(reason: reason) }

    private func u16(_ at: UInt64) throws -> UInt16 { UInt16(try uint(at, 2)) }
    private func u32(_ at: UInt64) throws -> UInt32 { UInt32(try uint(at, 4)) }
    private func u64(_ at: UInt64) throws -> UInt64 { try uint(at, 8) }

    private func uint(_ at: UInt64, _ n: Int) throws -> UInt64 {
        guard at <= UInt64(data.count), UInt64(n) <= UInt64(data.count) - at else {
            throw fail("a header at byte \(at) runs past the end of the \(data.count)-byte file")
        }
        let start = data.startIndex + Int(at)
        var v: UInt64 = 0
        for i in (0..<n).reversed() { v = v << 8 | UInt64(data[start + i]) }
        return v
    }

    private mutating func readDirectory() throws {
        // The end-of-central-directory record is in the last 22 + 65535 bytes.
        let size = UInt64(data.count)
        guard size >= 22 else { throw fail("too short for a zip file") }
        var eocd: UInt64?
        var at = size - 22
        let lowest = size > 22 + 65535 ? size - 22 - 65535 : 0
        while true {
            if try u32(at) == 0x0605_4B50 { eocd = at; break }
            if at == lowest { break }
            at -= 1
        }
        guard let eocd else { throw fail("no end-of-central-directory record") }
        var count = UInt64(try u16(eocd + 10))
        var directorySize = UInt64(try u32(eocd + 12))
        var directoryOffset = UInt64(try u32(eocd + 16))
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            guard eocd >= 20, try u32(eocd - 20) == 0x0706_4B50 else { throw fail("zip64 locator missing") }
            let record = try u64(eocd - 20 + 8)
            guard try u32(record) == 0x0606_4B50 else { throw fail("zip64 end record missing") }
            count = try u64(record + 32)
            directorySize = try u64(record + 40)
            directoryOffset = try u64(record + 48)
        }
        guard count <= UInt64(Self.maxEntries), directoryOffset <= size, directorySize <= size - directoryOffset else {
            throw fail("central directory (\(count) entries at \(directoryOffset)) does not fit in the file")
        }
        var p = directoryOffset
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4B50 else { throw fail("bad central directory entry at byte \(p)") }
            let flags = try u16(p + 8)
            let method = try u16(p + 10)
            let crc = try u32(p + 16)
            var compressed = UInt64(try u32(p + 20))
            var uncompressed = UInt64(try u32(p + 24))
            let nameLength = UInt64(try u16(p + 28))
            let extraLength = UInt64(try u16(p + 30))
            let commentLength = UInt64(try u16(p + 32))
            var offset = UInt64(try u32(p + 42))
            _ = try uint(p + 46, Int(nameLength + extraLength + commentLength))  // bounds
            guard flags & 1 == 0 else { throw fail("encrypted entries are not supported") }
            let nameStart = data.startIndex + Int(p + 46)
            let path = String(decoding: data[nameStart..<nameStart + Int(nameLength)], as: UTF8.self)
            // Zip64 extended information: the 64-bit values of the fields saturated above, in this order.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e), length = UInt64(try u16(e + 2))
                guard e + 4 + length <= extraEnd else { throw fail("bad extra field in \(path)") }
                if id == 0x0001 {
                    var q = e + 4
                    for field in [0, 1, 2] where q + 8 <= e + 4 + length {
                        switch field {
                        case 0 where uncompressed == 0xFFFF_FFFF: uncompressed = try u64(q); q += 8
                        case 1 where compressed == 0xFFFF_FFFF: compressed = try u64(q); q += 8
                        case 2 where offset == 0xFFFF_FFFF: offset = try u64(q); q += 8
                        default: break
                        }
                    }
                }
                e += 4 + length
            }
            guard byPath[path] == nil else { throw fail("duplicate entry \(path)") }
            byPath[path] = entries.count
            entries.append(Entry(path: path, method: method, crc32: crc, compressedSize: compressed, size: uncompressed,
                                 localHeaderOffset: offset))
            p += 46 + nameLength + extraLength + commentLength
        }
    }

    /// The bytes of an entry (at most `limit`), inflated if deflated, with the CRC-32 checked.
    func contents(of entry: Entry, limit: UInt64) throws -> Data {
        guard entry.size <= limit else { throw fail("\(entry.path) declares \(entry.size) bytes, more than \(limit)") }
        let h = entry.localHeaderOffset
        guard try u32(h) == 0x0403_4B50 else { throw fail("\(entry.path): no local header at byte \(h)") }
        let start = h + 30 + UInt64(try u16(h + 26)) + UInt64(try u16(h + 28))
        guard start <= UInt64(data.count), entry.compressedSize <= UInt64(data.count) - start else {
            throw fail("\(entry.path): \(entry.compressedSize) bytes at \(start) run past the end of the file")
        }
        let raw = data.subdata(in: data.startIndex + Int(start)..<data.startIndex + Int(start + entry.compressedSize))
        let out: Data
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.size else { throw fail("\(entry.path): stored sizes differ") }
            out = raw
        case 8:
            // Deflate expands at most ~1032:1; zlib counts in 32 bits.
            guard entry.size < 1 << 32, entry.compressedSize < 1 << 32, entry.size <= 1032 * entry.compressedSize + 64
            else { throw fail("\(entry.path): implausible deflate sizes (\(entry.compressedSize) → \(entry.size))") }
            out = try inflate(raw, size: entry.size, path: entry.path)
        default: throw fail("\(entry.path): compression method \(entry.method) is not supported")
        }
        guard Self.crc32(out) == entry.crc32 else { throw fail("\(entry.path): CRC-32 mismatch (corrupt file)") }
        return out
    }

    static func crc32(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { buffer -> UInt32 in
            var crc = CZlib.crc32(0, nil, 0)
            var base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
            var left = buffer.count
            while left > 0, let b = base {
                let n = min(left, 1 << 30)
                crc = CZlib.crc32(crc, b, uInt(n))
                base = b + n
                left -= n
            }
            return UInt32(crc)
        }
    }

    /// Raw deflate into exactly `size` bytes.
    private func inflate(_ raw: Data, size: UInt64, path: String) throws -> Data {
        var out = Data(count: Int(size))
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("\(path): zlib initialisation failed")
        }
        defer { inflateEnd(&stream) }
        var raw = raw
        let status: Int32 = raw.withUnsafeMutableBytes { input in
            out.withUnsafeMutableBytes { output in
                stream.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(input.count)
                stream.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(output.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END, stream.total_out == size else {
            throw fail("\(path): deflate data is corrupt or not \(size) bytes")
        }
        return out
    }
}
