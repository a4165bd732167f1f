import ClasKernels
import ClasTensor
import Foundation

/// The inference mode's own kernels at the shapes their tuning was measured on (`tools benchmark ops`; one core with
/// `--threads 1`): microseconds per call, median. "cold" rotates 16 output buffers (or weight copies), so the call
/// finds them outside the cache, as a layer inside a network does.
enum InferenceKernelBenchmark {
    static func run(median: (() -> Void) -> Double, label: (String) -> String) {
        var rng = RandomState(seed: 5)
        func report(_ name: String, _ seconds: Double) {
            print(label(name) + String(format: "%8.1f µs", seconds * 1e6))
        }
        // Pointwise convolutions (packed GEMM with a ReLU epilogue) at MobileNetV3-large's batch-1 shapes.
        for (h, cin, cout, rotations) in [(112, 16, 64, 1), (112, 16, 64, 16), (56, 64, 24, 1), (56, 64, 32, 1),
                                          (56, 24, 72, 16)] {
            let x = Tensor.randomNormal([1, h, h, cin], using: &rng)
            let packed = pack(Tensor.randomNormal([cout, cin], std: 0.2, using: &rng), cout: cout, k: cin)
            let outputs = (0..<rotations).map { _ in Tensor(uninitializedShape: [1, h, h, cout]) }
            var g = clas_conv_geom(n: 1, h: Int64(h), w: Int64(h), c: Int64(cin), oh: Int64(h), ow: Int64(h), kh: 1,
                                   kw: 1, sh: 1, sw: 1, pt: 0, pl: 0, dh: 1, dw: 1)
            var call = 0
            let t = median {
                packed.withUnsafeBufferPointer {
                    clas_conv_packed(&g, x.data, $0.baseAddress!, Int64(cout), nil, Int32(CLAS_ACT_RELU),
                                     outputs[call % rotations].data)
                }
                call += 1
            }
            report("infer 1x1 \(h)²·\(cin)→\(cout) relu" + (rotations > 1 ? ", output cold" : ""), t)
        }
        // One row against large weights (batch 1's head: 960 → 1280 + hard-swish), the weights cold.
        let (k, n) = (960, 1280)
        let row = Tensor.randomNormal([1, k], using: &rng)
        let weights = (0..<16).map { _ in pack(Tensor.randomNormal([n, k], std: 0.05, using: &rng), cout: n, k: k) }
        let y = Tensor(uninitializedShape: [1, n])
        var call = 0
        report("infer one row \(k)→\(n) hardswish, weights cold", median {
            weights[call % 16].withUnsafeBufferPointer {
                clas_gemm_packed(1, Int64(n), Int64(k), row.data, Int64(k), $0.baseAddress!, nil,
                                 Int32(CLAS_ACT_HARDSWISH), y.data)
            }
            call += 1
        })
        // The RGB stem: direct 3×3 stride-2 convolution, 224² · 3 → 48 + ReLU (MobileOne-S0).
        let image = Tensor.randomNormal([1, 224, 224, 3], using: &rng)
        let stemWeights = Tensor.randomNormal([48, 27], std: 0.2, using: &rng)
        let stem = [Float](unsafeUninitializedCapacity: Int(clas_conv_direct_packed_size(48, 27))) { p, c in
            clas_conv_direct_pack(stemWeights.data, 48, 27, p.baseAddress!)
            c = p.count
        }
        let bias = [Float](repeating: 0.1, count: 48)
        let stemOut = Tensor(uninitializedShape: [1, 112, 112, 48])
        var sg = clas_conv_geom(n: 1, h: 224, w: 224, c: 3, oh: 112, ow: 112, kh: 3, kw: 3, sh: 2, sw: 2, pt: 1, pl: 1,
                                dh: 1, dw: 1)
        report("infer stem 3x3 s2 224²·3→48 relu", median {
            clas_conv_direct_forward_packed(&sg, image.data, stem, bias, 48, Int32(CLAS_ACT_RELU), stemOut.data)
        })
    }

    /// Weights [cout, k] packed for `clas_gemm_packed`/`clas_conv_packed`, bias 0.1.
    private static func pack(_ w: Tensor, cout: Int, k: Int) -> [Float] {
        let bias = [Float](repeating: 0.1, count: cout)
        return [Float](unsafeUninitializedCapacity: Int(clas_packed_weights_size(Int64(cout), Int64(k)))) { p, c in
            clas_pack_weights(w.data, bias, Int64(cout), Int64(k), p.baseAddress!)
            c = p.count
        }
    }
}
