import ClasEngine
import ClasProto
import Foundation
import XCTest
import _ClasTestSupport

/// TFRecord framing, event files, and a training run's events read back by Python's `tensorboard` when installed.
final class TensorBoardTests: XCTestCase {
    func testCRC32CKnownValues() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)  // the CRC catalogue's check value
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)  // RFC 3720 B.4
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)  // RFC 3720 B.4
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32C.masked(0), 0xA282_EAD8)
        XCTAssertEqual(CRC32C.masked(0x8000), 0xA282_EAD9, "rotated right by 15 bits, then the constant added")
    }

    func testRecordFramingAndReadBack() throws {
        let dir = temporaryDirectory("tfrecord")
        let writer = try EventFileWriter(directory: dir)
        try writer.addScalars([(tag: "train_loss", value: 0.5), (tag: "lr(Cosine)", value: 0.1)], step: 3)
        try writer.addScalars([(tag: "train_loss", value: 0.25)], step: 4)
        writer.flush()
        XCTAssertTrue((writer.path as NSString).lastPathComponent.hasPrefix("events.out.tfevents."))
        let records = try EventFileWriter.readRecords(writer.path)
        XCTAssertEqual(records.count, 3)
        let events = try records.map { try Tensorboard_Event(serializedBytes: $0) }
        XCTAssertEqual(events[0].fileVersion, "brain.Event:2")
        XCTAssertEqual(events[1].step, 3)
        XCTAssertEqual(events[1].summary.value.map(\.tag), ["train_loss", "lr(Cosine)"])
        XCTAssertEqual(events[1].summary.value[0].metadata.pluginData.pluginName, "scalars")
        XCTAssertEqual(events[2].summary.value[0].simpleValue, 0.25)
        XCTAssertFalse(events[2].summary.value[0].hasMetadata, "metadata only on a tag's first value")

        // The framing itself: 8-byte length, masked CRC of it, data, masked CRC of the data (little-endian).
        let framed = [UInt8](EventFileWriter.record(Data([1, 2, 3])))
        XCTAssertEqual(Array(framed[0..<8]), [3, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(framed[12..<15]), [1, 2, 3])
        let dataCRC = CRC32C.masked(CRC32C.checksum([1, 2, 3]))
        XCTAssertEqual(Array(framed[15..<19]), (0..<4).map { UInt8(dataCRC >> (8 * UInt32($0)) & 0xFF) })

        // A corrupted byte is detected.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        bytes[bytes.count - 6] ^= 0x40
        let corrupt = dir + "/corrupt.tfevents"
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
        XCTAssertThrowsError(try EventFileWriter.readRecords(corrupt)) { XCTAssertTrue("\($0)".contains("checksum"), "\($0)") }
    }

    func testTrainingWritesEventsThatTensorBoardReads() throws {
        let run = try TinyRun(epochs: 2, name: "visualdl")
        let engine = try Engine(configPath: run.config, overrides: ["Global.use_visualdl=True"], mode: .train, quiet: true)
        try Trainer(engine: engine).run()
        let vdl = "\(run.modelDir)/vdl"
        let files = try FileManager.default.contentsOfDirectory(atPath: vdl).filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(files.count, 1)
        let events = try EventFileWriter.readRecords("\(vdl)/\(files[0])").map { try Tensorboard_Event(serializedBytes: $0) }
        var tags: [String: [(Int64, Float)]] = [:]
        for e in events { for v in e.summary.value { tags[v.tag, default: []].append((e.step, v.simpleValue)) } }
        for tag in ["train_loss", "train_top1", "lr(LinearWarmup)", "eval_top1", "eval_loss", "eval_acc", "epoch/train_loss", "epoch/lr"] {
            XCTAssertNotNil(tags[tag], "tag \(tag) in \(tags.keys.sorted())")
        }
        XCTAssertEqual(tags["eval_acc"]?.map(\.0), [1, 2], "eval values at the epoch")
        XCTAssertEqual(tags["train_loss"]?.map(\.0), [1, 3, 5, 7], "every print_batch_step (2) iterations, at the global step")

        // Python's TensorBoard reads the folder (skipped when tensorboard is not installed).
        let script = """
            import sys, json
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            acc = EventAccumulator(sys.argv[1]); acc.Reload()
            tags = acc.Tags()["scalars"]
            print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags}))
            """
        let output = try runPython(script, arguments: [vdl], requiring: "tensorboard")
        let read = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [[Double]]] ?? [:]
        XCTAssertEqual(Set(read.keys), Set(tags.keys))
        let evalAcc = (read["eval_acc"] ?? []).map { $0[1] }
        XCTAssertEqual(evalAcc.count, 2)
        for (a, b) in zip(evalAcc, tags["eval_acc"]?.map(\.1) ?? []) { XCTAssertEqual(a, Double(b), accuracy: 1e-6) }
    }
}

/// Runs a Python script with ``TestPython``; skips the test when the module is missing (fails under `CI=true`).
func runPython(_ script: String, arguments: [String] = [], requiring module: String) throws -> String {
    try TestPython.require([module])
    let (status, out, err) = try TestPython.run(["-c", script] + arguments)
    guard status == 0 else { throw NSError(domain: "python", code: Int(status), userInfo: [NSLocalizedDescriptionKey: err]) }
    return out
}
