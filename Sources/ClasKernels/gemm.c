// Row-major SGEMM on the BLAS backend (kept single-threaded, see blas.c), split over the pool's threads at fixed
// points.
#include "internal.h"
#include <stdlib.h>

typedef struct {
    bool ta, tb;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
    bool split_rows;
    float *partials;  // split over K: one M × N product per chunk
} gemm_job;

/// Rows per BLAS call of a row chunk. OpenBLAS is slower on a very tall product than on the same rows in calls of a
/// few thousand (Zen 2, two threads, 1×1 convolutions at batch 32: 16 → 64 channels at 112 px 15.6 → 11.6 ms,
/// 64 → 128 at 56 px 15.0 → 12.4 ms); a multiple of 16, so every call keeps the BLAS's panels whole.
#define ROW_BLOCK 2048

static void gemm_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const gemm_job *j = ctx;
    // Chunks are counted in blocks of 16 rows/columns so every split keeps the BLAS's panels whole.
    int64_t total = j->split_rows ? j->M : j->N;
    int64_t lo = CLAS_MIN(begin * 16, total), hi = CLAS_MIN(end * 16, total);
    if (lo >= hi) return;
    if (j->split_rows) {  // in calls of at most ROW_BLOCK rows
        for (int64_t r = lo; r < hi; r += ROW_BLOCK) {
            const float *A = j->ta ? j->A + r : j->A + r * j->lda;
            clas_blas_sgemm(j->ta, j->tb, CLAS_MIN(ROW_BLOCK, hi - r), j->N, j->K, j->alpha, A, j->lda, j->B, j->ldb,
                            j->beta, j->C + r * j->ldc, j->ldc);
        }
    } else {
        const float *B = j->tb ? j->B + lo * j->ldb : j->B + lo;
        clas_blas_sgemm(j->ta, j->tb, j->M, hi - lo, j->K, j->alpha, j->A, j->lda, B, j->ldb, j->beta, j->C + lo,
                        j->ldc);
    }
}

/// One chunk of a product split over K: partial t = alpha·op(A)[:, k range]·op(B)[k range, :].
static void gemm_k_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const gemm_job *j = ctx;
    const float *A = j->ta ? j->A + begin * j->lda : j->A + begin;
    const float *B = j->tb ? j->B + begin : j->B + begin * j->ldb;
    clas_blas_sgemm(j->ta, j->tb, j->M, j->N, end - begin, j->alpha, A, j->lda, B, j->ldb, 0,
                    j->partials + (int64_t)tid * j->M * j->N, j->N);
}

/// Whether a product is split over K rather than over rows or columns: a weight gradient dyᵀ·x summed over every
/// pixel or token (K = 401,408 for a 48 → 48 1×1 convolution at 112 px, batch 32) has too few rows and columns to
/// share out (48 rows are three 16-row blocks: two for one thread, one for the other), and each thread would read
/// all of both operands. Zen 2, two threads: that product 29.9 → 17.6 ms.
static bool split_k(int64_t M, int64_t N, int64_t K) {
    return clas_num_threads() > 1 && K >= 16 * CLAS_MAX(M, N) && M * N <= (1 << 20) && M * N * K >= (1 << 22);
}

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

/// Rows of A up to which A·Bᵀ is computed by `small_m_chunk` instead of OpenBLAS.
#define SMALL_M 16

/// C[m, n] = alpha·Σ_k A[m, k]·B[n, k] + beta·C[m, n] for M ≤ SMALL_M (A row-major, B given as Bᵀ rows), over a
/// range of n. With few rows of A (a batch-1 forward's late layers, squeeze-excite, the classifier) OpenBLAS spends
/// most of its time packing B — the weights — on every call; here each weight row is read once and multiplied with
/// all M rows of A held in accumulators.
static inline __attribute__((always_inline)) void small_m_column(const gemm_job *j, int64_t n, const int M) {
    const int64_t K = j->K, K16 = K / 16 * 16;
    const float *w = j->B + n * j->ldb;
    v16 acc[SMALL_M];
    for (int m = 0; m < M; m++) acc[m] = (v16){0};
    for (int64_t k = 0; k < K16; k += 16) {
        v16 wv = *(const v16u *)(w + k);
        for (int m = 0; m < M; m++) acc[m] += wv * *(const v16u *)(j->A + m * j->lda + k);
    }
    for (int m = 0; m < M; m++) {
        float s = 0;
        for (int l = 0; l < 16; l++) s += acc[m][l];
        const float *a = j->A + m * j->lda;
        for (int64_t k = K16; k < K; k++) s += a[k] * w[k];
        float *c = j->C + m * j->ldc + n;
        *c = j->beta == 0 ? j->alpha * s : j->alpha * s + j->beta * *c;
    }
}

static CLAS_MV void small_m_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const gemm_job *j = ctx;
    // A compile-time row count keeps the accumulators in registers.
    switch (j->M) {
#define SMALL_M_CASE(R) \
    case R: for (int64_t n = begin; n < end; n++) small_m_column(j, n, R); break;
        SMALL_M_CASE(1) SMALL_M_CASE(2) SMALL_M_CASE(3) SMALL_M_CASE(4) SMALL_M_CASE(5) SMALL_M_CASE(6)
        SMALL_M_CASE(7) SMALL_M_CASE(8) SMALL_M_CASE(9) SMALL_M_CASE(10) SMALL_M_CASE(11) SMALL_M_CASE(12)
        SMALL_M_CASE(13) SMALL_M_CASE(14) SMALL_M_CASE(15) SMALL_M_CASE(16)
#undef SMALL_M_CASE
        default: break;
    }
}

void clas_sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++) {
            if (beta == 0) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
            else for (int64_t k = 0; k < N; k++) C[i * ldc + k] *= beta;
        }
        return;
    }
    gemm_job j = {transA, transB, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, M >= N};
    if (!transA && transB && M <= SMALL_M && N * K >= 4096) {
        clas_parallel_for(N, M * N * K < (1 << 20) ? INT64_MAX : 16, small_m_chunk, &j);
        return;
    }
    if (split_k(M, N, K)) {  // partials added in chunk order: deterministic for a thread count
        const int64_t threads = clas_num_threads();
        j.partials = calloc((size_t)(threads * M * N), sizeof(float));
        if (j.partials) {
            clas_parallel_for(K, 1, gemm_k_chunk, &j);
            for (int64_t i = 0; i < M; i++)
                for (int64_t n = 0; n < N; n++) {
                    float s = 0;
                    for (int64_t t = 0; t < threads; t++) s += j.partials[(t * M + i) * N + n];
                    float *c = C + i * ldc + n;
                    *c = beta == 0 ? s : s + beta * *c;
                }
            free(j.partials);
            return;
        }
    }
    int64_t blocks = ((j.split_rows ? M : N) + 15) / 16;
    // Below ~2 MFLOP a hand-off costs more than it saves.
    int64_t grain = (M * N * K < (1 << 20)) ? INT64_MAX : 2;
    clas_parallel_for(blocks, grain, gemm_chunk, &j);
}
