import ClasProto
import SwiftProtobuf
import Foundation

/// Writes a TensorBoard event file: TFRecord records holding serialized `Tensorboard_Event` messages, the first
/// one carrying `file_version = "brain.Event:2"`. `tensorboard --logdir` reads the folder.
///
/// Record framing: `UInt64 length` (little-endian), `UInt32 masked_crc32c(length bytes)`, the event bytes,
/// `UInt32 masked_crc32c(event bytes)`.
public final class EventFileWriter {
    /// The event file.
    public let path: String
    private let handle: FileHandle
    private var taggedBefore = Set<String>()

    /// Creates `directory` if needed and a new file `events.out.tfevents.<seconds>.<host>.<pid>` in it.
    public init(directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw EngineError("cannot create the TensorBoard folder \(directory): \(error.localizedDescription)")
        }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        var name = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host).\(getpid())"
        var n = 1
        while FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name)) {
            name = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host).\(getpid()).\(n)"
            n += 1
        }
        path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw EngineError("cannot create the TensorBoard event file \(path)")
        }
        self.handle = handle
        var first = Tensorboard_Event()
        first.wallTime = Date().timeIntervalSince1970
        first.fileVersion = "brain.Event:2"
        try write(first)
    }

    deinit { try? handle.close() }

    /// Appends one event.
    public func write(_ event: Tensorboard_Event) throws {
        let data = try event.serializedData()
        do {
            try handle.write(contentsOf: Self.record(data))
        } catch {
            throw EngineError("cannot write the TensorBoard event file \(path): \(error.localizedDescription)")
        }
    }

    /// Appends scalar values at `step` in one event; the first value of each tag carries the scalars plugin's
    /// metadata, as TensorBoard's own writers do.
    public func addScalars(_ values: [(tag: String, value: Double)], step: Int, wallTime: Date = Date()) throws {
        guard !values.isEmpty else { return }
        var event = Tensorboard_Event()
        event.wallTime = wallTime.timeIntervalSince1970
        event.step = Int64(step)
        event.summary.value = values.map { tag, value in
            var v = Tensorboard_Summary.Value()
            v.tag = tag
            v.simpleValue = Float(value)
            if taggedBefore.insert(tag).inserted {
                var metadata = Tensorboard_SummaryMetadata()
                metadata.pluginData.pluginName = "scalars"
                v.metadata = metadata
            }
            return v
        }
        try write(event)
    }

    /// Appends a PNG image summary.
    public func addImage(tag: String, png: [UInt8], width: Int, height: Int, step: Int, wallTime: Date = Date()) throws {
        var image = Tensorboard_Summary.Image()
        (image.width, image.height, image.colorspace) = (Int32(width), Int32(height), 3)
        image.encodedImageString = Data(png)
        var value = Tensorboard_Summary.Value()
        value.tag = tag
        value.image = image
        var event = Tensorboard_Event()
        event.wallTime = wallTime.timeIntervalSince1970
        event.step = Int64(step)
        event.summary.value = [value]
        try write(event)
    }

    /// Pushes written events to the file system.
    public func flush() { try? handle.synchronize() }

    /// One TFRecord record around `data`.
    public static func record(_ data: Data) -> Data {
        var out = Data(capacity: data.count + 16)
        let length = UInt64(data.count)
        let lengthBytes = withUnsafeBytes(of: length.littleEndian) { Data($0) }
        out.append(lengthBytes)
        withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(lengthBytes)).littleEndian) { out.append(contentsOf: $0) }
        out.append(data)
        withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(data)).littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    /// The records of a TFRecord file, with both checksums verified.
    public static func readRecords(_ path: String) throws -> [Data] {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw EngineError("cannot read \(path)") }
        let b = [UInt8](bytes)
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) } }
        var records: [Data] = [], offset = 0
        while offset < b.count {
            guard offset + 12 <= b.count else { throw EngineError("\(path): truncated record header at byte \(offset)") }
            let length = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(b[offset + $1]) << (8 * UInt64($1)) })
            guard u32(offset + 8) == CRC32C.masked(CRC32C.checksum(b[offset..<offset + 8])) else {
                throw EngineError("\(path): bad length checksum at byte \(offset)")
            }
            let start = offset + 12
            guard start + length + 4 <= b.count else { throw EngineError("\(path): truncated record at byte \(offset)") }
            guard u32(start + length) == CRC32C.masked(CRC32C.checksum(b[start..<start + length])) else {
                throw EngineError("\(path): bad data checksum at byte \(offset)")
            }
            records.append(Data(b[start..<start + length]))
            offset = start + length + 4
        }
        return records
    }
}
