@testable import ClasExport
import ClasKernels
import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// QDQ models run natively in int8 (``OnnxInterpreter`` with integer kernels): every quantised layer is taken by the
/// integer path, the logits stay as close to the simulated int8 model as onnxruntime's fused int8 kernels do, and the
/// requantising epilogue rounds like onnxruntime's `QLinearConv`.
final class Int8InferenceTests: XCTestCase {
    /// A calibrated QDQ export of `name` at 32 px, its simulated model and the float model.
    private func qdq(_ name: String) throws -> (OnnxProgram, QuantizedModel, Module) {
        let base = try preparedModel(name, inputSize: 32)
        let quantized = try QuantizedModel(base, height: 32, width: 32)
        try quantized.calibrate(method: .minmax) { body in
            for seed in 0..<2 { try body(randn([3, 32, 32, 3], seed: UInt64(60 + seed))) }
        }
        quantized.eval()
        return (try OnnxProgram(model: try OnnxExporter.export(quantized, height: 32, width: 32)), quantized, base)
    }

    /// Every Conv/Gemm of the exported graph runs in integers (dense, depthwise, pointwise, linear), the
    /// float interpretation of the same file equals the simulated model, and the native logits differ from it only by
    /// the rounding of values that fall on the other side of a quantisation step, as onnxruntime's do.
    func testNativeInt8MatchesSimulatedModel() throws {
        // MobileNetV3-small has every kind: a dense stem, depthwise and pointwise convolutions, ReLU after a
        // convolution (fused), hard-swish before a quantisation (fused), and the linear classifier.
        for name in ["MobileNetV3_small_x1_0"] {
            let (program, simulated, base) = try qdq(name)
            let native = try OnnxInterpreter(program, integerKernels: true)
            let float = try OnnxInterpreter(program, integerKernels: false)
            let layers = program.nodes.filter { $0.op == "Conv" || $0.op == "Gemm" }.count
            XCTAssertEqual(native.integerLayerCount, layers, "\(name): every quantised layer runs in int8")
            XCTAssertEqual(float.integerLayerCount, 0)
            let x = randn([2, 32, 32, 3], seed: 70)
            let expected = GradMode.withoutGrad { simulated(x) }.scalars
            let quantizationEffect = maxAbsDifference(expected, GradMode.withoutGrad { base(x) }.scalars)
            let viaFloat = maxAbsDifference(try float.run(nhwc: x).scalars, expected)
            let viaInt8 = maxAbsDifference(try native.run(nhwc: x).scalars, expected)
            print("\(name) int8 max |Δlogit| vs simulated: native \(viaInt8), float QDQ \(viaFloat); "
                  + "simulated vs float model \(quantizationEffect)")
            XCTAssertLessThanOrEqual(viaFloat, 1e-4, name)
            XCTAssertGreaterThan(quantizationEffect, 1e-2, name)
            XCTAssertLessThan(viaInt8, 0.5 * quantizationEffect, name)
        }
    }

    /// Chained integer layers (each quantising its output for the next in its epilogue) compute exactly what the
    /// unchained plan computes (float output, then a separate QuantizeLinear pass): same uint8 values, same logits.
    /// Covers ReLU and hard-swish quantisations (MobileNetV3), residual adds and a float output kept for a shortcut
    /// (ResNet18).
    func testChainedLayersEqualUnchained() throws {
        for name in ["MobileNetV3_small_x1_0", "ResNet18"] {
            let (program, _, _) = try qdq(name)
            let chained = try OnnxInterpreter(program, integerKernels: true, chainIntegerLayers: true)
            let unchained = try OnnxInterpreter(program, integerKernels: true, chainIntegerLayers: false)
            XCTAssertEqual(unchained.chainedLayerCount, 0)
            XCTAssertGreaterThanOrEqual(2 * chained.chainedLayerCount, chained.integerLayerCount, "\(name): most layers chain")
            let x = randn([2, 32, 32, 3], seed: 71)
            let a = try chained.run(nhwc: x).scalars, b = try unchained.run(nhwc: x).scalars
            print("\(name): \(chained.chainedLayerCount) of \(chained.integerLayerCount) int8 layers chained, "
                  + "max |Δlogit| vs unchained \(maxAbsDifference(a, b))")
            XCTAssertEqual(a, b, name)
        }
    }

    /// A batch run image group by image group (each group through the whole integer network on one thread, a last
    /// group smaller than the others) gives bit for bit the logits of the whole batch run layer by layer (every layer
    /// split across the threads, the reference before image groups existed), with one thread or two, and of each
    /// image run alone. Covers chained layers, SE blocks (MobileNetV3) and residual adds (ResNet18).
    func testImageGroupsGiveTheWholeBatchLogits() throws {
        let saved = clas_num_threads()
        defer { clas_set_num_threads(saved) }
        for name in ["MobileNetV3_small_x1_0", "ResNet18"] {
            let (program, _, _) = try qdq(name)
            let native = try OnnxInterpreter(program, integerKernels: true)
            let x = randn([5, 32, 32, 3], seed: 72)
            clas_set_num_threads(2)
            let whole = try native.run(nhwc: x, groupSize: 5).scalars
            XCTAssertEqual(native.groupSize(batch: 5), 3, "\(name): one group per thread")
            XCTAssertEqual(native.groupSize(batch: 1), 1)
            XCTAssertEqual(try native.run(nhwc: x).scalars, whole, "\(name): default grouping, 2 threads")
            for threads: Int32 in [1, 2] {
                clas_set_num_threads(threads)
                for group in [1, 2, 3, 5] {
                    XCTAssertEqual(try native.run(nhwc: x, groupSize: group).scalars, whole,
                                   "\(name): group \(group), \(threads) threads")
                }
            }
            let classes = whole.count / 5
            for i in 0..<5 {
                let image = Tensor(shape: [1, 32, 32, 3], values: Array(x.scalars[(i * 3072)..<((i + 1) * 3072)]))
                XCTAssertEqual(try native.run(nhwc: image).scalars, Array(whole[(i * classes)..<((i + 1) * classes)]),
                               "\(name): image \(i) alone")
            }
        }
    }

    /// The squeeze-excite `Mul` computed inside the `QuantizeLinear` that reads it gives exactly the uint8 values of
    /// a float `Mul` followed by the quantisation (the kernel, on values near rounding ties too), and the same logits
    /// as the unfused plan on MobileNetV3-small, whose SE blocks it covers.
    func testFusedProductEqualsMulThenQuantize() throws {
        let (n, hw, c) = (3, 7, 37)
        let x = randn([n, 1, hw, c], seed: 74), gate = randn([n, 1, 1, c], seed: 75).activated(.sigmoid)
        let (scale, zero): (Float, Int32) = (0.0173, 121)
        for i in stride(from: 0, to: x.count, by: 5) { x.data[i] = (Float(i % 50) - 25.5) * scale }  // ties
        let product = Tensor.binary(.mul, x, gate)
        var expected = [UInt8](repeating: 0, count: x.count), fusedBytes = expected
        clas_q8_quantize(product.data, &expected, Int64(x.count), scale, zero, 0)
        clas_q8_quantize_scaled(x.data, gate.data, &fusedBytes, Int64(n), Int64(hw), Int64(c), scale, zero)
        XCTAssertEqual(fusedBytes, expected)

        let (program, _, _) = try qdq("MobileNetV3_small_x1_0")
        let fused = try OnnxInterpreter(program, integerKernels: true)
        let unfused = try OnnxInterpreter(program, integerKernels: true, fuseProducts: false)
        XCTAssertEqual(unfused.fusedProductCount, 0)
        XCTAssertGreaterThan(fused.fusedProductCount, 0, "the SE blocks' Mul is fused")
        let images = randn([3, 32, 32, 3], seed: 76)
        XCTAssertEqual(try fused.run(nhwc: images).scalars, try unfused.run(nhwc: images).scalars)
    }

    /// Our uint8 output equals onnxruntime's `QLinearConv` (u8 × s8, per-channel weight scales, int32 bias) on dense,
    /// strided, depthwise and pointwise convolutions: same requantisation (scale product, clamp, ties to even). The
    /// chained epilogue (float output quantised with the next layer's scale, what native QDQ models run) stays within
    /// one quantisation step of it.
    func testRequantisationMatchesOnnxRuntimeQLinearConv() throws {
        try TestPython.require(["onnx"])
        let runtime = try OnnxRuntimeRunner.find()
        var rng = SystemRandomNumberGenerator()
        // (n, h, w, cin, cout, k, stride, pad, group)
        let cases = [(2, 9, 8, 5, 7, 3, 1, 1, 1), (1, 10, 10, 16, 16, 3, 2, 1, 16), (2, 6, 6, 8, 12, 1, 1, 0, 1),
                     (1, 7, 9, 24, 20, 5, 2, 2, 1), (2, 5, 19, 24, 24, 3, 1, 1, 24), (1, 9, 21, 40, 40, 5, 2, 2, 40),
                     (1, 11, 19, 3, 16, 3, 2, 1, 1)]  // depthwise sliding rows, a 3-channel stem
        let dir = temporaryDirectory()
        for (n, h, w, cin, cout, k, s, p, group) in cases {
            let x = (0..<(n * h * w * cin)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let depthwise = group > 1
            let taps = k * k, kin = depthwise ? 1 : cin
            // Without VNNI, onnxruntime's pairs of products saturate at ±32767 (``onnxRuntimeSumsU8S8Exactly``):
            // 7-bit weights keep every pair of uint8 × int8 products below it (2 · 255 · 64), so the sums stay exact.
            let range: ClosedRange<Int8> = onnxRuntimeSumsU8S8Exactly ? -127...127 : -64...63
            let wt = (0..<(cout * kin * taps)).map { _ in Int8.random(in: range, using: &rng) }  // OIHW
            let xs = Float.random(in: 0.01...0.05, using: &rng), ys = Float.random(in: 0.05...0.3, using: &rng)
            let xz = Int32.random(in: 0...255, using: &rng), yz = Int32.random(in: 0...255, using: &rng)
            let ws = (0..<cout).map { _ in Float.random(in: 0.001...0.02, using: &rng) }
            let bias = (0..<cout).map { _ in Int32.random(in: -2000...2000, using: &rng) }
            let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
            var g = clas_q8_conv_geom(n: Int64(n), h: Int64(h), w: Int64(w), c: Int64(cin), kh: Int64(k), kw: Int64(k),
                                      sh: Int64(s), sw: Int64(s), pt: Int64(p), pl: Int64(p), dh: 1, dw: 1,
                                      oh: Int64(oh), ow: Int64(ow))
            let requant = ws.map { xs * $0 / ys }
            // The chained epilogue (the next layer's quantisation of the float output) on the same convolution.
            let scale = ws.map { xs * $0 }, floatBias = (0..<cout).map { Float(bias[$0]) * scale[$0] }
            var y = [UInt8](repeating: 0, count: n * oh * ow * cout), chained = y
            func run(_ e: inout clas_q8_epilogue, _ y: inout [UInt8]) {
                if depthwise {
                    var tapMajor = [Int8](repeating: 0, count: taps * cout)
                    for c in 0..<cout { for t in 0..<taps { tapMajor[t * cout + c] = wt[c * taps + t] } }
                    e.rowsum = nil
                    clas_q8_depthwise(x + [UInt8](repeating: 0, count: 16), &g, tapMajor, &e, nil, &y)
                    return
                }
                var ohwi = [Int8](repeating: 0, count: wt.count)
                for o in 0..<cout { for ci in 0..<cin { for t in 0..<taps {
                    ohwi[(o * taps + t) * cin + ci] = wt[(o * cin + ci) * taps + t]
                } } }
                var packed = [Int8](repeating: 0, count: Int(clas_q8_packed_size(Int64(cout), Int64(taps * cin))))
                var rowsum = [Int32](repeating: 0, count: cout)
                clas_q8_pack(ohwi, Int64(cout), Int64(taps * cin), &packed, &rowsum)
                rowsum.withUnsafeBufferPointer { rs in
                    e.rowsum = rs.baseAddress
                    clas_q8_conv(x, &g, packed, Int64(cout), &e, nil, &y)
                }
            }
            requant.withUnsafeBufferPointer { rq in
                bias.withUnsafeBufferPointer { bq in
                    var e = clas_q8_epilogue(a_zero: xz, rowsum: nil, relu: 0, scale: nil, bias: nil, residual: nil,
                                             bias_q: bq.baseAddress, requant: rq.baseAddress, y_zero: yz, q_scale: 0, q_act: 0)
                    run(&e, &y)
                }
            }
            scale.withUnsafeBufferPointer { s in
                floatBias.withUnsafeBufferPointer { b in
                    var e = clas_q8_epilogue(a_zero: xz, rowsum: nil, relu: 0, scale: s.baseAddress, bias: b.baseAddress, residual: nil,
                                             bias_q: nil, requant: nil, y_zero: yz, q_scale: ys, q_act: 0)
                    run(&e, &chained)
                }
            }
            // onnxruntime on the same data, NCHW.
            var nchw = [UInt8](repeating: 0, count: x.count)
            for b in 0..<n { for i in 0..<(h * w) { for c in 0..<cin { nchw[(b * cin + c) * h * w + i] = x[(b * h * w + i) * cin + c] } } }
            try Data(nchw).write(to: URL(fileURLWithPath: "\(dir)/x.bin"))
            try wt.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: "\(dir)/w.bin")) }
            let spec: [String: Any] = [
                "x": [n, cin, h, w], "w": [cout, kin, k, k], "xs": xs, "xz": xz, "ws": ws, "ys": ys, "yz": yz,
                "b": bias, "stride": s, "pad": p, "group": group,
            ]
            try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: "\(dir)/spec.json"))
            try runtime.python(["-c", Int8InferenceTests.qlinearConvScript, dir])
            let ort = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/y.bin")))
            XCTAssertEqual(ort.count, y.count)
            for (name, ours) in [("requantised", y), ("chained", chained)] {
                var worst = 0, differing = 0
                for b in 0..<n { for i in 0..<(oh * ow) { for c in 0..<cout {
                    let d = abs(Int(ort[(b * cout + c) * oh * ow + i]) - Int(ours[(b * oh * ow + i) * cout + c]))
                    worst = max(worst, d)
                    differing += d > 0 ? 1 : 0
                } } }
                print("QLinearConv \(cin)→\(cout) k\(k) s\(s) group \(group), \(name): \(differing) of \(y.count) differ, "
                      + "max \(worst)")
                XCTAssertLessThanOrEqual(worst, 1, "\(name): within one quantisation step")
                // The integer requantisation is onnxruntime's own rule; the chained one rounds the float value.
                XCTAssertLessThanOrEqual(differing * (name == "chained" ? 20 : 100), y.count, "\(name): few values one step apart")
            }
        }
    }

    static let qlinearConvScript = """
        import sys, json, numpy as np, onnxruntime as ort
        from onnx import helper, numpy_helper, TensorProto
        d = sys.argv[1]
        s = json.load(open(d + '/spec.json'))
        x = np.fromfile(d + '/x.bin', np.uint8).reshape(s['x'])
        w = np.fromfile(d + '/w.bin', np.int8).reshape(s['w'])
        c = s['w'][0]
        inits = [numpy_helper.from_array(np.array(s['xs'], np.float32), 'xs'),
                 numpy_helper.from_array(np.array(s['xz'], np.uint8), 'xz'), numpy_helper.from_array(w, 'w'),
                 numpy_helper.from_array(np.array(s['ws'], np.float32), 'ws'),
                 numpy_helper.from_array(np.zeros(c, np.int8), 'wz'),
                 numpy_helper.from_array(np.array(s['ys'], np.float32), 'ys'),
                 numpy_helper.from_array(np.array(s['yz'], np.uint8), 'yz'),
                 numpy_helper.from_array(np.array(s['b'], np.int32), 'b')]
        p, st = s['pad'], s['stride']
        node = helper.make_node('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'b'], ['y'],
                                strides=[st, st], pads=[p, p, p, p], group=s['group'])
        g = helper.make_graph([node], 'g', [helper.make_tensor_value_info('x', TensorProto.UINT8, list(x.shape))],
                              [helper.make_tensor_value_info('y', TensorProto.UINT8, None)], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
        m.ir_version = 8
        sess = ort.InferenceSession(m.SerializeToString(), providers=['CPUExecutionProvider'])
        sess.run(None, {'x': x})[0].tofile(d + '/y.bin')
        """
}
