// Mixed-precision GEMM for AMP training: C = alpha·op(A)·op(B) + beta·C with A and B rounded to bfloat16 (round to
// nearest even) and products summed in float32, on AVX512_BF16's VDPBF16PS (Zen 4, Cooper Lake, Sapphire Rapids),
// which does twice the multiply-adds of a float32 FMA per instruction.
//
// The classic blocked layout: a block of up to 1024 values of k at a time, B's block packed into panels of NR columns
// and A's rows into panels of MR rows, both as bf16 *pairs* along k (VDPBF16PS multiplies and sums two adjacent k per
// lane). The micro-kernel keeps an MR × NR tile of C in 24 registers, broadcasting one pair of A per row against
// NR/16 vectors of B. Single-threaded, like clas_blas_sgemm, which calls it while AMP is on; callers split work
// over the pool as they do for the BLAS.
#include "internal.h"
#include <stdatomic.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Two register tiles of 24 accumulators: 8 rows × 48 columns, or 12 × 32 where N is a multiple of 32 but not of 48
// (attention's 64-wide heads), whichever leaves fewer idle columns.
#define BF_MC 96        // rows of A per packed block (a multiple of both tiles' rows)
#define BF_KC_MAX 1024  // up to this depth k is one block (no second pass over C); deeper, blocks of BF_KC
#define BF_KC 512

static atomic_bool g_bf16_on;

bool clas_bf16_gemm_supported(void) {
    const uint32_t need = CLAS_CPU_AVX512F | CLAS_CPU_AVX512BW | CLAS_CPU_AVX512VL | CLAS_CPU_AVX512BF16;
    return (clas_cpu_features() & need) == need;
}

bool clas_set_bf16_gemm(bool on) {
    const bool ok = !on || clas_bf16_gemm_supported();
    atomic_store(&g_bf16_on, on && ok);
    return ok;
}

bool clas_bf16_gemm_enabled(void) { return atomic_load_explicit(&g_bf16_on, memory_order_relaxed); }

/// Per-thread packing buffers (not clas_scratch: callers such as the fused MLP hold that while they multiply).
static uint32_t *pack_buffer(size_t words) {
    static _Thread_local uint32_t *buf;
    static _Thread_local size_t cap;
    if (words > cap) {
        free(buf);
        cap = words + words / 4;
        buf = aligned_alloc(64, (cap * 4 + 63) / 64 * 64);
    }
    return buf;
}

#if defined(__x86_64__)
#define BF_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/// Two rows of 16 floats, (x0[i], x1[i]) → one bf16 pair per lane.
BF_TARGET static inline __m512i pair_rows(__m512 x0, __m512 x1) {
    const __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x0));
    const __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x1));
    return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

/// Packs `lines` (≤ width) lines of a panel whose values run along k in memory (line i starts at src + i·ld):
/// dst[p·width + i] = (x[2p], x[2p+1]) of line i; missing lines and the odd tail are zero.
BF_TARGET static void pack_along_k(const float *src, int64_t ld, int64_t lines, int64_t width, int64_t kc,
                                   uint32_t *dst) {
    const int64_t pairs = (kc + 1) / 2;
    for (int64_t i = 0; i < width; i++) {
        if (i >= lines) {
            for (int64_t p = 0; p < pairs; p++) dst[p * width + i] = 0;
            continue;
        }
        const float *x = src + i * ld;
        int64_t k = 0;
        uint32_t t[16];
        for (; k + 32 <= kc; k += 32) {
            _mm512_storeu_si512(t, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(x + k)));
            for (int l = 0; l < 16; l++) dst[(k / 2 + l) * width + i] = t[l];
        }
        for (; k < kc; k += 2)
            dst[(k / 2) * width + i] = clas_bf16_bits(x[k]) | (k + 1 < kc ? clas_bf16_bits(x[k + 1]) << 16 : 0);
    }
}

/// Packs a panel whose lines are contiguous (line i at src + i, value k at src + k·ld): 16 lines per vector.
BF_TARGET static void pack_across_k(const float *src, int64_t ld, int64_t lines, int64_t width, int64_t kc,
                                    uint32_t *dst) {
    for (int64_t v = 0; v < width; v += 16) {
        const int64_t n = CLAS_MAX(0, CLAS_MIN(16, lines - v)), w = CLAS_MIN(16, width - v);
        const __mmask16 load = (__mmask16)((1u << n) - 1), store = (__mmask16)((1u << w) - 1);
        for (int64_t k = 0; k < kc; k += 2) {
            const float *x = src + k * ld + v;
            const __m512 x0 = _mm512_maskz_loadu_ps(load, x);
            const __m512 x1 = k + 1 < kc ? _mm512_maskz_loadu_ps(load, x + ld) : _mm512_setzero_ps();
            _mm512_mask_storeu_epi32(dst + (k / 2) * width + v, store, pair_rows(x0, x1));
        }
    }
}

/// C tile (rows × cols of an MR × 16·NV tile) = alpha·A·B + (first ? beta·C : C).
#define BF_MICRO_KERNEL(MR, NV)                                                                                     \
    BF_TARGET static void micro_kernel_##MR##x##NV(int64_t pairs, const uint32_t *a, const uint32_t *b, float *c,  \
                                                   int64_t ldc, int rows, int cols, float alpha, float beta,        \
                                                   bool first) {                                                    \
        __m512 acc[MR][NV];                                                                                         \
        for (int r = 0; r < MR; r++)                                                                                \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();                                           \
        for (int64_t p = 0; p < pairs; p++) {                                                                       \
            __m512bh bv[NV];                                                                                        \
            for (int v = 0; v < NV; v++) bv[v] = (__m512bh)_mm512_loadu_si512(b + p * 16 * NV + 16 * v);           \
            _Pragma("clang loop unroll(full)") /* else 12 × 32 keeps its accumulators on the stack */              \
            for (int r = 0; r < MR; r++) {                                                                          \
                const __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[p * MR + r]);                                \
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);                    \
            }                                                                                                       \
        }                                                                                                           \
        const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);                                         \
        for (int v = 0; v < NV && 16 * v < cols; v++) {                                                             \
            const __mmask16 m = (__mmask16)((1u << CLAS_MIN(16, cols - 16 * v)) - 1);                              \
            for (int r = 0; r < rows; r++) {                                                                        \
                float *y = c + r * ldc + 16 * v;                                                                    \
                __m512 x = _mm512_mul_ps(acc[r][v], va);                                                            \
                if (!first) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, y));                                      \
                else if (beta != 0) x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, y), x);                        \
                _mm512_mask_storeu_ps(y, m, x);                                                                     \
            }                                                                                                       \
        }                                                                                                           \
    }
BF_MICRO_KERNEL(8, 3)
BF_MICRO_KERNEL(12, 2)

BF_TARGET void clas_bf16_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j];
        return;
    }
    const bool wide = (N + 47) / 48 * 48 <= (N + 31) / 32 * 32;  // the 8 × 48 tile, else 12 × 32
    const int64_t mr = wide ? 8 : 12, nr = wide ? 48 : 32;
    const int64_t kc_max = K <= BF_KC_MAX ? K : BF_KC, panels = (N + nr - 1) / nr;
    const int64_t max_pairs = (kc_max + 1) / 2, bwords = panels * max_pairs * nr;
    uint32_t *bp = pack_buffer((size_t)(bwords + BF_MC * max_pairs)), *ap = bp + bwords;
    for (int64_t k0 = 0; k0 < K; k0 += kc_max) {
        const int64_t kc = CLAS_MIN(kc_max, K - k0), pairs = (kc + 1) / 2;
        // B's block: element (k, n) is B[n·ldb + k] when transposed, else B[k·ldb + n]
        for (int64_t j = 0; j < panels; j++) {
            const int64_t n0 = j * nr, cols = CLAS_MIN(nr, N - n0);
            uint32_t *dst = bp + j * pairs * nr;
            if (tb) pack_along_k(B + n0 * ldb + k0, ldb, cols, nr, kc, dst);
            else pack_across_k(B + k0 * ldb + n0, ldb, cols, nr, kc, dst);
        }
        for (int64_t m0 = 0; m0 < M; m0 += BF_MC) {
            const int64_t mc = CLAS_MIN(BF_MC, M - m0);
            for (int64_t i = 0; i < mc; i += mr) {  // A's rows: element (m, k) is A[k·lda + m] when transposed
                const int64_t rows = CLAS_MIN(mr, mc - i);
                uint32_t *dst = ap + i * pairs;
                if (ta) pack_across_k(A + k0 * lda + m0 + i, lda, rows, mr, kc, dst);
                else pack_along_k(A + (m0 + i) * lda + k0, lda, rows, mr, kc, dst);
            }
            for (int64_t j = 0; j < panels; j++) {
                const int64_t n0 = j * nr;
                for (int64_t i = 0; i < mc; i += mr) {
                    const int rows = (int)CLAS_MIN(mr, mc - i), cols = (int)CLAS_MIN(nr, N - n0);
                    float *c = C + (m0 + i) * ldc + n0;
                    if (wide) micro_kernel_8x3(pairs, ap + i * pairs, bp + j * pairs * nr, c, ldc, rows, cols, alpha, beta, k0 == 0);
                    else micro_kernel_12x2(pairs, ap + i * pairs, bp + j * pairs * nr, c, ldc, rows, cols, alpha, beta, k0 == 0);
                }
            }
        }
    }
}
#else
void clas_bf16_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    clas_reference_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif
