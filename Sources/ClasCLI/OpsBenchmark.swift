import ClasKernels
import ClasTensor
import Foundation

/// Kernel throughput at MobileNet-like shapes (GFLOP/s, 1 MAC = 2 FLOP), with sgemm's for reference.
enum OpsBenchmark {
    /// The row's name padded to one column (String(format:)'s `%-44@` does not pad on Linux).
    private static func label(_ name: String) -> String {
        name.count >= 44 ? name + " " : name + String(repeating: " ", count: 44 - name.count) + " "
    }

    static func run(reps: Int) {
        var rng = RandomState(seed: 3)
        func median(_ body: () -> Void) -> Double {
            body()
            var t: [Double] = []
            for _ in 0..<max(reps, 3) {
                let s = Clock.now()
                body()
                t.append(Clock.now() - s)
            }
            return t.sorted()[t.count / 2]
        }
        print("CPU: \(ComputeBackend.cpuModel)")
        if let warning = ComputeBackend.genericKernelWarning { print("warning: \(warning)") }
        // sgemm reference
        let n = 2048
        let a = Tensor.randomNormal([n, n], using: &rng), b = Tensor.randomNormal([n, n], using: &rng)
        let c = Tensor(uninitializedShape: [n, n])
        let tg = median {
            clas_sgemm(false, false, Int64(n), Int64(n), Int64(n), 1, a.data, Int64(n), b.data, Int64(n), 0, c.data, Int64(n))
        }
        print(label("sgemm 2048³") + String(format: "%8.1f GFLOP/s", 2 * pow(Double(n), 3) / tg / 1e9))

        // AMP's bf16 GEMM against float32 at transformer shapes: both register tiles (8 × 48 for N = 768, 192;
        // 12 × 32 for N = 64, 160, 197) and a power-of-two width
        if MixedPrecision.isSupported {
            let shapes: [(String, Int, Int, Int)] = [("DeiT fc1 6304×768×192", 6304, 768, 192),
                                                     ("DeiT fc2 6304×192×768", 6304, 192, 768),
                                                     ("attention P·V 197×64×197 (×96)", 197, 64, 197),
                                                     ("ConvNeXt fc2 25088×160×640", 25088, 160, 640),
                                                     ("square 1024³", 1024, 1024, 1024)]
            for (name, m, n, k) in shapes {
                let a = Tensor.randomNormal([m, k], using: &rng), b = Tensor.randomNormal([k, n], using: &rng)
                let c = Tensor(uninitializedShape: [m, n])
                let batch = m == 197 ? 96 : 1
                func product() {
                    for _ in 0..<batch {
                        clas_sgemm(false, false, Int64(m), Int64(n), Int64(k), 1, a.data, Int64(k), b.data, Int64(n), 0,
                                   c.data, Int64(n))
                    }
                }
                let flops = 2 * Double(m * n * k * batch)
                let t32 = median(product), t16 = MixedPrecision.run(enabled: true) { median(product) }
                print(label("gemm " + name) + String(format: "fp32 %7.1f GFLOP/s  bf16 %7.1f GFLOP/s",
                             flops / t32 / 1e9, flops / t16 / 1e9))
            }
        }

        struct ConvCase { let name: String, input: [Int], cout: Int, k: Int, stride: Int, groups: Int }
        let cases = [
            ConvCase(name: "conv1x1 56²·16→72 (b32)", input: [32, 56, 56, 16], cout: 72, k: 1, stride: 1, groups: 1),
            ConvCase(name: "conv1x1 28²·40→240 (b32)", input: [32, 28, 28, 40], cout: 240, k: 1, stride: 1, groups: 1),
            ConvCase(name: "conv1x1 14²·96→576 (b32)", input: [32, 14, 14, 96], cout: 576, k: 1, stride: 1, groups: 1),
            ConvCase(name: "conv3x3 stem 224²·3→16 s2 (b32)", input: [32, 224, 224, 3], cout: 16, k: 3, stride: 2, groups: 1),
            ConvCase(name: "conv3x3 56²·64→64 (b32)", input: [32, 56, 56, 64], cout: 64, k: 3, stride: 1, groups: 1),
            ConvCase(name: "dw3x3 56²·72 (b32)", input: [32, 56, 56, 72], cout: 72, k: 3, stride: 1, groups: 72),
            ConvCase(name: "dw3x3 112²·32 s2 (b32)", input: [32, 112, 112, 32], cout: 32, k: 3, stride: 2, groups: 32),
            ConvCase(name: "dw5x5 28²·240 (b32)", input: [32, 28, 28, 240], cout: 240, k: 5, stride: 1, groups: 240),
            ConvCase(name: "dw5x5 14²·576 (b32)", input: [32, 14, 14, 576], cout: 576, k: 5, stride: 1, groups: 576),
        ]
        for cs in cases {
            let x = Tensor.randomNormal(cs.input, using: &rng)
            let w = Tensor.randomNormal([cs.cout, cs.k, cs.k, cs.input[3] / cs.groups], std: 0.1, using: &rng)
            let pad = Padding2D((cs.k - 1) / 2)
            var y = Tensor.conv2d(x, weight: w, stride: (cs.stride, cs.stride), padding: pad, groups: cs.groups)
            let macs = Double(y.count) * Double(cs.k * cs.k * cs.input[3] / cs.groups)
            let tf = median {
                y = Tensor.conv2d(x, weight: w, stride: (cs.stride, cs.stride), padding: pad, groups: cs.groups)
            }
            x.requiresGrad = true
            w.requiresGrad = true
            let seed = Tensor.randomNormal(y.shape, using: &rng)
            let tb = median {
                let out = Tensor.conv2d(x, weight: w, stride: (cs.stride, cs.stride), padding: pad, groups: cs.groups)
                x.grad = nil
                w.grad = nil
                out.backward(seed)
            } - tf
            print(label(cs.name) + String(format: "fwd %7.1f GFLOP/s  bwd %7.1f GFLOP/s",
                         2 * macs / tf / 1e9, 4 * macs / max(tb, 1e-9) / 1e9))
        }
        InferenceKernelBenchmark.run(median: median, label: label)
    }
}
