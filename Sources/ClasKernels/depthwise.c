// Depthwise convolution over NHWC: channel vectors accumulate the k×k taps; weights are repacked tap-major.
#include "internal.h"
#include <stdlib.h>

typedef struct {
    const clas_conv_geom *g;
    const float *x, *wt, *bias, *dy;  // wt: [kh·kw][c]
    float *y, *dx;
    float *dw_partials;               // [threads][kh·kw + 1][c] (last row: bias)
} dw_job;

/// Channel block held in registers while the taps accumulate.
#define DW_CB 64

static CLAS_MV void dw_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const dw_job *j = ctx;
    const clas_conv_geom *g = j->g;
    int64_t C = g->c;
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        int64_t ih0 = oh * g->sh - g->pt;
        int64_t kh_lo = 0, kh_hi = g->kh;
        while (kh_lo < kh_hi && ih0 + kh_lo * g->dh < 0) kh_lo++;
        while (kh_hi > kh_lo && ih0 + (kh_hi - 1) * g->dh >= g->h) kh_hi--;
        const float *xn = j->x + n * g->h * g->w * C;
        for (int64_t ow = 0; ow < g->ow; ow++) {
            int64_t iw0 = ow * g->sw - g->pl;
            int64_t kw_lo = 0, kw_hi = g->kw;
            while (kw_lo < kw_hi && iw0 + kw_lo * g->dw < 0) kw_lo++;
            while (kw_hi > kw_lo && iw0 + (kw_hi - 1) * g->dw >= g->w) kw_hi--;
            float *restrict y = j->y + (r * g->ow + ow) * C;
            int64_t c0 = 0;
            for (; c0 + DW_CB <= C; c0 += DW_CB) {
                float acc[DW_CB];
                for (int i = 0; i < DW_CB; i++) acc[i] = j->bias ? j->bias[c0 + i] : 0.0f;
                for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                    const float *xr = xn + ((ih0 + kh * g->dh) * g->w) * C + c0;
                    const float *wr = j->wt + kh * g->kw * C + c0;
                    for (int64_t kw = kw_lo; kw < kw_hi; kw++) {
                        const float *restrict xp = xr + (iw0 + kw * g->dw) * C;
                        const float *restrict wp = wr + kw * C;
                        for (int i = 0; i < DW_CB; i++) acc[i] += xp[i] * wp[i];
                    }
                }
                for (int i = 0; i < DW_CB; i++) y[c0 + i] = acc[i];
            }
            if (c0 < C) {
                int64_t cb = C - c0;
                for (int64_t i = 0; i < cb; i++) y[c0 + i] = j->bias ? j->bias[c0 + i] : 0.0f;
                for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                    const float *xr = xn + ((ih0 + kh * g->dh) * g->w) * C + c0;
                    const float *wr = j->wt + kh * g->kw * C + c0;
                    for (int64_t kw = kw_lo; kw < kw_hi; kw++) {
                        const float *restrict xp = xr + (iw0 + kw * g->dw) * C;
                        const float *restrict wp = wr + kw * C;
                        float *restrict yp = y + c0;
                        for (int64_t i = 0; i < cb; i++) yp[i] += xp[i] * wp[i];
                    }
                }
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
