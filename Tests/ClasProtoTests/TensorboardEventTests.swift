import ClasProto
import Foundation
import SwiftProtobuf
import XCTest

/// Checks the TensorBoard event messages against the field numbers of tensorboard/compat/proto/event.proto and
/// summary.proto, and round-trips events.
final class TensorboardEventTests: XCTestCase {
    static func scalarEvent(tag: String, value: Float, step: Int64, wallTime: Double) -> Tensorboard_Event {
        var metadata = Tensorboard_SummaryMetadata()
        metadata.pluginData.pluginName = "scalars"
        var summaryValue = Tensorboard_Summary.Value()
        summaryValue.tag = tag
        summaryValue.simpleValue = value
        summaryValue.metadata = metadata
        var event = Tensorboard_Event()
        event.wallTime = wallTime
        event.step = step
        event.summary.value = [summaryValue]
        return event
    }

    func testScalarEventRoundTrip() throws {
        let event = Self.scalarEvent(tag: "train/loss", value: 0.25, step: 300, wallTime: 1_700_000_000.5)
        let data = try event.serializedData()
        let decoded = try Tensorboard_Event(serializedBytes: data)
        XCTAssertEqual(decoded, event)
        XCTAssertEqual(decoded.step, 300)
        XCTAssertEqual(decoded.wallTime, 1_700_000_000.5)
        guard case .summary(let summary)? = decoded.what else { return XCTFail("expected a summary event") }
        XCTAssertEqual(summary.value.count, 1)
        XCTAssertEqual(summary.value[0].tag, "train/loss")
        XCTAssertEqual(summary.value[0].simpleValue, 0.25)
        XCTAssertEqual(summary.value[0].metadata.pluginData.pluginName, "scalars")
    }

    func testScalarEventWireFormat() throws {
        let event = Self.scalarEvent(tag: "a", value: 1.0, step: 2, wallTime: 1.0)
        let bytes = [UInt8](try event.serializedData())
        // SummaryMetadata.PluginData.plugin_name (field 1): 0A 07 "scalars"; SummaryMetadata.plugin_data (field 1).
        let pluginData: [UInt8] = [0x0A, 0x07] + Array("scalars".utf8)
        let metadata: [UInt8] = [0x0A, UInt8(pluginData.count)] + pluginData
        // Summary.Value: tag (1) 0A 01 'a', simple_value (2, 32-bit) 15 + float 1.0, metadata (9) 4A.
        let value: [UInt8] = [0x0A, 0x01, 0x61, 0x15, 0x00, 0x00, 0x80, 0x3F, 0x4A, UInt8(metadata.count)] + metadata
        // Summary.value (field 1).
        let summary: [UInt8] = [0x0A, UInt8(value.count)] + value
        // Event: wall_time (1, 64-bit) 09 + double 1.0, step (2) 10 02, summary (5) 2A.
        let expected: [UInt8] =
            [0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0x02, 0x2A, UInt8(summary.count)] + summary
        XCTAssertEqual(bytes, expected)
    }

    func testFileVersionEvent() throws {
        var event = Tensorboard_Event()
        event.wallTime = 0  // proto3 default: not written
        event.fileVersion = "brain.Event:2"
        let bytes = [UInt8](try event.serializedData())
        // file_version: field 3, length-delimited -> 0x1A.
        XCTAssertEqual(bytes, [0x1A, 0x0D] + Array("brain.Event:2".utf8))
        XCTAssertEqual(try Tensorboard_Event(serializedBytes: bytes).fileVersion, "brain.Event:2")
    }

    func testImageSummaryWireFormat() throws {
        var image = Tensorboard_Summary.Image()
        image.height = 2
        image.width = 3
        image.colorspace = 3
        image.encodedImageString = Data([0x89, 0x50])
        var value = Tensorboard_Summary.Value()
        value.tag = "i"
        value.image = image
        var metadata = Tensorboard_SummaryMetadata()
        metadata.displayName = "d"  // field 2
        metadata.summaryDescription = "s"  // field 3
        value.metadata = metadata
        // Image: height 08 02, width 10 03, colorspace 18 03, encoded_image_string 22 02 89 50.
        let imageBytes: [UInt8] = [0x08, 0x02, 0x10, 0x03, 0x18, 0x03, 0x22, 0x02, 0x89, 0x50]
        let metadataBytes: [UInt8] = [0x12, 0x01, 0x64, 0x1A, 0x01, 0x73]
        // Value: tag 0A, image (field 4) 22, metadata (field 9) 4A.
        let expected: [UInt8] =
            [0x0A, 0x01, 0x69, 0x22, UInt8(imageBytes.count)] + imageBytes
            + [0x4A, UInt8(metadataBytes.count)] + metadataBytes
        XCTAssertEqual([UInt8](try value.serializedData()), expected)
        XCTAssertEqual(try Tensorboard_Summary.Value(serializedBytes: expected), value)
    }
}
