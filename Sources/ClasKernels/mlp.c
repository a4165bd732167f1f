// The fused MLP branch (Tensor.normMlp): out = act(LN(x)·W1ᵀ + b1)·W2ᵀ + b2 over [rows, c], hidden width H.
//
// Rows go in tiles (a few hundred for narrow rows), each tile through every stage before the next (one single-threaded BLAS call
// per product, the tiles split over the pool): the normalised input, the activation and the backward pass's
// intermediates live in a per-thread scratch that stays in cache, and only x, h = LN(x)·W1ᵀ + b1 (kept for the backward
// pass), the output and the gradients travel to memory. The backward pass recomputes LN(x) from the saved row
// statistics and act(h) together with act′(h); the weight gradients accumulate per thread over its tiles (GEMMs
// with β = 1), the vector sums per tile in float and over tiles in double, reduced in thread order (deterministic
// for a thread count).
#include "activations.h"
#include "layernorm_rows.h"
#include <stdlib.h>

typedef struct {
    const float *x, *nw, *nb, *w1, *b1, *w2, *b2, *h_in, *mean_in, *rstd_in, *dy;
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

static inline __attribute__((always_inline)) void act_block(int act, const float *restrict h, float *restrict a,
                                                            int64_t n) {
    switch (act) {  // one loop per activation so each vectorises
#define ACT_CASE(A) case A: for (int64_t i = 0; i < n; i++) a[i] = clas_act(A, h[i]); break;
        ACT_CASE(CLAS_ACT_GELU) ACT_CASE(CLAS_ACT_GELU_TANH) ACT_CASE(CLAS_ACT_RELU) ACT_CASE(CLAS_ACT_SILU)
        ACT_CASE(CLAS_ACT_HARDSWISH) ACT_CASE(CLAS_ACT_RELU6) ACT_CASE(CLAS_ACT_SIGMOID) ACT_CASE(CLAS_ACT_TANH)
        ACT_CASE(CLAS_ACT_HARDSIGMOID)
#undef ACT_CASE
    default: memcpy(a, h, (size_t)n * sizeof(float));
    }
}

/// a = act(h), d *= act′(h).
static inline __attribute__((always_inline)) void act_grad_block(int act, const float *restrict h, float *restrict a,
                                                                 float *restrict d, int64_t n) {
    switch (act) {
    case CLAS_ACT_GELU:  // Φ once for both: a = x·Φ(x), a′ = Φ(x) + x·φ(x)
        for (int64_t i = 0; i < n; i++) {
            const float x = h[i];
            float e;
            const float cdf = clas_normal_cdf(x, &e);
            a[i] = x * cdf;
            d[i] *= cdf + x * 0.39894228040143268f * e;
        }
        break;
#define ACT_GRAD_CASE(A)                                                                                              \
    case A:                                                                                                           \
        for (int64_t i = 0; i < n; i++) {                                                                             \
            a[i] = clas_act(A, h[i]);                                                                                 \
            d[i] *= clas_act_grad(A, h[i]);                                                                           \
        }                                                                                                             \
        break;
        ACT_GRAD_CASE(CLAS_ACT_GELU_TANH) ACT_GRAD_CASE(CLAS_ACT_RELU) ACT_GRAD_CASE(CLAS_ACT_SILU)
        ACT_GRAD_CASE(CLAS_ACT_HARDSWISH) ACT_GRAD_CASE(CLAS_ACT_RELU6) ACT_GRAD_CASE(CLAS_ACT_SIGMOID)
        ACT_GRAD_CASE(CLAS_ACT_TANH) ACT_GRAD_CASE(CLAS_ACT_HARDSIGMOID)
#undef ACT_GRAD_CASE
    default: memcpy(a, h, (size_t)n * sizeof(float));
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
        clas_blas_sgemm(false, true, t, H, c, 1, in, c, j->w1, c, 0, h, H);
        if (j->b1) {
            const float *restrict b = j->b1;
            for (int64_t r = 0; r < t; r++)
                for (int64_t i = 0; i < H; i++) h[r * H + i] += b[i];
        }
        act_block(j->act, h, a, t * H);
        float *o = j->out + r0 * c;
        if (j->b2)
            for (int64_t r = 0; r < t; r++) memcpy(o + r * c, j->b2, (size_t)c * sizeof(float));
        clas_blas_sgemm(false, true, t, c, H, 1, a, H, j->w2, H, j->b2 ? 1 : 0, o, c);
    }
}

void clas_norm_mlp_forward(int act, const float *x, int64_t rows, int64_t c, int64_t hidden, bool norm,
                           const float *norm_w, const float *norm_b, float eps, const float *w1, const float *b1,
                           const float *w2, const float *b2, float *h, float *mean, float *rstd, float *out) {
    const int64_t T = tile_rows(rows, c, hidden);
    nm_job j = {.x = x, .nw = norm_w, .nb = norm_b, .w1 = w1, .b1 = b1, .w2 = w2, .b2 = b2, .h = h, .mean = mean,
                .rstd = rstd, .out = out, .rows = rows, .c = c, .hidden = hidden, .tile = T, .act = act,
                .norm = norm, .eps = eps};
    clas_parallel_for((rows + T - 1) / T, 1, nm_fwd_chunk, &j);
}

static CLAS_MV void nm_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const nm_job *j = ctx;
    const int64_t c = j->c, H = j->hidden, T = j->tile;
    float *pP = j->wparts + (int64_t)tid * 2 * c * H, *pW1 = pP + c * H;
    double *vp = j->vparts + (int64_t)tid * (H + 3 * c);
    float *xn = clas_scratch(tid, (size_t)(T * (c + 2 * H) + H + 3 * c) * sizeof(float));
    float *a = xn + T * c, *dh = a + T * H, *restrict tv = dh + T * H;  // tv: this tile's vector sums [H + 3c]
    float *restrict tb1 = tv, *restrict tsg = tb1 + H, *restrict tnw = tsg + c, *restrict tnb = tnw + c;
    for (int64_t tb = begin; tb < end; tb++) {
        const int64_t r0 = tb * T, t = CLAS_MIN(T, j->rows - r0);
        const float *restrict g = j->dy + r0 * c, *restrict x = j->x + r0 * c;
        memset(tv, 0, (size_t)(H + 3 * c) * sizeof(float));
        clas_blas_sgemm(false, false, t, H, c, 1, g, c, j->w2, H, 0, dh, H);  // dA = dy·W2
        act_grad_block(j->act, j->h_in + r0 * H, a, dh, t * H);              // a = act(h), dH = dA ⊙ act′(h)
        for (int64_t r = 0; r < t; r++) {
            for (int64_t i = 0; i < H; i++) tb1[i] += dh[r * H + i];
            for (int64_t i = 0; i < c; i++) tsg[i] += g[r * c + i];
        }
        clas_blas_sgemm(true, false, c, H, t, 1, g, c, a, H, 1, pP, H);  // P += dyᵀ·a
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
        clas_blas_sgemm(true, false, H, c, t, 1, dh, H, in, c, 1, pW1, c);  // dW1 += dHᵀ·LN(x)
        float *dxn = j->norm ? xn : j->dx + r0 * c;                          // LN(x) is no longer needed
        clas_blas_sgemm(false, false, t, c, H, 1, dh, H, j->w1, c, 0, dxn, c);  // d LN(x) = dH·W1
        if (j->norm)
            for (int64_t r = 0; r < t; r++)
                clas_ln_row_backward(x + r * c, j->mean_in[r0 + r], j->rstd_in[r0 + r], j->nw, dxn + r * c,
                                     j->dx + (r0 + r) * c, c, j->nw ? tnw : NULL, j->nw ? tnb : NULL);
        for (int64_t i = 0; i < H + 3 * c; i++) vp[i] += tv[i];
    }
}

void clas_norm_mlp_backward(int act, const float *x, int64_t rows, int64_t c, int64_t hidden, bool norm,
                            const float *norm_w, const float *norm_b, const float *mean, const float *rstd,
                            const float *w1, const float *w2, const float *h, const float *dy, float *dx, float *p,
                            float *dw1, float *db1, float *sum_dy, float *dnorm_w, float *dnorm_b) {
    const int64_t T = tile_rows(rows, c, hidden), H = hidden;
    const int threads = clas_num_threads();
    nm_job j = {.x = x, .nw = norm_w, .nb = norm_b, .mean_in = mean, .rstd_in = rstd, .w1 = w1, .w2 = w2, .h_in = h,
                .dy = dy, .dx = dx, .rows = rows, .c = c, .hidden = H, .tile = T, .act = act, .norm = norm};
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
