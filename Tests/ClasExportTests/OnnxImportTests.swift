import ClasExport
import ClasModels
import ClasNN
import ClasProto
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// SwiftClas's ONNX importer runs what its exporter writes: the interpreter's output equals the exported graph run by
/// SwiftClas (``GraphExecutor`` on the folded graph, to float rounding) for every family and for a probe using every
/// operator the exporter emits; files it cannot run are refused with a message naming the operator, opset or tensor.
final class OnnxImportTests: XCTestCase {
    private func roundTrip(_ model: Module, size: Int = 64, options: OnnxExportOptions = OnnxExportOptions(),
                           file: StaticString = #filePath, line: UInt = #line) throws -> (onnx: [Float], graph: [Float], model: [Float]) {
        let graph = try ExportGraph.trace(model, height: size, width: size)
        let proto = try OnnxExporter.export(graph, options: options)
        let interpreter = try OnnxInterpreter(OnnxProgram(data: try OnnxExporter.serialize(proto)))
        XCTAssertEqual(interpreter.inputSize.height, size, file: file, line: line)
        let x = randn([3, size, size, 3], seed: 31)
        let folded = GraphExecutor(OnnxExporter.inferenceGraph(graph))
        let reference = GradMode.withoutGrad { folded.run(x) }
        var expected = reference
        if options.appendSoftmax { expected = GradMode.withoutGrad { reference.softmax() } }
        return (try interpreter.run(nhwc: x).scalars, expected.scalars, GradMode.withoutGrad { model(x) }.scalars)
    }

    func testInterpreterMatchesTheExportedGraphForEveryFamily() throws {
        for name in GraphTraceTests.families {
            let model = try preparedModel(name)
            let r = try roundTrip(model)
            XCTAssertLessThanOrEqual(maxAbsDifference(r.onnx, r.graph), 2e-5, name)
            XCTAssertLessThanOrEqual(maxAbsDifference(r.onnx, r.model), 1e-3, "\(name) vs the unfolded model")
        }
    }

    func testInterpreterRunsEveryExportedOperator() throws {
        Randomness.seed(1)
        let probe = LayoutProbe()
        randomizeBatchNorms(probe, inputSize: 16)
        probe.eval()
        let r = try roundTrip(probe, size: 16)
        XCTAssertLessThanOrEqual(maxAbsDifference(r.onnx, r.graph), 2e-5)
        var options = OnnxExportOptions()
        options.appendSoftmax = true
        let s = try roundTrip(try preparedModel("MobileNetV3_small_x1_0"), size: 32, options: options)
        XCTAssertLessThanOrEqual(maxAbsDifference(s.onnx, s.graph), 1e-6)
    }

    // MARK: refusals

    /// A minimal valid model: x [N, 3, 4, 4] → GlobalAveragePool → Flatten → y, editable before serialising.
    private func tinyModel(_ edit: (inout Onnx_ModelProto) -> Void = { _ in }) -> Data {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 17
        m.opsetImport = [opset]
        func node(_ op: String, _ inputs: [String], _ output: String) -> Onnx_NodeProto {
            var n = Onnx_NodeProto()
            n.opType = op
            n.name = "\(op)_0"
            n.input = inputs
            n.output = [output]
            return n
        }
        var input = Onnx_ValueInfoProto()
        input.name = "x"
        var type = Onnx_TypeProto()
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = 1
        var shape = Onnx_TensorShapeProto()
        shape.dim = [nil, 3, 4, 4].map { v in
            var d = Onnx_TensorShapeProto.Dimension()
            if let v { d.value = .dimValue(Int64(v)) } else { d.value = .dimParam("N") }
            return d
        }
        tensor.shape = shape
        type.value = .tensorType(tensor)
        input.type = type
        var output = Onnx_ValueInfoProto()
        output.name = "y"
        m.graph.input = [input]
        m.graph.output = [output]
        m.graph.node = [node("GlobalAveragePool", ["x"], "p"), node("Flatten", ["p"], "y")]
        edit(&m)
        return try! m.serializedData()
    }

    private func refuse(_ data: Data, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try OnnxInterpreter(OnnxProgram(data: data)), file: file, line: line) { error in
            for f in fragments { XCTAssertTrue("\(error)".contains(f), "'\(f)' in: \(error)", file: file, line: line) }
        }
    }

    /// Fixed-seed byte mutations of two small valid models (1000 cases, well under a second): each one runs or is
    /// refused with an ``OnnxImportError``, never a crash or another error type. (The seeds are tiny so that most
    /// edits land in the graph structure, attributes and tensor headers rather than in weight bytes.)
    func testMutatedModelsRunOrAreRefusedNeverCrash() throws {
        var weight = Onnx_TensorProto()
        weight.name = "w"
        weight.dataType = 1
        weight.dims = [2, 3, 3, 3]
        weight.floatData = (0..<54).map { Float($0 % 7) / 7 - 0.4 }
        var strides = Onnx_AttributeProto()
        strides.name = "strides"
        strides.type = .ints
        strides.ints = [2, 2]
        let seeds = [tinyModel(), tinyModel {
            var conv = Onnx_NodeProto()
            conv.opType = "Conv"
            conv.name = "conv"
            conv.input = ["x", "w"]
            conv.output = ["c"]
            conv.attribute = [strides]
            $0.graph.initializer = [weight]
            $0.graph.node[0].input = ["c"]
            $0.graph.node.insert(conv, at: 0)
        }].map { [UInt8]($0) }
        var rng = RandomState(seed: 17)
        var ran = 0, refused = 0
        for index in 0..<1000 {
            var b = seeds[index % seeds.count]
            for _ in 0...rng.int(below: 3) where !b.isEmpty {
                let i = rng.int(below: b.count)
                switch rng.int(below: 6) {
                case 0: b[i] ^= UInt8(1) << UInt8(rng.int(below: 8))
                case 1: b[i] = UInt8(truncatingIfNeeded: rng.next())
                case 2: b[i] = [0, 1, 0x7F, 0x80, 0xFF][rng.int(below: 5)]
                case 3: b.removeSubrange(i..<min(b.count, i + 1 + rng.int(below: 8)))
                case 4: b.insert(contentsOf: b[i..<min(b.count, i + 1 + rng.int(below: 8))], at: rng.int(below: b.count))
                default: if rng.int(below: 4) == 0 { b.removeSubrange(i...) }
                }
            }
            do {
                let interpreter = try OnnxInterpreter(OnnxProgram(data: Data(b)))
                let s = interpreter.inputSize
                _ = try interpreter.run(nhwc: Tensor.zeros([1, s.height, s.width, s.channels]))
                ran += 1
            } catch is OnnxImportError {
                refused += 1
            } catch {
                XCTFail("case \(index) \(b): \(type(of: error)): \(error)")
            }
        }
        XCTAssertGreaterThan(refused, 100, "the mutations should break many files")
        XCTAssertGreaterThan(ran, 10, "some mutations should still run")
    }

    func testUnsupportedAndMalformedFilesAreRefusedWithTheReason() throws {
        let ok = try OnnxInterpreter(OnnxProgram(data: tinyModel()))
        XCTAssertEqual(try ok.run(nhwc: Tensor(shape: [1, 4, 4, 3], repeating: 2)).scalars, [2, 2, 2])

        refuse(tinyModel { $0.graph.node[1].opType = "Resize" }, ["'Flatten_0' (Resize)", "operator 'Resize' is not supported"])
        refuse(tinyModel { $0.opsetImport[0].version = 9 }, ["opset 9", "13…17"])
        refuse(tinyModel { $0.opsetImport[0].version = 18 }, ["opset 18"])
        refuse(tinyModel { var o = Onnx_OperatorSetIdProto(); o.domain = "com.microsoft"; o.version = 1; $0.opsetImport.append(o) },
               ["domain 'com.microsoft'"])
        refuse(tinyModel { $0.graph.node[1].input = ["q"] }, ["reads 'q'", "no earlier node"])
        refuse(tinyModel { $0.graph.node.swapAt(0, 1) }, ["reads 'p'"])
        refuse(tinyModel { $0.graph.output[0].name = "z" }, ["exactly one output"])
        refuse(tinyModel { $0.graph.input = [] }, ["0 inputs"])
        refuse(Data("not a model".utf8), ["not an ONNX model"])
        let full = tinyModel()
        refuse(full.prefix(full.count - 3), ["not an ONNX model"])

        // Tensors: data that does not fit the shape, external data, unsupported element types.
        var weight = Onnx_TensorProto()
        weight.name = "w"
        weight.dataType = 1
        weight.dims = [2, 3, 1, 1]
        weight.rawData = Data(count: 20)
        refuse(tinyModel { $0.graph.initializer = [weight] }, ["tensor 'w' has 20 bytes for 6 float32 values (shape [2, 3, 1, 1])"])
        weight.dims = [1 << 40, 1 << 40]
        refuse(tinyModel { $0.graph.initializer = [weight] }, ["tensor 'w'", "too large"])
        weight.dims = [2]
        weight.dataType = 10
        weight.rawData = Data(count: 4)
        refuse(tinyModel { $0.graph.initializer = [weight] }, ["element type 10"])

        // Shapes that do not fit are found by the dry run at load, naming the node.
        weight.dataType = 1
        weight.dims = [2, 5, 1, 1]
        weight.rawData = Data(count: 40)
        refuse(tinyModel {
            var conv = Onnx_NodeProto()
            conv.opType = "Conv"
            conv.name = "conv"
            conv.input = ["x", "w"]
            conv.output = ["c"]
            $0.graph.initializer = [weight]
            $0.graph.node[0].input = ["c"]
            $0.graph.node.insert(conv, at: 0)
        }, ["ONNX node 'conv' (Conv)", "input has 3 channels, weight [2, 5, 1, 1]"])
        var pads = Onnx_AttributeProto()
        pads.name = "kernel_shape"
        pads.type = .ints
        pads.ints = [9, 9]
        refuse(tinyModel {
            $0.graph.node[0].opType = "MaxPool"
            $0.graph.node[0].attribute = [pads]
        }, ["(MaxPool)", "does not fit the 4×4 input"])
    }
}
