import Foundation
import XCTest

/// `tools env` through the real binary: the BLAS chosen under each CLAS_BLAS setting, and identical products.
final class ComputeBackendCommandTests: XCTestCase {
    private struct Env: Decodable {
        let blas_library: String
        let blas_kernel: String
        let generic_kernel: Bool
        let threads: Int
        let gemm_probe: [Double]
    }

    private func env(_ settings: String) throws -> Env {
        let r = try ToolsProcess.run(["env", "--json", "--no-measure"], shellPrefix: settings)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONDecoder().decode(Env.self, from: Data(r.stdout.utf8))
    }

    private func libraryExists(_ names: [String]) -> Bool {
        names.contains { dlopen($0, RTLD_LAZY) != nil }
    }

    func testEveryBackendComputesTheSameProducts() throws {
        let base = try env("unset CLAS_BLAS OPENBLAS_CORETYPE")
        XCTAssertEqual(base.gemm_probe.count, 20)
        var runs: [(String, Env)] = [("reference", try env("export CLAS_BLAS=reference"))]
        XCTAssertEqual(runs[0].1.blas_kernel, "reference")
        XCTAssertTrue(runs[0].1.generic_kernel)
        if libraryExists(["libopenblas.so.0"]) {
            XCTAssertEqual(base.blas_library, "OpenBLAS")
            // Cores every x86-64 CPU with AVX can run; the chosen kernel is the one asked for.
            let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            var cores = ["SANDYBRIDGE": "Sandybridge"]
            if cpu.contains(" avx2") && cpu.contains(" fma") { cores["HASWELL"] = "Haswell" }
            if cpu.contains(" avx512bw") && cpu.contains(" avx512vl") { cores["SKYLAKEX"] = "SkylakeX" }
            for (core, kernel) in cores {
                let e = try env("unset OPENBLAS_CORETYPE; export CLAS_BLAS=openblas:\(core)")
                XCTAssertEqual(e.blas_kernel, kernel)
                runs.append((core, e))
            }
            // OPENBLAS_CORETYPE given by the user is honoured.
            XCTAssertEqual(try env("unset CLAS_BLAS; export OPENBLAS_CORETYPE=SANDYBRIDGE").blas_kernel, "Sandybridge")
        }
        if libraryExists(["libblis.so.4"]) {
            let e = try env("export CLAS_BLAS=blis")
            XCTAssertEqual(e.blas_library, "BLIS")
            runs.append(("blis", e))
        }
        let scale = base.gemm_probe.map(abs).max() ?? 1
        XCTAssertGreaterThan(scale, 1)
        for (name, e) in runs {
            let err = zip(e.gemm_probe, base.gemm_probe).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(err, 1e-5 * scale, "\(name) vs default")
        }
    }

    func testThreadsFollowClasNumThreads() throws {
        XCTAssertEqual(try env("export CLAS_NUM_THREADS=1").threads, 1)
        XCTAssertEqual(try env("export CLAS_NUM_THREADS=2").threads, 2)
    }

    func testTextReportNamesTheKernel() throws {
        let r = try ToolsProcess.run(["env", "--no-measure"], shellPrefix: "export CLAS_BLAS=reference")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("kernel:   reference"), r.stdout)
        XCTAssertTrue(r.stdout.contains("warning:  the BLAS runs the generic reference kernel"), r.stdout)
        XCTAssertTrue(r.stdout.contains("features: "), r.stdout)
    }
}
