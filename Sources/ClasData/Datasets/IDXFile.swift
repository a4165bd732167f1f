import CZlib
import Foundation

/// An IDX file (the MNIST family's format): big-endian magic `0x00 0x00 <type> <rank>`, `rank` 32-bit
/// dimensions, then the data. Only unsigned-byte data (type 0x08) is supported. Gzipped files are read
/// through zlib (uncompressed files work too).
public struct IDXFile: Sendable {
    /// The magic number (2051 for image files, 2049 for label files).
    public let magic: Int
    /// Dimensions, outermost first (e.g. `[60000, 28, 28]`).
    public let dimensions: [Int]
    /// `dimensions.reduce(1, *)` bytes.
    public let data: [UInt8]

    /// Reads and validates `path`; `expectedMagic` (e.g. 2051) is checked when given.
    public static func read(_ path: String, expectedMagic: Int? = nil) throws -> IDXFile {
        let bytes = try Gzip.readAll(path)
        guard bytes.count >= 4 else { throw DatasetError(file: path, "IDX file is too short (\(bytes.count) bytes)") }
        let magic = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        if let expectedMagic, magic != expectedMagic {
            throw DatasetError(file: path, "IDX magic number is \(magic), expected \(expectedMagic)")
        }
        guard bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08, (1...4).contains(bytes[3]) else {
            throw DatasetError(file: path, "not an unsigned-byte IDX file (magic \(magic))")
        }
        let rank = Int(bytes[3])
        guard bytes.count >= 4 + 4 * rank else { throw DatasetError(file: path, "IDX header is cut short") }
        var dims: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            dims.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let expected = dims.reduce(1, *), header = 4 + 4 * rank
        guard bytes.count - header == expected else {
            throw DatasetError(file: path, "IDX dimensions \(dims) need \(expected) data bytes, the file has "
                               + "\(bytes.count - header)")
        }
        return IDXFile(magic: magic, dimensions: dims, data: Array(bytes[header...]))
    }
}

/// Whole-file gzip reading through zlib.
enum Gzip {
    static func readAll(_ path: String) throws -> [UInt8] {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw DatasetError(file: path, "does not exist or is not readable")
        }
        guard let file = gzopen(path, "rb") else { throw DatasetError(file: path, "cannot open") }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 20)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw DatasetError(file: path, "corrupt gzip data: \(errorMessage(file))") }
            if n == 0 { break }
            out += chunk[0..<Int(n)]
        }
        var code: Int32 = 0
        _ = gzerror(file, &code)
        if code != Z_OK && code != Z_STREAM_END {
            throw DatasetError(file: path, "corrupt or truncated gzip data: \(errorMessage(file))")
        }
        return out
    }

    private static func errorMessage(_ file: gzFile) -> String {
        var code: Int32 = 0
        guard let message = gzerror(file, &code) else { return "zlib error \(code)" }
        return String(cString: message)
    }
}
