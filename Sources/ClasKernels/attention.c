// Batched GEMM and fused multi-head attention, the (batch, head) pairs split over the pool. The batched GEMM calls
// the BLAS once per matrix; attention's products go through clas_gemm_rows (gemm_rows.c: its own unpacked kernel
// for these narrow shapes where it is faster, else the BLAS), with Kᵀ and Vᵀ copied row-major into the thread's
// scratch.
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
    const uint16_t *qkv16_in;  // backward: qkv in bfloat16 (instead of qkv)
    float *out, *lse, *dqkv, *dbias;
    uint16_t *qkv16;           // forward: write qkv's bfloat16 rounding here
    int64_t n, heads, d, bias_groups;
    float scale;
    float keep_scale;       // 1/(1 − p) of attention dropout
    uint32_t drop_below;    // an element is dropped when its hash's high 32 bits are below this (0: no dropout)
    uint64_t drop_seed;
} attn_job;

/// Attention dropout's mask for one score row, regenerated from (seed, element index) so the backward needs no
/// stored mask: element e = (bh·n + r)·n + i is kept iff the high 32 bits of splitmix64(seed + (e + 1)·φ) are at least
/// `drop_below` = ⌊p·2³²⌋, i.e. with probability 1 − p, independently of the thread split. Writes 1/(1 − p) or 0.
static CLAS_MV void dropout_row_mask(float *restrict m, int64_t n, uint64_t first, uint64_t seed, uint32_t drop_below,
                                     float keep_scale) {
    for (int64_t i = 0; i < n; i++) {
        uint64_t z = seed + ((first + (uint64_t)i) + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z = z ^ (z >> 31);
        m[i] = (uint32_t)(z >> 32) >= drop_below ? keep_scale : 0.0f;
    }
}

void clas_attention_dropout_mask(float *mask, int64_t count, uint64_t first, uint64_t seed, float p) {
    const uint32_t below = clas_attention_drop_threshold(p);
    dropout_row_mask(mask, count, first, seed, below, below ? 1.0f / (1.0f - p) : 1.0f);
}

uint32_t clas_attention_drop_threshold(float p) {
    if (!(p > 0)) return 0;
    const double t = (double)p * 4294967296.0;
    return t >= 4294967295.0 ? 4294967295u : (uint32_t)t;
}

/// Row stride of a score matrix: n rounded up to 16.
static inline int64_t scores_ld(int64_t n) { return (n + 15) / 16 * 16; }

/// dst [cols, ld] = srcᵀ for src [rows, cols] (row stride lds), columns rows…ld − 1 zero.
static void transpose_padded(const float *src, int64_t lds, int64_t rows, int64_t cols, float *dst, int64_t ld) {
    for (int64_t i = 0; i < cols; i++) memset(dst + i * ld + rows, 0, (size_t)(ld - rows) * sizeof(float));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < cols; i++) dst[i * ld + r] = src[r * lds + i];
}

/// Scores of pair `bh` before the softmax, Q·Kᵀ into s [n, ld] (its scaling and bias come in the softmax pass): one
/// product with Kᵀ copied row-major into kt [d, ld] (clas_gemm_rows takes B that way). ld is n rounded up to 16, so
/// no narrow panel is left; the padding columns are products with zeros and are never read.
static void attn_scores(const attn_job *j, const float *q, const float *k, int64_t ldq, float *kt, float *s,
                        int64_t ld) {
    const int64_t n = j->n, d = j->d;
    transpose_padded(k, ldq, n, d, kt, ld);
    clas_gemm_rows(n, ld, d, q, ldq, kt, ld, s, ld, false);
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

/// Row r of the scores: scale·s (+ its bias row), in place.
static inline __attribute__((always_inline)) void scale_bias_row(float *restrict row, const float *restrict bias,
                                                                 float scale, int64_t n) {
    if (bias)
        for (int64_t i = 0; i < n; i++) row[i] = scale * row[i] + bias[i];
    else
        for (int64_t i = 0; i < n; i++) row[i] *= scale;
}

/// P = softmax(scale·S + bias) row by row over s [n, ld] (bias [n, n] or NULL), and each row's log-sum-exp.
/// The row sums are reassociated (`fp reassociate`) so the exp loops vectorise.
static CLAS_MV void softmax_rows_lse(float *restrict s, int64_t ld, const float *restrict bias, float scale,
                                     float *restrict lse, int64_t n) {
    for (int64_t r = 0; r < n; r++) {
        float *restrict row = s + r * ld;
        scale_bias_row(row, bias ? bias + r * n : NULL, scale, n);
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

/// The bias rows of pair `bh` (NULL without a bias).
static const float *pair_bias(const attn_job *j, int64_t bh) {
    if (!j->bias) return NULL;
    const int64_t b = bh / j->heads, h = bh % j->heads;
    return j->bias + ((b % j->bias_groups) * j->heads + h) * j->n * j->n;
}

static void attn_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const attn_job *j = ctx;
    const int64_t n = j->n, d = j->d, c = j->heads * d, ld = scores_ld(n);
    float *s = clas_scratch(tid, (size_t)(n * ld + n + d * ld) * sizeof(float)), *mask = s + n * ld, *kt = mask + n;
    for (int64_t bh = begin; bh < end; bh++) {
        const int64_t b = bh / j->heads, h = bh % j->heads;
        const float *q = j->qkv + b * n * 3 * c + h * d;
        attn_scores(j, q, q + c, 3 * c, kt, s, ld);
        if (j->qkv16)  // this pair's q, k and v slices, in bfloat16
            for (int64_t r = 0; r < n; r++)
                for (int64_t part = 0; part < 3; part++) {
                    const int64_t at = (b * n + r) * 3 * c + part * c + h * d;
                    clas_bf16_from_float(j->qkv + at, j->qkv16 + at, d);
                }
        softmax_rows_lse(s, ld, pair_bias(j, bh), j->scale, j->lse ? j->lse + bh * n : NULL, n);
        if (j->drop_below) {  // P̃ = P ∘ mask; the log-sum-exp stays that of the undropped scores
            for (int64_t r = 0; r < n; r++) {
                dropout_row_mask(mask, n, (uint64_t)((bh * n + r) * n), j->drop_seed, j->drop_below, j->keep_scale);
                float *restrict row = s + r * ld;
                for (int64_t i = 0; i < n; i++) row[i] *= mask[i];
            }
        }
        const float *v = q + 2 * c;
        clas_gemm_rows(n, d, n, s, ld, v, 3 * c, j->out + b * n * c + h * d, c, false);  // O = P̃·V
    }
}

void clas_attention_forward(const float *qkv, const float *bias, int64_t bias_groups, float *out, float *lse,
                            uint16_t *qkv16, int64_t batch, int64_t n, int64_t heads, int64_t d, float scale,
                            float drop_p, uint64_t drop_seed) {
    const uint32_t below = clas_attention_drop_threshold(drop_p);
    attn_job j = {.qkv = qkv, .bias = bias, .out = out, .lse = lse, .qkv16 = qkv16, .n = n, .heads = heads, .d = d,
                  .bias_groups = bias_groups > 0 ? bias_groups : 1, .scale = scale, .drop_below = below,
                  .keep_scale = below ? 1.0f / (1.0f - drop_p) : 1.0f, .drop_seed = drop_seed};
    clas_parallel_for(batch * heads, 1, attn_fwd_chunk, &j);
}

/// out_scale·dS, dS = P ∘ (dP − rowsum(P ∘ dP)), in place in dp, P recomputed in s from the raw scores, their scale
/// and bias and the saved log-sum-exp. With attention dropout (mask M of 0 and 1/(1 − p), regenerated per row):
/// dP = M ∘ dP̃, and s receives P̃ = P ∘ M for dV = P̃ᵀ·dO.
static CLAS_MV void attn_ds(float *restrict s, float *restrict dp, int64_t ld, const float *restrict bias, float scale,
                            float out_scale, const float *restrict lse, int64_t n, float *restrict mask,
                            const attn_job *j, int64_t bh) {
    for (int64_t r = 0; r < n; r++) {
        float *restrict pr = s + r * ld, *restrict dr = dp + r * ld;
        scale_bias_row(pr, bias ? bias + r * n : NULL, scale, n);
        const float l = lse[r];
        float dot = 0;
        if (j->drop_below) {
            dropout_row_mask(mask, n, (uint64_t)((bh * n + r) * n), j->drop_seed, j->drop_below, j->keep_scale);
            {
#pragma clang fp reassociate(on)
                for (int64_t i = 0; i < n; i++) {
                    pr[i] = clas_expf(pr[i] - l);
                    dr[i] *= mask[i];
                    dot += pr[i] * dr[i];
                }
            }
        } else {
#pragma clang fp reassociate(on)
            for (int64_t i = 0; i < n; i++) {
                pr[i] = clas_expf(pr[i] - l);
                dot += pr[i] * dr[i];
            }
        }
        for (int64_t i = 0; i < n; i++) dr[i] = out_scale * (pr[i] * (dr[i] - dot));
        if (j->drop_below)
            for (int64_t i = 0; i < n; i++) pr[i] *= mask[i];
    }
}

static void attn_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const attn_job *j = ctx;
    const int64_t n = j->n, d = j->d, c = j->heads * d, ld = scores_ld(n);
    float *s = clas_scratch(tid, (size_t)(2 * n * ld + n + 2 * d * ld + (j->qkv16_in ? 3 * n * d : 0)) *
                                     sizeof(float));
    float *dp = s + n * ld, *mask = dp + n * ld, *kt = mask + n, *vt = kt + d * ld;
    float *qb = vt + d * ld;  // this pair's q, k, v rows from bfloat16
    for (int64_t bh = begin; bh < end; bh++) {
        const int64_t b = bh / j->heads, h = bh % j->heads;
        // q, k and v rows: in qkv (`step` = c apart, rows 3c apart), or read back from bfloat16 into qb (d apart)
        const int64_t step = j->qkv16_in ? d : c, ldq = 3 * step;
        const float *q = j->qkv16_in ? qb : j->qkv + b * n * 3 * c + h * d, *k = q + step, *v = q + 2 * step;
        if (j->qkv16_in)
            for (int64_t r = 0; r < n; r++)
                for (int64_t part = 0; part < 3; part++) {
                    const uint16_t *src = j->qkv16_in + (b * n + r) * 3 * c + part * c + h * d;
                    clas_bf16_to_float(src, qb + (r * 3 + part) * d, d);
                }
        const float *dout = j->dout + b * n * c + h * d;
        float *dq = j->dqkv + b * n * 3 * c + h * d, *dk = dq + c, *dv = dq + 2 * c;
        attn_scores(j, q, k, ldq, kt, s, ld);
        transpose_padded(v, ldq, n, d, vt, ld);
        clas_gemm_rows(n, ld, d, dout, c, vt, ld, dp, ld, false);  // dP = dO·Vᵀ
        // s = P̃, dp = scale·dS for dQ and dK (the bias's gradient is dS itself: scaled after its copy)
        attn_ds(s, dp, ld, pair_bias(j, bh), j->scale, j->dbias ? 1 : j->scale, j->lse_in + bh * n, n, mask, j, bh);
        if (j->dbias)
            for (int64_t r = 0; r < n; r++) {
                memcpy(j->dbias + (bh * n + r) * n, dp + r * ld, (size_t)n * sizeof(float));
                for (int64_t i = 0; i < n; i++) dp[r * ld + i] *= j->scale;
            }
        clas_gemm_rows_ta(true, n, d, n, s, ld, dout, c, dv, 3 * c, false);   // dV = P̃ᵀ·dO
        clas_gemm_rows_ta(false, n, d, n, dp, ld, k, ldq, dq, 3 * c, false);  // dQ = scale·dS·K
        clas_gemm_rows_ta(true, n, d, n, dp, ld, q, ldq, dk, 3 * c, false);   // dK = scale·dSᵀ·Q
    }
}

void clas_attention_backward(const float *qkv, const uint16_t *qkv16, const float *bias, int64_t bias_groups,
                             const float *lse, const float *dout, float *dqkv, float *dscores, int64_t batch, int64_t n,
                             int64_t heads, int64_t d, float scale, float drop_p, uint64_t drop_seed) {
    const uint32_t below = clas_attention_drop_threshold(drop_p);
    attn_job j = {.qkv = qkv, .qkv16_in = qkv16, .bias = bias, .lse_in = lse, .dout = dout, .dqkv = dqkv,
                  .dbias = dscores, .n = n, .heads = heads, .d = d, .bias_groups = bias_groups > 0 ? bias_groups : 1, .scale = scale,
                  .drop_below = below, .keep_scale = below ? 1.0f / (1.0f - drop_p) : 1.0f, .drop_seed = drop_seed};
    clas_parallel_for(batch * heads, 1, attn_bwd_chunk, &j);
}
