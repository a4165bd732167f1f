import ClasExport
import ClasNN
import ClasTensor

extension BenchmarkCommand {
    /// `--int8`: the model quantised as `tools quantize` does it (min/max ranges from `calibration`), exported as QDQ
    /// ONNX (written to `--save-onnx` when given) and run by SwiftClas's ONNX interpreter, whose quantised layers use
    /// the integer kernels where the CPU has VNNI (``OnnxInterpreter/integerLayerCount``).
    func int8Forward(_ net: Module, calibration x: Tensor, _ output: (String) -> Void) throws -> (Tensor) -> Tensor {
        let quantized = try QuantizedModel(net, height: size, width: size)
        try quantized.calibrate(method: .minmax) { body in try body(x) }
        quantized.eval()
        let onnx = try OnnxExporter.export(quantized, height: size, width: size)
        if let saveOnnx { try OnnxExporter.write(onnx, to: saveOnnx) }
        let interpreter = try OnnxInterpreter(try OnnxProgram(model: onnx))
        let layers = interpreter.program.nodes.filter { $0.op == "Conv" || $0.op == "Gemm" }.count
        output("int8: \(interpreter.integerLayerCount) of \(layers) convolution/linear layers on integer kernels "
               + "(\(OnnxInterpreter.integerKernelISA))")
        return { x in
            do { return try interpreter.run(nhwc: x) } catch { fatalError("int8 benchmark: \(error)") }
        }
    }
}
