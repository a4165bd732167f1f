import ClasKernels
import Foundation

/// What the engine computes with: the CPU's vector features, the BLAS library and kernel chosen from them at run
/// time (see `blas.c`), and the thread count. `tools env` prints it; every run log starts with ``summary``.
public enum ComputeBackend {
    /// The BLAS in use (loaded on first access).
    public struct BLAS: Equatable, Sendable {
        /// "OpenBLAS", "BLIS" or "reference" (SwiftClas's portable GEMM).
        public var library: String
        /// The shared library file.
        public var path: String
        /// The library's build configuration string (OpenBLAS: version, DYNAMIC_ARCH, kernel).
        public var version: String
        /// The kernel in use as the library names it ("Cooperlake", "SkylakeX", "Haswell", "zen3" ...).
        public var kernel: String
        /// The core type asked for and why, e.g. "COOPERLAKE (from CPU features)"; empty when nothing was asked.
        public var requested: String
        /// A generic pre-AVX kernel, several times below the machine's speed.
        public var isGeneric: Bool
    }

    /// The BLAS in use.
    public static var blas: BLAS {
        let info = clas_blas()!.pointee
        return BLAS(library: String(cString: info.library), path: String(cString: info.path),
                    version: String(cString: info.version), kernel: String(cString: info.kernel),
                    requested: String(cString: info.requested), isGeneric: info.generic)
    }

    /// The vector features of this CPU that matter to the kernels, by name (e.g. ["AVX2", "FMA", "AVX512F", …]).
    public static var cpuFeatures: [String] { featureNames(clas_cpu_features()) }

    /// Names of the features in a `CLAS_CPU_*` bit set, in a fixed order.
    public static func featureNames(_ bits: UInt32) -> [String] {
        let names: [(UInt32, String)] = [
            (UInt32(CLAS_CPU_SSE3), "SSE3"), (UInt32(CLAS_CPU_AVX), "AVX"),
            (UInt32(CLAS_CPU_AVX2), "AVX2"), (UInt32(CLAS_CPU_FMA), "FMA"),
            (UInt32(CLAS_CPU_AVX512F), "AVX512F"), (UInt32(CLAS_CPU_AVX512BW), "AVX512BW"),
            (UInt32(CLAS_CPU_AVX512VL), "AVX512VL"), (UInt32(CLAS_CPU_AVX512DQ), "AVX512DQ"),
            (UInt32(CLAS_CPU_AVX512VNNI), "AVX512_VNNI"), (UInt32(CLAS_CPU_AVX512BF16), "AVX512_BF16"),
            (UInt32(CLAS_CPU_AVX512FP16), "AVX512_FP16"), (UInt32(CLAS_CPU_AVXVNNI), "AVX_VNNI"),
        ]
        return names.filter { bits & $0.0 != 0 }.map(\.1)
    }

    /// The OpenBLAS core type chosen for a feature set, or nil for OpenBLAS's own choice.
    public static func openBLASCore(forFeatures bits: UInt32) -> String? {
        clas_blas_core_for_features(bits).map { String(cString: $0) }
    }

    /// The threads the kernels use (`CLAS_NUM_THREADS`, `Global.num_threads`).
    public static var threads: Int { Int(clas_num_threads()) }

    /// The CPU's model name from /proc/cpuinfo ("unknown" elsewhere).
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// One line for the top of a run log: threads, BLAS library, kernel and why.
    public static var summary: String {
        let b = blas
        let why = b.requested.isEmpty ? "" : ", requested \(b.requested)"
        return "Compute: \(clas_num_threads()) threads, \(b.library) kernel \(b.kernel)\(why)"
    }

    /// A plain-words warning when the BLAS runs a generic kernel, else nil.
    public static var genericKernelWarning: String? {
        let b = blas
        guard b.isGeneric else { return nil }
        return "the BLAS runs the generic \(b.kernel) kernel, several times slower than this CPU allows; install "
            + "OpenBLAS (apt-get install libopenblas0-pthread) or set CLAS_BLAS=openblas:HASWELL / :SKYLAKEX"
    }

    /// Times a square sgemm of size n on the engine's threads; returns GFLOP/s (median of `reps`).
    public static func measureSGEMM(n: Int = 2048, reps: Int = 5) -> Double {
        let count = n * n
        let a = UnsafeMutablePointer<Float>.allocate(capacity: count), b = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<count { a[i] = Float(i % 97) * 0.01 - 0.4; b[i] = Float(i % 89) * 0.01 - 0.4 }
        func run() { clas_sgemm(false, false, Int64(n), Int64(n), Int64(n), 1, a, Int64(n), b, Int64(n), 0, c, Int64(n)) }
        run()
        var times: [Double] = []
        for _ in 0..<max(1, reps) {
            let start = DispatchTime.now().uptimeNanoseconds
            run()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * pow(Double(n), 3) / times.sorted()[times.count / 2] / 1e9
    }
}
