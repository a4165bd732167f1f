import ArgumentParser
import ClasKernels
import ClasTensor
import Foundation

/// `tools env` (alias `doctor`): the CPU and its vector features, the BLAS library and kernel chosen from them, the
/// threads, and a measured sgemm rate; warns when a generic kernel is in use.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Show the CPU, the BLAS kernel chosen for it, the threads and a measured sgemm rate.",
        discussion: """
            The engine loads its BLAS at run time and chooses the kernel from the CPU's feature bits (AVX-512, \
            AVX2+FMA ...), not from its model name. CLAS_BLAS=openblas|openblas:CORE|blis|reference or \
            OPENBLAS_CORETYPE override the choice; CLAS_NUM_THREADS sets the threads.

            Examples:
              tools env
              tools env --json --no-measure
              CLAS_BLAS=blis tools env
            """,
        aliases: ["doctor"])

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "Skip the sgemm measurement (a few seconds).")
    var noMeasure = false

    func run() throws {
        let blas = ComputeBackend.blas
        let threads = Int(clas_num_threads())
        let gflops = noMeasure ? nil : ComputeBackend.measureSGEMM()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if json {
            var object: [String: Any] = [
                "version": SwiftClasVersion.string, "cpu": ComputeBackend.cpuModel, "cores": cores,
                "cpu_features": ComputeBackend.cpuFeatures, "blas_library": blas.library, "blas_path": blas.path,
                "blas_version": blas.version, "blas_kernel": blas.kernel, "blas_requested": blas.requested,
                "generic_kernel": blas.isGeneric, "threads": threads, "gemm_probe": Self.gemmProbe(),
            ]
            if let gflops { object["sgemm_gflops"] = (gflops * 10).rounded() / 10 }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("SwiftClas \(SwiftClasVersion.string)")
        print("CPU:      \(ComputeBackend.cpuModel), \(cores) cores")
        print("features: \(ComputeBackend.cpuFeatures.joined(separator: " "))")
        print("BLAS:     \(blas.library) \(blas.path.isEmpty ? "" : "(\(blas.path))")")
        if !blas.version.isEmpty { print("build:    \(blas.version)") }
        print("kernel:   \(blas.kernel)\(blas.requested.isEmpty ? "" : " (requested \(blas.requested))")")
        print("threads:  \(threads) compute threads (CLAS_NUM_THREADS), each GEMM split over them with the BLAS "
              + "single-threaded; data loaders default to \(min(2, threads)) workers")
        if let gflops { print(String(format: "sgemm:    2048³ %.1f GFLOP/s on %d threads", gflops, threads)) }
        if let warning = ComputeBackend.genericKernelWarning { print("warning:  \(warning)") }
    }

    /// Entries of A·B for the four transposition cases on a fixed 67×300×129 problem (tests compare backends by it).
    static func gemmProbe() -> [Double] {
        let m = 67, k = 300, n = 129
        var a = [Float](repeating: 0, count: m * k), b = [Float](repeating: 0, count: k * n)
        for i in 0..<a.count { a[i] = Float(sin(Double(i) * 0.37)) + 0.3 }
        for i in 0..<b.count { b[i] = Float(cos(Double(i) * 0.11)) + 0.2 }
        let at = transpose(a, rows: m, cols: k), bt = transpose(b, rows: k, cols: n)
        var out: [Double] = []
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            var c = [Float](repeating: 0, count: m * n)
            clas_sgemm(ta, tb, Int64(m), Int64(n), Int64(k), 1, ta ? at : a, Int64(ta ? m : k), tb ? bt : b,
                       Int64(tb ? k : n), 0, &c, Int64(n))
            out += [0, 1, n + 7, m * n / 2, m * n - 1].map { Double(c[$0]) }
        }
        return out
    }

    private static func transpose(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        for r in 0..<rows { for c in 0..<cols { y[c * rows + r] = x[r * cols + c] } }
        return y
    }
}
