import ClasProto
import Foundation
import SwiftProtobuf
import XCTest
import _ClasTestSupport

/// Checks that the generated ONNX messages use the official field numbers (onnx/onnx.proto), by comparing serialized
/// bytes with hand-computed encodings. A tag byte is `(field_number << 3) | wire_type`, with wire type 0 = varint,
/// 1 = 64-bit, 2 = length-delimited, 5 = 32-bit. SwiftProtobuf writes fields in field-number order.
final class OnnxWireFormatTests: XCTestCase {
    private static let floatType = Int32(Onnx_TensorProto.DataType.float.rawValue)

    /// A float tensor value info of shape [N, 3], N symbolic.
    static func valueInfo(_ name: String) -> Onnx_ValueInfoProto {
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = "N"
        var features = Onnx_TensorShapeProto.Dimension()
        features.dimValue = 3
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = floatType
        tensorType.shape.dim = [batch, features]
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensorType
        return info
    }

    static func opset(_ version: Int64) -> Onnx_OperatorSetIdProto {
        var opset = Onnx_OperatorSetIdProto()
        opset.version = version
        return opset
    }

    /// Y = Relu(X), X and Y float [N, 3], opset 13, IR version 8.
    static func reluModel() -> Onnx_ModelProto {
        var relu = Onnx_NodeProto()
        relu.input = ["X"]
        relu.output = ["Y"]
        relu.opType = "Relu"
        var graph = Onnx_GraphProto()
        graph.node = [relu]
        graph.name = "g"
        graph.input = [valueInfo("X")]
        graph.output = [valueInfo("Y")]
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.graph = graph
        model.opsetImport = [opset(13)]
        return model
    }

    /// Y = Relu(X + B), B a float [3] initializer stored in raw_data, with producer and metadata fields set.
    static func addReluModel() -> Onnx_ModelProto {
        var bias = Onnx_TensorProto()
        bias.name = "B"
        bias.dims = [3]
        bias.dataType = floatType
        var raw = Data()
        for value: Float in [1, -2, 0.5] { withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        bias.rawData = raw

        var add = Onnx_NodeProto()
        add.input = ["X", "B"]
        add.output = ["T"]
        add.name = "add0"
        add.opType = "Add"
        var relu = Onnx_NodeProto()
        relu.input = ["T"]
        relu.output = ["Y"]
        relu.name = "relu0"
        relu.opType = "Relu"

        var graph = Onnx_GraphProto()
        graph.node = [add, relu]
        graph.name = "add_relu"
        graph.initializer = [bias]
        graph.input = [valueInfo("X")]
        graph.output = [valueInfo("Y")]

        var entry = Onnx_StringStringEntryProto()
        entry.key = "source"
        entry.value = "ClasProtoTests"
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.producerName = "SwiftClas"
        model.producerVersion = "0"
        model.graph = graph
        model.opsetImport = [opset(13)]
        model.metadataProps = [entry]
        return model
    }

    /// Reads a varint at `index`, returning the value and the index after it.
    private func readVarint(_ bytes: [UInt8], _ index: Int) -> (UInt64, Int) {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var i = index
        while true {
            let byte = bytes[i]
            value |= UInt64(byte & 0x7F) << shift
            i += 1
            if byte & 0x80 == 0 { return (value, i) }
            shift += 7
        }
    }

    func testModelTopLevelTags() throws {
        let bytes = [UInt8](try Self.reluModel().serializedData())
        // ir_version: field 1, varint -> 0x08, value 8.
        XCTAssertEqual(Array(bytes[0..<2]), [0x08, 0x08])
        // graph: field 7, length-delimited -> 0x3A.
        XCTAssertEqual(bytes[2], 0x3A)
        let (graphLength, graphStart) = readVarint(bytes, 3)
        let graphEnd = graphStart + Int(graphLength)
        // opset_import: field 8, length-delimited -> 0x42; OperatorSetIdProto.version: field 2, varint -> 0x10, 13.
        XCTAssertEqual(Array(bytes[graphEnd...]), [0x42, 0x02, 0x10, 0x0D])

        // The graph starts with node (GraphProto field 1 -> 0x0A) holding the Relu node:
        // input "X" (field 1 -> 0x0A), output "Y" (field 2 -> 0x12), op_type "Relu" (field 4 -> 0x22).
        let node: [UInt8] = [0x0A, 0x01, 0x58, 0x12, 0x01, 0x59, 0x22, 0x04, 0x52, 0x65, 0x6C, 0x75]
        XCTAssertEqual(Array(bytes[graphStart..<(graphStart + 2 + node.count)]), [0x0A, UInt8(node.count)] + node)
        // then name "g" (GraphProto field 2 -> 0x12) and input (field 11 -> 0x5A), output (field 12 -> 0x62).
        let afterNode = graphStart + 2 + node.count
        XCTAssertEqual(Array(bytes[afterNode..<(afterNode + 4)]), [0x12, 0x01, 0x67, 0x5A])
    }

    func testValueInfoEncoding() throws {
        let bytes = [UInt8](try Self.valueInfo("X").serializedData())
        // shape: Dimension{dim_param "N"} = 12 01 4E, Dimension{dim_value 3} = 08 03, each in TensorShapeProto.dim
        // (field 1 -> 0x0A).
        let shape: [UInt8] = [0x0A, 0x03, 0x12, 0x01, 0x4E, 0x0A, 0x02, 0x08, 0x03]
        // TypeProto.Tensor: elem_type (field 1, varint) = FLOAT = 1, shape (field 2 -> 0x12).
        let tensor: [UInt8] = [0x08, 0x01, 0x12, UInt8(shape.count)] + shape
        // TypeProto: tensor_type (field 1 -> 0x0A).
        let type: [UInt8] = [0x0A, UInt8(tensor.count)] + tensor
        // ValueInfoProto: name (field 1 -> 0x0A), type (field 2 -> 0x12).
        let expected: [UInt8] = [0x0A, 0x01, 0x58, 0x12, UInt8(type.count)] + type
        XCTAssertEqual(bytes, expected)
    }

    func testTensorEncoding() throws {
        var tensor = Onnx_TensorProto()
        tensor.dims = [2]
        tensor.dataType = Self.floatType
        tensor.floatData = [1.0, -2.0]
        tensor.name = "w"
        let bytes = [UInt8](try tensor.serializedData())
        let expected: [UInt8] = [
            0x08, 0x02,  // dims: field 1, varint (proto2 repeated, not packed)
            0x10, 0x01,  // data_type: field 2, varint, FLOAT
            0x22, 0x08, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0,  // float_data: field 4, packed
            0x42, 0x01, 0x77,  // name: field 8
        ]
        XCTAssertEqual(bytes, expected)

        var other = Onnx_TensorProto()
        other.int32Data = [5]  // field 5, packed -> 0x2A
        other.int64Data = [-1]  // field 7, packed -> 0x3A, ten-byte varint
        other.rawData = Data([0xAB])  // field 9 -> 0x4A
        XCTAssertEqual(
            [UInt8](try other.serializedData()),
            [0x2A, 0x01, 0x05, 0x3A, 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x4A, 0x01, 0xAB])
    }

    func testAttributeEncoding() throws {
        var attribute = Onnx_AttributeProto()
        attribute.name = "a"
        attribute.type = .ints
        attribute.ints = [1, 2]
        attribute.f = 0.5
        // name 1 -> 0A, f 2 (32-bit) -> 15, ints 8 (proto2, unpacked) -> 40 each, type 20 (varint) -> A0 01.
        XCTAssertEqual(
            [UInt8](try attribute.serializedData()),
            [0x0A, 0x01, 0x61, 0x15, 0x00, 0x00, 0x00, 0x3F, 0x40, 0x01, 0x40, 0x02, 0xA0, 0x01, 0x07])

        var more = Onnx_AttributeProto()
        more.i = 3  // field 3 -> 0x18
        more.s = Data("x".utf8)  // field 4 -> 0x22
        more.floats = [1]  // field 7, unpacked -> 0x3D
        more.strings = [Data("y".utf8)]  // field 9 -> 0x4A
        XCTAssertEqual(
            [UInt8](try more.serializedData()),
            [0x18, 0x03, 0x22, 0x01, 0x78, 0x3D, 0x00, 0x00, 0x80, 0x3F, 0x4A, 0x01, 0x79])
    }

    func testModelRoundTrip() throws {
        let model = Self.addReluModel()
        let decoded = try Onnx_ModelProto(serializedBytes: try model.serializedData())
        XCTAssertEqual(decoded, model)
        XCTAssertEqual(decoded.graph.input[0].type.tensorType.shape.dim[0].dimParam, "N")
        XCTAssertEqual(decoded.graph.initializer[0].rawData.count, 12)
        XCTAssertEqual(decoded.opsetImport.first?.version, 13)
        XCTAssertFalse(decoded.opsetImport[0].hasDomain)
    }

    /// Unknown fields (e.g. from a model written by another exporter) survive a decode/encode round trip.
    func testUnknownFieldsArePreserved() throws {
        var model = Self.reluModel()
        var bytes = try model.serializedData()
        // training_info (field 20, length-delimited): tag 0xA2 0x01, empty message.
        bytes.append(contentsOf: [0xA2, 0x01, 0x00])
        model = try Onnx_ModelProto(serializedBytes: bytes)
        XCTAssertEqual(try model.serializedData(), bytes)
    }

    /// Python's onnx checker accepts both models and onnxruntime computes Relu(X + B) with them (``TestPython``:
    /// skipped with the reason without onnx/onnxruntime, failing under `CI=true`).
    func testPythonOnnxRuntimeRunsTheModels() throws {
        try TestPython.require(["onnx", "onnxruntime", "numpy"])
        let dir = temporaryDirectory()
        let path = dir + "/add_relu.onnx"
        try Self.addReluModel().serializedData().write(to: URL(fileURLWithPath: path))
        var relu = Self.reluModel()
        relu.producerName = "SwiftClas"
        try relu.serializedData().write(to: URL(fileURLWithPath: path + ".relu.onnx"))
        let script = """
            import sys, numpy as np, onnx, onnxruntime as ort
            x = np.array([[1.0, 1.0, -1.0], [-3.0, 3.0, 0.25]], np.float32)
            for path, expected in ((sys.argv[1], np.maximum(x + np.array([1, -2, 0.5], np.float32), 0)),
                                   (sys.argv[1] + '.relu.onnx', np.maximum(x, 0))):
                onnx.checker.check_model(onnx.load(path), full_check=True)
                y = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(None, {'X': x})[0]
                assert np.array_equal(y, expected), (path, y, expected)
            print('ok')
            """
        let r = try TestPython.run(["-c", script, path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }
}
