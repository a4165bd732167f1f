// Depthwise convolution over NHWC: channel vectors accumulate the k×k taps; weights are repacked tap-major.
#include "internal.h"
#include <stdlib.h>

typedef struct {
    const clas_conv_geom *g;
    const float *x, *wt, *bias, *dy;  // wt: [kh·kw][c]
    float *y, *dx;
    float *dw_partials;               // [threads][kh·kw + 1][c] (last row: bias)
} dw_job;

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
// Unaligned vector loads and stores as macros: vector-typed function arguments would change the ABI of the
// baseline clone.
#define ld16(p) ({ v16 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define st16(p, v) do { v16 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
#define ld8(p) ({ v8 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define st8(p, v) do { v8 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)

/// Valid tap range [lo, hi) for an output position whose first tap lands on input index `i0`.
static inline __attribute__((always_inline)) void tap_range(int64_t i0, int64_t k, int64_t d, int64_t size,
                                                            int64_t *lo, int64_t *hi) {
    int64_t a = 0, b = k;
    while (a < b && i0 + a * d < 0) a++;
    while (b > a && i0 + (b - 1) * d >= size) b--;
    *lo = a;
    *hi = b;
}

/// One output row: 16-channel blocks in registers, four output pixels at a time in the interior.
static CLAS_MV void dw_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const dw_job *j = ctx;
    const clas_conv_geom *g = j->g;
    const int64_t C = g->c, KW = g->kw, SW = g->sw, DW = g->dw, W = g->w;
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        int64_t ih0 = oh * g->sh - g->pt, kh_lo, kh_hi;
        tap_range(ih0, g->kh, g->dh, g->h, &kh_lo, &kh_hi);
        const float *xn = j->x + n * g->h * W * C;
        float *yrow = j->y + r * g->ow * C;
        int64_t c0 = 0;
        for (; c0 + 16 <= C; c0 += 16) {
            v16 bias = j->bias ? ld16(j->bias + c0) : (v16){0};
            int64_t ow = 0;
            while (ow < g->ow) {
                int64_t iw0 = ow * SW - g->pl;
                if (ow + 4 <= g->ow && iw0 >= 0 && (ow + 3) * SW - g->pl + (KW - 1) * DW < W) {
                    v16 a0 = bias, a1 = bias, a2 = bias, a3 = bias;
                    for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                        const float *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
                        const float *wr = j->wt + kh * KW * C + c0;
                        for (int64_t kw = 0; kw < KW; kw++) {
                            v16 wv = ld16(wr + kw * C);
                            const float *xp = xr + (iw0 + kw * DW) * C;
                            a0 += ld16(xp) * wv;
                            a1 += ld16(xp + SW * C) * wv;
                            a2 += ld16(xp + 2 * SW * C) * wv;
                            a3 += ld16(xp + 3 * SW * C) * wv;
                        }
                    }
                    st16(yrow + ow * C + c0, a0);
                    st16(yrow + (ow + 1) * C + c0, a1);
                    st16(yrow + (ow + 2) * C + c0, a2);
                    st16(yrow + (ow + 3) * C + c0, a3);
                    ow += 4;
                } else {
                    int64_t kw_lo, kw_hi;
                    tap_range(iw0, KW, DW, W, &kw_lo, &kw_hi);
                    v16 a = bias;
                    for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                        const float *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
                        const float *wr = j->wt + kh * KW * C + c0;
                        for (int64_t kw = kw_lo; kw < kw_hi; kw++) a += ld16(xr + (iw0 + kw * DW) * C) * ld16(wr + kw * C);
                    }
                    st16(yrow + ow * C + c0, a);
                    ow++;
                }
            }
        }
        for (; c0 + 8 <= C; c0 += 8) {
            v8 bias = j->bias ? ld8(j->bias + c0) : (v8){0};
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t iw0 = ow * SW - g->pl, kw_lo, kw_hi;
                tap_range(iw0, KW, DW, W, &kw_lo, &kw_hi);
                v8 a = bias;
                for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                    const float *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
                    const float *wr = j->wt + kh * KW * C + c0;
                    for (int64_t kw = kw_lo; kw < kw_hi; kw++) a += ld8(xr + (iw0 + kw * DW) * C) * ld8(wr + kw * C);
                }
                st8(yrow + ow * C + c0, a);
            }
        }
        for (; c0 < C; c0++) {
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t iw0 = ow * SW - g->pl, kw_lo, kw_hi;
                tap_range(iw0, KW, DW, W, &kw_lo, &kw_hi);
                float a = j->bias ? j->bias[c0] : 0.0f;
                for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                    const float *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
                    const float *wr = j->wt + kh * KW * C + c0;
                    for (int64_t kw = kw_lo; kw < kw_hi; kw++) a += xr[(iw0 + kw * DW) * C] * wr[kw * C];
                }
                yrow[ow * C + c0] = a;
            }
        }
    }
}

/// [c][taps] → [taps][c].
static float *repack_weights(const float *w, int64_t c, int64_t taps) {
    float *wt = malloc((size_t)(c * taps) * sizeof(float));
    if (!wt) return NULL;
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t t = 0; t < taps; t++) wt[t * c + ch] = w[ch * taps + t];
    return wt;
}

void clas_dwconv_forward(const clas_conv_geom *g, const float *x, const float *w, const float *bias, float *y) {
    float *wt = repack_weights(w, g->c, g->kh * g->kw);
    if (!wt) return;
    dw_job j = {.g = g, .x = x, .wt = wt, .bias = bias, .y = y};
    int64_t rows = g->n * g->oh;
    int64_t work_per_row = g->ow * g->c * g->kh * g->kw;
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(work_per_row, 1)), dw_fwd_chunk, &j);
    free(wt);
}

/// One chunk = a range of images: dx is scattered (zeroed first); dw and dbias accumulate per thread.
static CLAS_MV void dw_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const dw_job *j = ctx;
    const clas_conv_geom *g = j->g;
    int64_t C = g->c, taps = g->kh * g->kw;
    float *dwp = j->dw_partials ? j->dw_partials + (int64_t)tid * (taps + 1) * C : NULL;
    float *db = dwp ? dwp + taps * C : NULL;
    int64_t img = g->h * g->w * C;
    if (j->dx) memset(j->dx + begin * img, 0, (size_t)((end - begin) * img) * sizeof(float));
    for (int64_t n = begin; n < end; n++) {
        const float *xn = j->x + n * img;
        float *dxn = j->dx ? j->dx + n * img : NULL;
        for (int64_t oh = 0; oh < g->oh; oh++) {
            int64_t ih0 = oh * g->sh - g->pt;
            int64_t kh_lo = 0, kh_hi = g->kh;
            while (kh_lo < kh_hi && ih0 + kh_lo * g->dh < 0) kh_lo++;
            while (kh_hi > kh_lo && ih0 + (kh_hi - 1) * g->dh >= g->h) kh_hi--;
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t iw0 = ow * g->sw - g->pl;
                int64_t kw_lo = 0, kw_hi = g->kw;
                while (kw_lo < kw_hi && iw0 + kw_lo * g->dw < 0) kw_lo++;
                while (kw_hi > kw_lo && iw0 + (kw_hi - 1) * g->dw >= g->w) kw_hi--;
                const float *restrict gy = j->dy + ((n * g->oh + oh) * g->ow + ow) * C;
                if (db)
                    for (int64_t i = 0; i < C; i++) db[i] += gy[i];
                for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                    int64_t ih = ih0 + kh * g->dh;
                    for (int64_t kw = kw_lo; kw < kw_hi; kw++) {
                        int64_t iw = iw0 + kw * g->dw, t = kh * g->kw + kw;
                        int64_t off = (ih * g->w + iw) * C;
                        if (dxn) {
                            float *restrict d = dxn + off;
                            const float *restrict wp = j->wt + t * C;
                            for (int64_t i = 0; i < C; i++) d[i] += gy[i] * wp[i];
                        }
                        if (dwp) {
                            float *restrict dwt = dwp + t * C;
                            const float *restrict xp = xn + off;
                            for (int64_t i = 0; i < C; i++) dwt[i] += gy[i] * xp[i];
                        }
                    }
                }
            }
        }
    }
}

void clas_dwconv_backward(const clas_conv_geom *g, const float *x, const float *w, const float *dy, float *dx,
                          float *dw, float *dbias) {
    int64_t C = g->c, taps = g->kh * g->kw;
    int threads = clas_num_threads();
    float *wt = repack_weights(w, C, taps);
    float *partials = (dw || dbias) ? calloc((size_t)(threads * (taps + 1) * C), sizeof(float)) : NULL;
    if (!wt || ((dw || dbias) && !partials)) {
        free(wt);
        free(partials);
        return;
    }
    dw_job j = {.g = g, .x = x, .wt = wt, .dy = dy, .dx = dx, .dw_partials = partials};
    clas_parallel_for(g->n, 1, dw_bwd_chunk, &j);
    if (partials) {
        for (int t = 1; t < threads; t++) {
            float *src = partials + (int64_t)t * (taps + 1) * C;
            for (int64_t i = 0; i < (taps + 1) * C; i++) partials[i] += src[i];
        }
        if (dw)
            for (int64_t ch = 0; ch < C; ch++)
                for (int64_t t = 0; t < taps; t++) dw[ch * taps + t] = partials[t * C + ch];
        if (dbias) memcpy(dbias, partials + taps * C, (size_t)C * sizeof(float));
    }
    free(wt);
    free(partials);
}
