// Row-major SGEMM on OpenBLAS (kept single-threaded), split over the pool's threads at fixed points.
#include "internal.h"
#include <cblas.h>

typedef struct {
    bool ta, tb;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
    bool split_rows;
} gemm_job;

static void gemm_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const gemm_job *j = ctx;
    // Chunks are counted in blocks of 16 rows/columns so every split keeps OpenBLAS's panels whole.
    int64_t total = j->split_rows ? j->M : j->N;
    int64_t lo = CLAS_MIN(begin * 16, total), hi = CLAS_MIN(end * 16, total);
    if (lo >= hi) return;
    if (j->split_rows) {
        const float *A = j->ta ? j->A + lo : j->A + lo * j->lda;
        cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                    (int)(hi - lo), (int)j->N, (int)j->K, j->alpha, A, (int)j->lda, j->B, (int)j->ldb, j->beta,
                    j->C + lo * j->ldc, (int)j->ldc);
    } else {
        const float *B = j->tb ? j->B + lo * j->ldb : j->B + lo;
        cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                    (int)j->M, (int)(hi - lo), (int)j->K, j->alpha, j->A, (int)j->lda, B, (int)j->ldb, j->beta,
                    j->C + lo, (int)j->ldc);
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
    int64_t blocks = ((j.split_rows ? M : N) + 15) / 16;
    // Below ~2 MFLOP a hand-off costs more than it saves.
    int64_t grain = (M * N * K < (1 << 20)) ? INT64_MAX : 2;
    clas_parallel_for(blocks, grain, gemm_chunk, &j);
}
