// C = op(A)·B (+ C) for row-major A [M, K] (or Aᵀ, A [K, M]) and B [K, N] with N a multiple of 8, single-threaded,
// without packing: for each panel of B's columns, a block of C's rows stays in registers while k runs over K (one
// broadcast of A and one row load of B per vector and k), so A streams from L1/L2 and B's panel stays in L1/L2.
// Sums run over k in order, one FMA per term. For the products with a narrow side, where OpenBLAS's packing of both
// operands on every call and its micro-kernel's lanes wasted on narrow N cost most:
// - AVX-512: 8 rows × 48 columns in 24 zmm accumulators, a 40-column panel ending in a ymm half (half a zmm FMA on
//   Zen 4). The fused MLP's products (ConvNeXt's C = 40…320 as K or as N, on a tile of ~1000 rows; with Aᵀ, its
//   weight gradients summed over the tile's rows): 104–111 GFLOP/s of a core's ≈117 where OpenBLAS reaches 85–97.
// - AVX2 + FMA: 6 rows × 16 columns in 12 ymm accumulators, only where it beats OpenBLAS (Zen 2, one core): no
//   Aᵀ (the weight gradients' long K favours the BLAS, 58–72 against 84–97 GFLOP/s), and K ≤ 96 or N ≤ 64.
//   Attention's scores Q·Kᵀ (197 × 208 × 64) 74 → 90 GFLOP/s, P·V (197 × 64 × 197) 78 → 85, ConvNeXt's fc1 at
//   C = 40 67 → 92; DeiT's fc1 (1024 × 768 × 192) would lose, 94 → 81.
#include "internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#define CLAS_GR_TARGET __attribute__((target("avx512f,avx512vl,fma")))

/// C[MR rows, 16·NV + 8·HALF columns] (+)= op(A)[MR, K]·B[K, same columns], op(A) = A or (TA) Aᵀ with A [K, MR]
/// (element (r, k) at A[k·lda + r]); constant arguments once inlined.
static inline __attribute__((always_inline)) CLAS_GR_TARGET void gr_tile(const bool TA, const int MR, const int NV,
                                                                         const int HALF, int64_t K, const float *A,
                                                                         int64_t lda,
                                                                         const float *B, int64_t ldb, float *C,
                                                                         int64_t ldc, bool acc) {
    __m512 c[8][3];
    __m256 h[8];
    for (int r = 0; r < MR; r++) {
        for (int v = 0; v < NV; v++) c[r][v] = acc ? _mm512_loadu_ps(C + r * ldc + 16 * v) : _mm512_setzero_ps();
        if (HALF) h[r] = acc ? _mm256_loadu_ps(C + r * ldc + 16 * NV) : _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < K; k++) {
        __m512 b[3];
        __m256 bh = _mm256_setzero_ps();
        for (int v = 0; v < NV; v++) b[v] = _mm512_loadu_ps(B + k * ldb + 16 * v);
        if (HALF) bh = _mm256_loadu_ps(B + k * ldb + 16 * NV);
        for (int r = 0; r < MR; r++) {
            const __m512 a = _mm512_set1_ps(TA ? A[k * lda + r] : A[r * lda + k]);
            for (int v = 0; v < NV; v++) c[r][v] = _mm512_fmadd_ps(a, b[v], c[r][v]);
            if (HALF) h[r] = _mm256_fmadd_ps(_mm512_castps512_ps256(a), bh, h[r]);
        }
    }
    for (int r = 0; r < MR; r++) {
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(C + r * ldc + 16 * v, c[r][v]);
        if (HALF) _mm256_storeu_ps(C + r * ldc + 16 * NV, h[r]);
    }
}

/// One column panel over all rows: blocks of 8 rows, then single rows.
static inline __attribute__((always_inline)) CLAS_GR_TARGET void gr_panel(const bool TA, const int NV, const int HALF,
                                                                          int64_t M, int64_t K, const float *A,
                                                                          int64_t lda, const float *B, int64_t ldb,
                                                                          float *C, int64_t ldc, bool acc) {
    int64_t m = 0;
    for (; m + 8 <= M; m += 8) gr_tile(TA, 8, NV, HALF, K, A + (TA ? m : m * lda), lda, B, ldb, C + m * ldc, ldc, acc);
    for (; m < M; m++) gr_tile(TA, 1, NV, HALF, K, A + (TA ? m : m * lda), lda, B, ldb, C + m * ldc, ldc, acc);
}

static inline __attribute__((always_inline)) CLAS_GR_TARGET void gr_panels(const bool TA, int64_t M, int64_t N,
                                                                           int64_t K, const float *A, int64_t lda,
                                                                           const float *B, int64_t ldb, float *C,
                                                                           int64_t ldc, bool acc) {
    for (int64_t n0 = 0; n0 < N;) {  // panels of 48 columns, the last one 8…40 wide
        const float *b = B + n0;
        float *c = C + n0;
        const int64_t w = N - n0 >= 48 ? 48 : N - n0;
        switch (w) {
        case 48: gr_panel(TA, 3, 0, M, K, A, lda, b, ldb, c, ldc, acc); break;
        case 40: gr_panel(TA, 2, 1, M, K, A, lda, b, ldb, c, ldc, acc); break;
        case 32: gr_panel(TA, 2, 0, M, K, A, lda, b, ldb, c, ldc, acc); break;
        case 24: gr_panel(TA, 1, 1, M, K, A, lda, b, ldb, c, ldc, acc); break;
        case 16: gr_panel(TA, 1, 0, M, K, A, lda, b, ldb, c, ldc, acc); break;
        default: gr_panel(TA, 0, 1, M, K, A, lda, b, ldb, c, ldc, acc); break;
        }
        n0 += w;
    }
}

static CLAS_GR_TARGET void gr_avx512(bool ta, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                                     const float *B, int64_t ldb, float *C, int64_t ldc, bool acc) {
    if (ta)
        gr_panels(true, M, N, K, A, lda, B, ldb, C, ldc, acc);
    else
        gr_panels(false, M, N, K, A, lda, B, ldb, C, ldc, acc);
}

#define CLAS_GR2_TARGET __attribute__((target("avx2,fma")))

/// AVX2: C[MR rows, 8·NV columns] (+)= op(A)[MR, K]·B[K, same columns], MR ≤ 6, NV ≤ 2.
static inline __attribute__((always_inline)) CLAS_GR2_TARGET void gr2_tile(const int MR, const int NV, int64_t K,
                                                                           const float *A, int64_t lda,
                                                                           const float *B, int64_t ldb, float *C,
                                                                           int64_t ldc, bool acc) {
    __m256 c[6][2];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) c[r][v] = acc ? _mm256_loadu_ps(C + r * ldc + 8 * v) : _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        __m256 b[2];
        for (int v = 0; v < NV; v++) b[v] = _mm256_loadu_ps(B + k * ldb + 8 * v);
        for (int r = 0; r < MR; r++) {
            const __m256 a = _mm256_broadcast_ss(A + r * lda + k);
            for (int v = 0; v < NV; v++) c[r][v] = _mm256_fmadd_ps(a, b[v], c[r][v]);
        }
    }
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) _mm256_storeu_ps(C + r * ldc + 8 * v, c[r][v]);
}

/// One panel of 8·NV columns over all rows: blocks of 6 rows, then one block of the 1…5 left.
static inline __attribute__((always_inline)) CLAS_GR2_TARGET void gr2_panel(const int NV, int64_t M, int64_t K,
                                                                            const float *A, int64_t lda,
                                                                            const float *B, int64_t ldb, float *C,
                                                                            int64_t ldc, bool acc) {
    int64_t m = 0;
    for (; m + 6 <= M; m += 6) gr2_tile(6, NV, K, A + m * lda, lda, B, ldb, C + m * ldc, ldc, acc);
    const float *a = A + m * lda;
    float *c = C + m * ldc;
    switch (M - m) {
    case 5: gr2_tile(5, NV, K, a, lda, B, ldb, c, ldc, acc); break;
    case 4: gr2_tile(4, NV, K, a, lda, B, ldb, c, ldc, acc); break;
    case 3: gr2_tile(3, NV, K, a, lda, B, ldb, c, ldc, acc); break;
    case 2: gr2_tile(2, NV, K, a, lda, B, ldb, c, ldc, acc); break;
    case 1: gr2_tile(1, NV, K, a, lda, B, ldb, c, ldc, acc); break;
    default: break;
    }
}

static CLAS_GR2_TARGET void gr_avx2(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                                    int64_t ldb, float *C, int64_t ldc, bool acc) {
    int64_t n0 = 0;
    for (; n0 + 16 <= N; n0 += 16) gr2_panel(2, M, K, A, lda, B + n0, ldb, C + n0, ldc, acc);
    if (n0 < N) gr2_panel(1, M, K, A, lda, B + n0, ldb, C + n0, ldc, acc);
}
#endif

#if defined(__x86_64__)
static uint32_t gr_features(void) {
    static int64_t features = -1;  // benign race: every thread computes the same value
    if (features < 0) features = clas_cpu_features();
    return (uint32_t)features;
}
#endif

bool clas_gemm_rows_supported(bool transA, int64_t n, int64_t k) {
#if defined(__x86_64__)
    // AMP rounds the training GEMMs to bf16 in clas_blas_sgemm: leave those products to it.
    if (n <= 0 || n % 8 != 0 || clas_bf16_gemm_enabled()) return false;
    const uint32_t f = gr_features(), avx512 = CLAS_CPU_AVX512F | CLAS_CPU_AVX512VL | CLAS_CPU_FMA,
                   avx2 = CLAS_CPU_AVX2 | CLAS_CPU_FMA;
    if ((f & avx512) == avx512) return true;
    return (f & avx2) == avx2 && !transA && (k <= 96 || n <= 64);
#else
    (void)transA, (void)n, (void)k;
    return false;
#endif
}

void clas_gemm_rows_ta(bool transA, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                       int64_t ldb, float *C, int64_t ldc, bool accumulate) {
#if defined(__x86_64__)
    if (M > 0 && K > 0 && clas_gemm_rows_supported(transA, N, K)) {
        const uint32_t avx512 = CLAS_CPU_AVX512F | CLAS_CPU_AVX512VL | CLAS_CPU_FMA;
        if ((gr_features() & avx512) == avx512)
            gr_avx512(transA, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
        else
            gr_avx2(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
        return;
    }
#endif
    clas_blas_sgemm(transA, false, M, N, K, 1, A, lda, B, ldb, accumulate ? 1 : 0, C, ldc);
}

void clas_gemm_rows(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc, bool accumulate) {
    clas_gemm_rows_ta(false, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}
