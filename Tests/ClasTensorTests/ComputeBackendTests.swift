import ClasKernels
import ClasTensor
import Foundation
import XCTest

/// The BLAS kernel follows the CPU's features, and every backend computes the same products.
final class ComputeBackendTests: XCTestCase {
    private func bits(_ flags: [Int32]) -> UInt32 { flags.reduce(0) { $0 | UInt32($1) } }
    private var avx512: [Int32] {
        [Int32(CLAS_CPU_AVX512F), Int32(CLAS_CPU_AVX512BW), Int32(CLAS_CPU_AVX512VL), Int32(CLAS_CPU_AVX512DQ)]
    }
    private var avx2: [Int32] { [Int32(CLAS_CPU_SSE3), Int32(CLAS_CPU_AVX), Int32(CLAS_CPU_AVX2), Int32(CLAS_CPU_FMA)] }

    func testCoreTypeFollowsFeatureBitsNotModelNames() {
        // The Sapphire-Rapids-class VM that reports only "Intel(R) Xeon(R) Processor" (issue 14's machine).
        let intelVM = bits(avx2 + avx512 + [Int32(CLAS_CPU_AVX512VNNI), Int32(CLAS_CPU_AVX512BF16),
                                            Int32(CLAS_CPU_AVX512FP16), Int32(CLAS_CPU_AVXVNNI)])
        XCTAssertEqual(ComputeBackend.openBLASCore(forFeatures: intelVM), "COOPERLAKE")
        // Zen 4: the same AVX-512 set from another vendor.
        XCTAssertEqual(ComputeBackend.openBLASCore(forFeatures: intelVM | UInt32(CLAS_CPU_VENDOR_AMD)), "COOPERLAKE")
        // Skylake-X / Ice Lake: AVX-512 without bf16.
        XCTAssertEqual(ComputeBackend.openBLASCore(forFeatures: bits(avx2 + avx512)), "SKYLAKEX")
        // AVX-512F alone (Knights Landing style, no BW/VL/DQ) is not enough for SkylakeX's kernel.
        XCTAssertEqual(ComputeBackend.openBLASCore(forFeatures: bits(avx2 + [Int32(CLAS_CPU_AVX512F)])), "HASWELL")
        // AVX2 + FMA: Haswell's kernel; AMD's Zen tuning of it on AMD.
        XCTAssertEqual(ComputeBackend.openBLASCore(forFeatures: bits(avx2)), "HASWELL")
        XCTAssertEqual(ComputeBackend.openBLASCore(forFeatures: bits(avx2 + [Int32(CLAS_CPU_VENDOR_AMD)])), "ZEN")
        // AVX2 without FMA is not Haswell.
        XCTAssertEqual(ComputeBackend.openBLASCore(forFeatures: bits([Int32(CLAS_CPU_AVX), Int32(CLAS_CPU_AVX2)])),
                       "SANDYBRIDGE")
        XCTAssertEqual(ComputeBackend.openBLASCore(forFeatures: bits([Int32(CLAS_CPU_SSE3), Int32(CLAS_CPU_AVX)])),
                       "SANDYBRIDGE")
        XCTAssertNil(ComputeBackend.openBLASCore(forFeatures: bits([Int32(CLAS_CPU_SSE3)])))
        XCTAssertNil(ComputeBackend.openBLASCore(forFeatures: 0))
    }

    func testGenericKernelNames() {
        for name in ["Prescott", "PRESCOTT", "Core2", "Nehalem", "reference", ""] {
            XCTAssertTrue(clas_blas_kernel_is_generic(name), name)
        }
        for name in ["Cooperlake", "SkylakeX", "Haswell", "Zen", "Sandybridge", "zen3", "skx"] {
            XCTAssertFalse(clas_blas_kernel_is_generic(name), name)
        }
    }

    /// The features read through CPUID agree with the kernel's own /proc/cpuinfo flags.
    func testFeaturesMatchProcCpuinfo() throws {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no /proc/cpuinfo flags on this system")
        }
        let flags = Set(line.split(separator: " ").map(String.init))
        let ours = Set(ComputeBackend.cpuFeatures)
        for (flag, name) in [("avx", "AVX"), ("avx2", "AVX2"), ("fma", "FMA"), ("avx512f", "AVX512F"),
                             ("avx512bw", "AVX512BW"), ("avx512vl", "AVX512VL"), ("avx512dq", "AVX512DQ"),
                             ("avx512_vnni", "AVX512_VNNI"), ("avx512_bf16", "AVX512_BF16")] {
            XCTAssertEqual(flags.contains(flag), ours.contains(name), "\(flag) in /proc/cpuinfo vs CPUID")
        }
    }

    /// With nothing set in the environment, a CPU with AVX2 never runs a generic kernel, and OpenBLAS runs the
    /// core chosen from the features.
    func testDefaultBackendUsesTheMachine() throws {
        let env = ProcessInfo.processInfo.environment
        let blas = ComputeBackend.blas
        XCTAssertFalse(blas.library.isEmpty)
        if env["CLAS_BLAS"] != nil { throw XCTSkip("CLAS_BLAS is set: the user's choice is in force") }
        guard ComputeBackend.cpuFeatures.contains("AVX2") else { throw XCTSkip("no AVX2 on this CPU") }
        XCTAssertFalse(blas.isGeneric, "kernel \(blas.kernel)")
        guard blas.library == "OpenBLAS" else { return }
        let asked = env["OPENBLAS_CORETYPE"] ?? ComputeBackend.openBLASCore(forFeatures: clas_cpu_features())
        XCTAssertEqual(blas.kernel.lowercased(), asked?.lowercased(), blas.requested)
    }

    /// The threaded GEMM on the loaded backend equals the portable reference within 1e-5 (relative to the largest
    /// entry), for every transposition, odd sizes, strided operands, alpha and beta, and the small-M path.
    func testBackendMatchesReferenceGEMM() {
        var rng = RandomState(seed: 11)
        for (m, n, k) in [(67, 129, 300), (5, 517, 96), (1, 1000, 1280), (256, 64, 27), (33, 7, 1), (300, 300, 300)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(-1.5))] {
                        let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2
                        let a = Tensor.randomNormal([(ta ? k : m) * lda], using: &rng)
                        let b = Tensor.randomNormal([(tb ? n : k) * ldb], using: &rng)
                        let c0 = Tensor.randomNormal([m * ldc], using: &rng)
                        let c = c0.detachedCopy(), r = c0.detachedCopy(), initial = c0.scalars
                        clas_sgemm(ta, tb, Int64(m), Int64(n), Int64(k), alpha, a.data, Int64(lda), b.data, Int64(ldb),
                                   beta, c.data, Int64(ldc))
                        clas_reference_sgemm(ta, tb, Int64(m), Int64(n), Int64(k), alpha, a.data, Int64(lda), b.data,
                                             Int64(ldb), beta, r.data, Int64(ldc))
                        assertMatches(c.scalars, r.scalars, initial: initial, m: m, n: n, ldc: ldc,
                                      "\(m)×\(n)×\(k) ta \(ta) tb \(tb) α \(alpha) β \(beta)")
                    }
                }
            }
        }
    }

    /// The row-panel GEMM of the fused MLP (its own AVX-512 kernel where supported) equals the reference within 1e-5
    /// (relative to the largest entry): every panel width (8…48 columns, several panels), row tails, strided operands,
    /// with and without accumulation; padding past n is never written.
    func testRowGEMMMatchesReference() {
        var rng = RandomState(seed: 12)
        for (m, n, k) in [(37, 40, 160), (19, 160, 40), (8, 8, 3), (9, 24, 17), (16, 80, 33), (11, 112, 5), (3, 200, 64)] {
            for accumulate in [false, true] {
                let lda = k + 3, ldb = n + 5, ldc = n + 2
                let a = Tensor.randomNormal([m * lda], using: &rng), b = Tensor.randomNormal([k * ldb], using: &rng)
                let c0 = Tensor.randomNormal([m * ldc], using: &rng)
                let c = c0.detachedCopy(), r = c0.detachedCopy(), initial = c0.scalars
                clas_gemm_rows(Int64(m), Int64(n), Int64(k), a.data, Int64(lda), b.data, Int64(ldb), c.data, Int64(ldc),
                               accumulate)
                clas_reference_sgemm(false, false, Int64(m), Int64(n), Int64(k), 1, a.data, Int64(lda), b.data,
                                     Int64(ldb), accumulate ? 1 : 0, r.data, Int64(ldc))
                assertMatches(c.scalars, r.scalars, initial: initial, m: m, n: n, ldc: ldc,
                              "\(m)×\(n)×\(k) accumulate \(accumulate)")
            }
        }
        XCTAssertFalse(clas_gemm_rows_supported(false, 20, 8), "n must be a multiple of 8")
    }

    /// An m × n result (row stride ldc) within 1e-5 of the reference's largest entry, and the padding column past n
    /// still holding its initial value (never written).
    private func assertMatches(_ got: [Float], _ want: [Float], initial: [Float], m: Int, n: Int, ldc: Int,
                               _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        var scale: Float = 0, err: Float = 0
        for row in 0..<m {
            for col in 0..<n {
                scale = max(scale, abs(want[row * ldc + col]))
                err = max(err, abs(got[row * ldc + col] - want[row * ldc + col]))
            }
            XCTAssertEqual(got[row * ldc + n], initial[row * ldc + n], "padding, \(message)", file: file, line: line)
        }
        XCTAssertLessThanOrEqual(err, 1e-5 * scale, message, file: file, line: line)
    }
}
