// C = op(A)·B (+ C) for row-major A [M, K] (or Aᵀ, A [K, M]) and B [K, N] with N a multiple of 8, single-threaded,
// AVX-512: the fused MLP branch's products with a narrow side (ConvNeXt's C = 40…320 as K or as N, on a tile of ~1000
// rows; with Aᵀ, its weight gradients summed over the tile's rows).
//
// OpenBLAS packs both operands on every call and its 16×N micro-kernel wastes lanes on narrow N: on these shapes it
// reaches 85–97 GFLOP/s of a core's ≈117 (Zen 4). Here nothing is packed: for each panel of up to 48 columns of B,
// 8 rows of C stay in 24 zmm accumulators while k runs over K (one broadcast of A and three row loads of B per k),
// so A streams from L1/L2 and B's panel stays in L1/L2 (104–111 GFLOP/s on the same shapes). A 40-column panel
// ends in a ymm half, which costs half a zmm FMA on Zen 4. Sums run over k in order, one FMA per term.
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
#endif

bool clas_gemm_rows_supported(int64_t n) {
#if defined(__x86_64__)
    static int avx512 = -1;  // benign race: every thread computes the same value
    if (avx512 < 0) {
        const uint32_t need = CLAS_CPU_AVX512F | CLAS_CPU_AVX512VL | CLAS_CPU_FMA;
        avx512 = (clas_cpu_features() & need) == need;
    }
    // AMP rounds the training GEMMs to bf16 in clas_blas_sgemm: leave those products to it.
    return avx512 && n > 0 && n % 8 == 0 && !clas_bf16_gemm_enabled();
#else
    (void)n;
    return false;
#endif
}

void clas_gemm_rows_ta(bool transA, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                       int64_t ldb, float *C, int64_t ldc, bool accumulate) {
#if defined(__x86_64__)
    if (M > 0 && K > 0 && clas_gemm_rows_supported(N)) {
        gr_avx512(transA, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
        return;
    }
#endif
    clas_blas_sgemm(transA, false, M, N, K, 1, A, lda, B, ldb, accumulate ? 1 : 0, C, ldc);
}

void clas_gemm_rows(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc, bool accumulate) {
    clas_gemm_rows_ta(false, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}
