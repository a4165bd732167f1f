// The fused MLP branch (Tensor.normMlp): out = act(LN(x)·W1ᵀ + b1)·W2ᵀ + b2 over [rows, c], hidden width H.
//
// Rows go in tiles (a few hundred for narrow rows), each tile through every stage before the next (one single-threaded
// product call per stage, the tiles split over the pool: `clas_gemm_rows` (gemm_rows.c) for the four products of a
// row tile with the weights and, below c = 192, for the two weight gradients too): the normalised input, the
// activation and the backward pass's intermediates live in a per-thread scratch that stays in cache, and only x,
// h = LN(x)·W1ᵀ + b1 (kept for the backward pass), the output and the gradients travel to memory. The backward pass
// recomputes LN(x) from the saved row statistics and act(h) together with act′(h). Under AMP h is kept in bfloat16
// (half the memory; like PyTorch's autocast, whose fc1 output is bf16), the forward's own act(h) from float32 h,
// the backward's from its rounding, read back 16 rows at a time. The weight gradients accumulate
// per thread over its tiles (products with β = 1), the vector sums per tile in float and over tiles in double,
// reduced in thread order (deterministic for a thread count).
#include "activations.h"
#include "layernorm_rows.h"
#include <stdlib.h>

typedef struct {
    const float *x, *nw, *nb, *w1, *b1, *w2, *b2, *h_in, *mean_in, *rstd_in, *dy;
    const uint16_t *h16_in;  // backward: h in bfloat16 (instead of h_in)
    uint16_t *h16;           // forward: keep h in bfloat16 here (instead of h)
    const float *w1t, *w2t;  // forward: W1ᵀ [c, H] and W2ᵀ [H, c] for clas_gemm_rows (NULL: the BLAS on W1, W2)
    float *h, *mean, *rstd, *out, *dx;
    float *wparts;    // backward, [threads][2·c·H]: P = dyᵀ·act(h), dW1
    double *vparts;   // backward, [threads][H + 3c]: db1, Σ dy, dγ, dβ of the norm
    int64_t rows, c, hidden, tile;
    int act;
    bool norm;
    float eps;
} nm_job;

/// Rows per tile. The elementwise passes cost ∝ rows·H, the products ∝ rows·H·c, so narrow rows (ConvNeXt-atto's
/// c = 40…160) gain most from keeping the passes in cache: tiles of up to 512K floats per H-wide buffer (2 MB), a
/// multiple of 16 in [256, 1024]. But the BLAS packs W1/W2 again for every tile (at 80 rows DeiT's fc1 runs 15 %
/// slower, at 640 3 %): for c ≥ 192 (DeiT-tiny, measured 2 % slower tiled) each thread takes its share as one tile.
static int64_t tile_rows(int64_t rows, int64_t c, int64_t hidden) {
    if (c >= 192) {
        const int64_t threads = clas_num_threads();
        return CLAS_MAX(16, (rows + threads - 1) / threads + 15) / 16 * 16;
    }
    return CLAS_MAX(256, CLAS_MIN(1024, 524288 / CLAS_MAX(hidden, 1) / 16 * 16));
}

/// C [M, N] = A [M, K]·B (+ C when acc), B given row-major [K, N] (b, used where clas_gemm_rows has a kernel for N)
/// and as its transpose [N, K] (bt, may be NULL when b is always usable).
static void nm_gemm(int64_t M, int64_t N, int64_t K, const float *A, const float *b, const float *bt, float *C,
                    bool acc) {
    if (b && (!bt || clas_gemm_rows_supported(false, N, K)))
        clas_gemm_rows(M, N, K, A, K, b, N, C, N, acc);
    else
        clas_blas_sgemm(false, true, M, N, K, 1, A, K, bt, K, acc ? 1 : 0, C, N);
}

/// C [M, N] += Aᵀ·B over a tile's t rows (A [t, M], B [t, N]): the weight gradients. Own kernel for narrow rows
/// (c < 192: it re-reads A for every 48 columns of B, which stays in L2 only while the tile is narrow), else the BLAS.
static void nm_gemm_tn(int64_t c, int64_t M, int64_t N, int64_t t, const float *A, const float *B, float *C) {
    if (c < 192)
        clas_gemm_rows_ta(true, M, N, t, A, M, B, N, C, N, true);
    else
        clas_blas_sgemm(true, false, M, N, t, 1, A, M, B, N, 1, C, N);
}

/// h += b (b may be NULL), a = act(h) over t rows of width n: one pass, the bias add fused into the activation's
/// (the exact GELU in gelu.c).
static inline __attribute__((always_inline)) void act_rows(int act, float *restrict h, const float *restrict b,
                                                           float *restrict a, int64_t t, int64_t n) {
    if (act == CLAS_ACT_GELU) {
        clas_gelu_rows(h, b, a, t, n);
        return;
    }
    switch (act) {  // one loop per activation so each vectorises
#define ACT_CASE(A)                                                                                                   \
    case A:                                                                                                           \
        for (int64_t r = 0; r < t; r++, h += n, a += n)                                                               \
            if (b)                                                                                                    \
                for (int64_t i = 0; i < n; i++) {                                                                     \
                    const float v = h[i] + b[i];                                                                      \
                    h[i] = v;                                                                                         \
                    a[i] = clas_act(A, v);                                                                            \
                }                                                                                                     \
            else                                                                                                      \
                for (int64_t i = 0; i < n; i++) a[i] = clas_act(A, h[i]);                                             \
        break;
        ACT_CASE(CLAS_ACT_GELU_TANH) ACT_CASE(CLAS_ACT_RELU) ACT_CASE(CLAS_ACT_SILU)
        ACT_CASE(CLAS_ACT_HARDSWISH) ACT_CASE(CLAS_ACT_RELU6) ACT_CASE(CLAS_ACT_SIGMOID) ACT_CASE(CLAS_ACT_TANH)
        ACT_CASE(CLAS_ACT_HARDSIGMOID) ACT_CASE(CLAS_ACT_NONE)
#undef ACT_CASE
    default: break;
    }
}

/// a = act(h), d *= act′(h) and db += d (summed over the t rows of width n): one pass.
static inline __attribute__((always_inline)) void act_grad_rows(int act, const float *restrict h, float *restrict a,
                                                                float *restrict d, float *restrict db, int64_t t,
                                                                int64_t n) {
    switch (act) {
    case CLAS_ACT_GELU: clas_gelu_grad_rows(h, a, d, db, t, n); break;  // gelu.c
#define ACT_GRAD_CASE(A)                                                                                              \
    case A:                                                                                                           \
        for (int64_t r = 0; r < t; r++, h += n, a += n, d += n)                                                       \
            for (int64_t i = 0; i < n; i++) {                                                                         \
                a[i] = clas_act(A, h[i]);                                                                             \
                d[i] *= clas_act_grad(A, h[i]);                                                                       \
                db[i] += d[i];                                                                                        \
            }                                                                                                         \
        break;
        ACT_GRAD_CASE(CLAS_ACT_GELU_TANH) ACT_GRAD_CASE(CLAS_ACT_RELU) ACT_GRAD_CASE(CLAS_ACT_SILU)
        ACT_GRAD_CASE(CLAS_ACT_HARDSWISH) ACT_GRAD_CASE(CLAS_ACT_RELU6) ACT_GRAD_CASE(CLAS_ACT_SIGMOID)
        ACT_GRAD_CASE(CLAS_ACT_TANH) ACT_GRAD_CASE(CLAS_ACT_HARDSIGMOID) ACT_GRAD_CASE(CLAS_ACT_NONE)
#undef ACT_GRAD_CASE
    default: break;
    }
}

static CLAS_MV void nm_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const nm_job *j = ctx;
    const int64_t c = j->c, H = j->hidden, T = j->tile;
    float *xn = clas_scratch(tid, (size_t)(T * (c + 2 * H)) * sizeof(float)), *a = xn + T * c, *hs = a + T * H;
    for (int64_t tb = begin; tb < end; tb++) {
        const int64_t r0 = tb * T, t = CLAS_MIN(T, j->rows - r0);
        const float *in = j->x + r0 * c;
        if (j->norm) {
            for (int64_t r = 0; r < t; r++) {
                float m, s;
                clas_ln_row_forward(in + r * c, j->nw, j->nb, xn + r * c, c, j->eps, &m, &s);
                if (j->mean) j->mean[r0 + r] = m, j->rstd[r0 + r] = s;
            }
            in = xn;
        }
        float *restrict h = j->h ? j->h + r0 * H : hs;
        nm_gemm(t, H, c, in, j->w1t, j->w1, h, false);  // h = LN(x)·W1ᵀ
        act_rows(j->act, h, j->b1, a, t, H);  // h += b1, a = act(h)
        if (j->h16) clas_bf16_from_float(h, j->h16 + r0 * H, t * H);
        float *o = j->out + r0 * c;
        if (j->b2)
            for (int64_t r = 0; r < t; r++) memcpy(o + r * c, j->b2, (size_t)c * sizeof(float));
        nm_gemm(t, c, H, a, j->w2t, j->w2, o, j->b2 != NULL);  // out = a·W2ᵀ + b2
    }
}

void clas_norm_mlp_forward(int act, const float *x, int64_t rows, int64_t c, int64_t hidden, bool norm,
                           const float *norm_w, const float *norm_b, float eps, const float *w1, const float *b1,
                           const float *w2, const float *b2, float *h, uint16_t *h16, float *mean, float *rstd,
                           float *out) {
    const int64_t T = tile_rows(rows, c, hidden);
    nm_job j = {.x = x, .nw = norm_w, .nb = norm_b, .w1 = w1, .b1 = b1, .w2 = w2, .b2 = b2, .h = h, .h16 = h16,
                .mean = mean, .rstd = rstd, .out = out, .rows = rows, .c = c, .hidden = hidden, .tile = T, .act = act,
                .norm = norm, .eps = eps};
    // clas_gemm_rows takes B row-major: transpose the (small) weights once for all tiles
    float *w1t = clas_gemm_rows_supported(false, hidden, c) ? malloc((size_t)(c * hidden) * sizeof(float)) : NULL;
    float *w2t = clas_gemm_rows_supported(false, c, hidden) ? malloc((size_t)(c * hidden) * sizeof(float)) : NULL;
    for (int64_t o = 0; o < hidden; o++)
        for (int64_t i = 0; i < c; i++) {
            if (w1t) w1t[i * hidden + o] = w1[o * c + i];
            if (w2t) w2t[o * c + i] = w2[i * hidden + o];
        }
    j.w1t = w1t, j.w2t = w2t;
    clas_parallel_for((rows + T - 1) / T, 1, nm_fwd_chunk, &j);
    free(w1t);
    free(w2t);
}

/// Rows of bfloat16 h converted back per act_grad_rows call (a cache-resident buffer).
#define BF16_ROWS 16

static CLAS_MV void nm_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const nm_job *j = ctx;
    const int64_t c = j->c, H = j->hidden, T = j->tile;
    float *pP = j->wparts + (int64_t)tid * 2 * c * H, *pW1 = pP + c * H;
    double *vp = j->vparts + (int64_t)tid * (H + 3 * c);
    float *xn = clas_scratch(tid, (size_t)(T * (c + 2 * H) + H + 3 * c + BF16_ROWS * H) * sizeof(float));
    float *a = xn + T * c, *dh = a + T * H, *restrict tv = dh + T * H;  // tv: this tile's vector sums [H + 3c]
    float *hb = tv + H + 3 * c;  // BF16_ROWS rows of h read back from bfloat16
    float *restrict tb1 = tv, *restrict tsg = tb1 + H, *restrict tnw = tsg + c, *restrict tnb = tnw + c;
    for (int64_t tb = begin; tb < end; tb++) {
        const int64_t r0 = tb * T, t = CLAS_MIN(T, j->rows - r0);
        const float *restrict g = j->dy + r0 * c, *restrict x = j->x + r0 * c;
        memset(tv, 0, (size_t)(H + 3 * c) * sizeof(float));
        nm_gemm(t, H, c, g, j->w2, NULL, dh, false);  // dA = dy·W2
        if (j->h16_in)
            for (int64_t r = 0; r < t; r += BF16_ROWS) {
                const int64_t n = CLAS_MIN(BF16_ROWS, t - r);
                clas_bf16_to_float(j->h16_in + (r0 + r) * H, hb, n * H);
                act_grad_rows(j->act, hb, a + r * H, dh + r * H, tb1, n, H);
            }
        else
            act_grad_rows(j->act, j->h_in + r0 * H, a, dh, tb1, t, H);  // a = act(h), dH = dA ⊙ act′(h), Σ dH
        for (int64_t r = 0; r < t; r++)
            for (int64_t i = 0; i < c; i++) tsg[i] += g[r * c + i];
        nm_gemm_tn(c, c, H, t, g, a, pP);  // P += dyᵀ·a
        const float *in = x;
        if (j->norm) {  // LN(x) again from the saved statistics
            for (int64_t r = 0; r < t; r++) {
                const float m = j->mean_in[r0 + r], s = j->rstd_in[r0 + r];
                const float *restrict xr = x + r * c;
                float *restrict y = xn + r * c;
                if (j->nw)
                    for (int64_t i = 0; i < c; i++) y[i] = (xr[i] - m) * s * j->nw[i] + j->nb[i];
                else
                    for (int64_t i = 0; i < c; i++) y[i] = (xr[i] - m) * s;
            }
            in = xn;
        }
        nm_gemm_tn(c, H, c, t, dh, in, pW1);  // dW1 += dHᵀ·LN(x)
        float *dxn = j->norm ? xn : j->dx + r0 * c;                          // LN(x) is no longer needed
        nm_gemm(t, c, H, dh, j->w1, NULL, dxn, false);                        // d LN(x) = dH·W1
        if (j->norm)
            for (int64_t r = 0; r < t; r++)
                clas_ln_row_backward(x + r * c, j->mean_in[r0 + r], j->rstd_in[r0 + r], j->nw, dxn + r * c,
                                     j->dx + (r0 + r) * c, c, j->nw ? tnw : NULL, j->nw ? tnb : NULL);
        for (int64_t i = 0; i < H + 3 * c; i++) vp[i] += tv[i];
    }
}

void clas_norm_mlp_backward(int act, const float *x, int64_t rows, int64_t c, int64_t hidden, bool norm,
                            const float *norm_w, const float *norm_b, const float *mean, const float *rstd,
                            const float *w1, const float *w2, const float *h, const uint16_t *h16, const float *dy,
                            float *dx, float *p, float *dw1, float *db1, float *sum_dy, float *dnorm_w, float *dnorm_b) {
    const int64_t T = tile_rows(rows, c, hidden), H = hidden;
    const int threads = clas_num_threads();
    nm_job j = {.x = x, .nw = norm_w, .nb = norm_b, .mean_in = mean, .rstd_in = rstd, .w1 = w1, .w2 = w2, .h_in = h,
                .h16_in = h16, .dy = dy, .dx = dx, .rows = rows, .c = c, .hidden = H, .tile = T, .act = act, .norm = norm};
    j.wparts = calloc((size_t)threads * 2 * (size_t)(c * H), sizeof(float));
    j.vparts = calloc((size_t)threads * (size_t)(H + 3 * c), sizeof(double));
    if (!j.wparts || !j.vparts) {
        free(j.wparts);
        free(j.vparts);
        return;
    }
    clas_parallel_for((rows + T - 1) / T, 1, nm_bwd_chunk, &j);
    for (int64_t i = 0; i < c * H; i++) {
        float sp = 0, sw = 0;
        for (int t = 0; t < threads; t++) {
            sp += j.wparts[(int64_t)t * 2 * c * H + i];
            sw += j.wparts[(int64_t)t * 2 * c * H + c * H + i];
        }
        p[i] = sp;
        dw1[i] = sw;
    }
    float *outs[4] = {db1, sum_dy, dnorm_w, dnorm_b};
    const int64_t offs[4] = {0, H, H + c, H + 2 * c}, lens[4] = {H, c, c, c};
    for (int k = 0; k < 4; k++) {
        if (!outs[k]) continue;
        for (int64_t i = 0; i < lens[k]; i++) {
            double s = 0;
            for (int t = 0; t < threads; t++) s += j.vparts[(int64_t)t * (H + 3 * c) + offs[k] + i];
            outs[k][i] = (float)s;
        }
    }
    free(j.wparts);
    free(j.vparts);
}
