// Batched GEMM and fused multi-head attention: every product goes through the BLAS, one (batch, head) per call,
// the (batch, head) pairs split over the pool.
#include "internal.h"

typedef struct {
    bool ta, tb;
    int64_t M, N, K, lda, ldb, ldc, sa, sb, sc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} bgemm_job;

static void bgemm_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const bgemm_job *j = ctx;
    for (int64_t i = begin; i < end; i++)
        clas_blas_sgemm(j->ta, j->tb, j->M, j->N, j->K, j->alpha, j->A + i * j->sa, j->lda, j->B + i * j->sb, j->ldb,
                        j->beta, j->C + i * j->sc, j->ldc);
}

void clas_sgemm_strided_batched(bool transA, bool transB, int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                                const float *A, int64_t lda, int64_t strideA, const float *B, int64_t ldb,
                                int64_t strideB, float beta, float *C, int64_t ldc, int64_t strideC) {
    if (batch <= 0 || M <= 0 || N <= 0) return;
    if (batch < clas_num_threads()) {  // too few matrices to share out: split each one instead
        for (int64_t i = 0; i < batch; i++)
            clas_sgemm(transA, transB, M, N, K, alpha, A + i * strideA, lda, B + i * strideB, ldb, beta, C + i * strideC,
                       ldc);
        return;
    }
    bgemm_job j = {transA, transB, M, N, K, lda, ldb, ldc, strideA, strideB, strideC, alpha, beta, A, B, C};
    clas_parallel_for(batch, 1, bgemm_chunk, &j);
}

typedef struct {
    const float *qkv, *dout, *bias, *lse_in;
    float *out, *lse, *dqkv, *dbias;
    int64_t n, heads, d, bias_groups;
    float scale;
} attn_job;

/// S = scale·Q·Kᵀ (+ bias) for pair `bh`, into s [n, n].
static void attn_scores(const attn_job *j, int64_t bh, float *s) {
    const int64_t n = j->n, c = j->heads * j->d, b = bh / j->heads, h = bh % j->heads;
    const float *q = j->qkv + b * n * 3 * c + h * j->d;
    clas_blas_sgemm(false, true, n, n, j->d, j->scale, q, 3 * c, q + c, 3 * c, 0, s, n);
    if (j->bias) {
        const float *restrict bias = j->bias + ((b % j->bias_groups) * j->heads + h) * n * n;
        for (int64_t i = 0; i < n * n; i++) s[i] += bias[i];
    }
}

/// The largest of n floats, in 16 lanes so the loop vectorises.
static inline __attribute__((always_inline)) float row_max(const float *restrict row, int64_t n) {
    float lanes[16];
    for (int k = 0; k < 16; k++) lanes[k] = row[0];
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) lanes[k] = row[i + k] > lanes[k] ? row[i + k] : lanes[k];
    float m = lanes[0];
    for (int k = 1; k < 16; k++) m = lanes[k] > m ? lanes[k] : m;
    for (; i < n; i++) m = row[i] > m ? row[i] : m;
    return m;
}

// The row sums are reassociated (`fp reassociate`) so the exp loops vectorise.
static CLAS_MV void softmax_rows_lse(float *restrict s, float *restrict lse, int64_t n) {
    for (int64_t r = 0; r < n; r++) {
        float *restrict row = s + r * n;
        const float m = row_max(row, n);
        float sum = 0;
        {
#pragma clang fp reassociate(on)
            for (int64_t i = 0; i < n; i++) {
                row[i] = clas_expf(row[i] - m);
                sum += row[i];
            }
        }
        const float inv = 1.0f / sum;
        for (int64_t i = 0; i < n; i++) row[i] *= inv;
        if (lse) lse[r] = m + logf(sum);
    }
}

static void attn_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const attn_job *j = ctx;
    const int64_t n = j->n, c = j->heads * j->d;
    float *s = clas_scratch(tid, (size_t)(n * n) * sizeof(float));
    for (int64_t bh = begin; bh < end; bh++) {
        const int64_t b = bh / j->heads, h = bh % j->heads;
        attn_scores(j, bh, s);
        softmax_rows_lse(s, j->lse ? j->lse + bh * n : NULL, n);
        const float *v = j->qkv + b * n * 3 * c + 2 * c + h * j->d;
        clas_blas_sgemm(false, false, n, j->d, n, 1, s, n, v, 3 * c, 0, j->out + b * n * c + h * j->d, c);
    }
}

void clas_attention_forward(const float *qkv, const float *bias, int64_t bias_groups, float *out, float *lse,
                            int64_t batch, int64_t n, int64_t heads, int64_t d, float scale) {
    attn_job j = {.qkv = qkv, .bias = bias, .out = out, .lse = lse, .n = n, .heads = heads, .d = d,
                  .bias_groups = bias_groups > 0 ? bias_groups : 1, .scale = scale};
    clas_parallel_for(batch * heads, 1, attn_fwd_chunk, &j);
}

/// dS = P ∘ (dP − rowsum(P ∘ dP)), in place in dp; P recomputed from the saved log-sum-exp.
static CLAS_MV void attn_ds(float *restrict p, float *restrict dp, const float *restrict lse, int64_t n) {
    for (int64_t r = 0; r < n; r++) {
        float *restrict pr = p + r * n, *restrict dr = dp + r * n;
        const float l = lse[r];
        float dot = 0;
        {
#pragma clang fp reassociate(on)
            for (int64_t i = 0; i < n; i++) {
                pr[i] = clas_expf(pr[i] - l);
                dot += pr[i] * dr[i];
            }
        }
        for (int64_t i = 0; i < n; i++) dr[i] = pr[i] * (dr[i] - dot);
    }
}

static void attn_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const attn_job *j = ctx;
    const int64_t n = j->n, d = j->d, c = j->heads * d;
    float *s = clas_scratch(tid, (size_t)(2 * n * n) * sizeof(float)), *dp = s + n * n;
    for (int64_t bh = begin; bh < end; bh++) {
        const int64_t b = bh / j->heads, h = bh % j->heads;
        const float *q = j->qkv + b * n * 3 * c + h * d, *k = q + c, *v = q + 2 * c;
        const float *dout = j->dout + b * n * c + h * d;
        float *dq = j->dqkv + b * n * 3 * c + h * d, *dk = dq + c, *dv = dq + 2 * c;
        attn_scores(j, bh, s);
        clas_blas_sgemm(false, true, n, n, d, 1, dout, c, v, 3 * c, 0, dp, n);  // dP = dO·Vᵀ
        attn_ds(s, dp, j->lse_in + bh * n, n);                                   // s = P, dp = dS
        clas_blas_sgemm(true, false, n, d, n, 1, s, n, dout, c, 0, dv, 3 * c);   // dV = Pᵀ·dO
        clas_blas_sgemm(false, false, n, d, n, j->scale, dp, n, k, 3 * c, 0, dq, 3 * c);  // dQ = scale·dS·K
        clas_blas_sgemm(true, false, n, d, n, j->scale, dp, n, q, 3 * c, 0, dk, 3 * c);   // dK = scale·dSᵀ·Q
        if (j->dbias) memcpy(j->dbias + bh * n * n, dp, (size_t)(n * n) * sizeof(float));
    }
}

void clas_attention_backward(const float *qkv, const float *bias, int64_t bias_groups, const float *lse,
                             const float *dout, float *dqkv, float *dscores, int64_t batch, int64_t n, int64_t heads,
                             int64_t d, float scale) {
    attn_job j = {.qkv = qkv, .bias = bias, .lse_in = lse, .dout = dout, .dqkv = dqkv, .dbias = dscores, .n = n,
                  .heads = heads, .d = d, .bias_groups = bias_groups > 0 ? bias_groups : 1, .scale = scale};
    clas_parallel_for(batch * heads, 1, attn_bwd_chunk, &j);
}
