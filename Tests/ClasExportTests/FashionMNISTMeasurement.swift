import ClasEngine
import ClasExport
import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// How the README's export and int8 figures were measured, and the bounds README states for them: the whole
/// `DataLoader.Eval` split through SwiftClas and through onnxruntime on the same preprocessed tensors. `make measure`
/// trains the model, quantises it (`tools quantize`, `tools compress`) and runs this test with
/// `CLAS_EXPORT_MEASURE_CONFIG` (a config), `CLAS_EXPORT_MEASURE_WEIGHTS` (float weights) and `CLAS_EXPORT_MEASURE_INT8`
/// (quantised checkpoints, comma-separated); `make test` skips it (it needs the trained model and the full test split).
/// Asserted: float32 logits within 1e-4 of onnxruntime's with the same top-1; each int8 model's top-1 within 0.2 point
/// of onnxruntime's and within 1 point of the float model's. Needs Python with onnxruntime (``TestPython``). The
/// folder it prints keeps `modelI.onnx`, `inputs.bin` (NCHW float32), `labels.bin` (int32) and SwiftClas's
/// `swift_logitsI.bin`, which `scripts/openvino_check.py` reads.
final class FashionMNISTMeasurement: XCTestCase {
    func testMeasureOnEvaluationSplit() throws {
        let env = ProcessInfo.processInfo.environment
        guard let config = env["CLAS_EXPORT_MEASURE_CONFIG"], let weights = env["CLAS_EXPORT_MEASURE_WEIGHTS"] else {
            throw XCTSkip("a measurement on the trained Fashion-MNIST model: run it with `make measure`")
        }
        let int8 = (env["CLAS_EXPORT_MEASURE_INT8"] ?? "").split(separator: ",").map(String.init)
        let runtime = try OnnxRuntimeRunner.find()
        let dir = temporaryDirectory()
        let registries = Registries.builtins().withQuantizedCheckpoints()

        var models: [(String, Module)] = []
        let float = try Engine(configPath: config, overrides: ["Global.pretrained_model=\(weights)"], mode: .eval,
                               registries: registries, quiet: true)
        models.append(("float32", float.model))
        for prefix in int8 {
            let e = try Engine(configPath: config, overrides: ["Global.pretrained_model=\(prefix)"], mode: .eval,
                               registries: registries, quiet: true)
            XCTAssertTrue(e.model is QuantizedModel, prefix)
            models.append(((prefix as NSString).lastPathComponent, e.model))
        }
        let (c, h, w) = ExportInput.shape(for: float.config, models: float.registries.arch)
        var onnxPaths: [String] = [], sizes: [Int] = []
        for (i, (_, model)) in models.enumerated() {
            if let m = model as? Reparameterizable { m.reparameterize() }
            model.eval()
            let path = "\(dir)/model\(i).onnx"
            let data = try OnnxExporter.serialize(OnnxExporter.export(model, height: h, width: w, channels: c))
            try data.write(to: URL(fileURLWithPath: path))
            onnxPaths.append(path)
            sizes.append(data.count)
        }

        // Every evaluation image, preprocessed once, through every model in SwiftClas; the inputs saved as NCHW.
        let inputPath = "\(dir)/inputs.bin"
        _ = FileManager.default.createFile(atPath: inputPath, contents: nil)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: inputPath))
        var labels: [Int] = []
        var swiftLogits = [[Float]](repeating: [], count: models.count)
        let cursor = try XCTUnwrap(float.evalData).start(epoch: 0, from: 0)
        while let batch = try cursor.next() {
            labels += batch.targets.labels
            for (i, (_, model)) in models.enumerated() {
                swiftLogits[i] += GradMode.withoutGrad { model(batch.images) }.scalars
            }
            let nchw = GradMode.withoutGrad { batch.images.permuted([0, 3, 1, 2]) }
            file.write(Data(bytes: nchw.data, count: nchw.count * 4))
        }
        try file.close()
        try labels.map(Int32.init).withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: "\(dir)/labels.bin"))
        let classes = swiftLogits[0].count / labels.count
        for (i, logits) in swiftLogits.enumerated() {  // for other runtimes (scripts/openvino_check.py)
            try logits.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: "\(dir)/swift_logits\(i).bin"))
        }

        var lines = ["model | ONNX MB | top-1 SwiftClas | top-1 onnxruntime | max |Δlogit| | top-1 agreement"]
        var floatTop1 = 0.0
        for (i, path) in onnxPaths.enumerated() {
            let out = "\(dir)/logits\(i).bin"
            try runtime.python(["-c", """
                import numpy as np, onnxruntime as ort
                s = ort.InferenceSession('\(path)', providers=['CPUExecutionProvider'])
                x = np.memmap('\(inputPath)', dtype='<f4', mode='r').reshape(-1, \(c), \(h), \(w))
                ys = [s.run(None, {'x': np.ascontiguousarray(x[i:i + 256])})[0] for i in range(0, len(x), 256)]
                np.concatenate(ys).astype('<f4').tofile('\(out)')
                """])
            let ort = try Data(contentsOf: URL(fileURLWithPath: out)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(ort.count, swiftLogits[i].count)
            func argmax(_ v: [Float], _ row: Int) -> Int {
                (0..<classes).max { v[row * classes + $0] < v[row * classes + $1] } ?? 0
            }
            var correctSwift = 0, correctOrt = 0, agree = 0
            for (row, label) in labels.enumerated() {
                let a = argmax(swiftLogits[i], row), b = argmax(ort, row)
                if a == label { correctSwift += 1 }
                if b == label { correctOrt += 1 }
                if a == b { agree += 1 }
            }
            let n = Double(labels.count)
            let (top1Swift, top1Ort) = (Double(correctSwift) / n, Double(correctOrt) / n)
            if i == 0 {
                floatTop1 = top1Swift
                XCTAssertLessThanOrEqual(maxAbsDifference(ort, swiftLogits[i]), 1e-4, "float32: SwiftClas vs onnxruntime")
                XCTAssertEqual(correctSwift, correctOrt, "float32: the same top-1")
            } else {
                XCTAssertEqual(top1Swift, top1Ort, accuracy: 0.002, "\(models[i].0): simulated int8 vs onnxruntime")
                XCTAssertGreaterThanOrEqual(top1Swift, floatTop1 - 0.01, "\(models[i].0): int8 within 1 point of float")
            }
            lines.append(String(format: "%@ | %.2f | %.4f | %.4f | %.2e | %.4f", models[i].0, Double(sizes[i]) / 1e6,
                                Double(correctSwift) / n, Double(correctOrt) / n,
                                Double(maxAbsDifference(ort, swiftLogits[i])), Double(agree) / n))
        }
        print("Fashion-MNIST evaluation split (\(labels.count) images; inputs, labels and ONNX files in \(dir)):\n"
              + lines.joined(separator: "\n"))
    }
}
