// Direct convolution for inputs with few channels (a network's stem on RGB images), vectorised over output
// channels. im2col + GEMM is poor here: the column matrix has K = kh·kw·3 (27 for a 3×3 stem), so packing and
// copying cost more than the multiply-adds.
#include "internal.h"
#include <stdlib.h>

typedef struct {
    const clas_conv_geom *g;
    const float *x, *wt, *bias, *dy;
    float *y, *partials;
    int64_t cout;
} direct_job;

/// wt[(kh·kw + kw)·cin + ci][cout] from OHWI weights.
static float *transpose_weights(const float *w, int64_t cout, int64_t k) {
    float *wt = malloc((size_t)(cout * k) * sizeof(float));
    if (!wt) return NULL;
    for (int64_t o = 0; o < cout; o++)
        for (int64_t i = 0; i < k; i++) wt[i * cout + o] = w[o * k + i];
    return wt;
}

/// One chunk = a range of output rows (n·oh).
static CLAS_MV void direct_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const direct_job *j = ctx;
    const clas_conv_geom *g = j->g;
    const int64_t cout = j->cout, cin = g->c;
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        for (int64_t ow = 0; ow < g->ow; ow++) {
            float *restrict y = j->y + (r * g->ow + ow) * cout;
            memset(y, 0, (size_t)cout * sizeof(float));
            for (int64_t kh = 0; kh < g->kh; kh++) {
                int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                if (ih < 0 || ih >= g->h) continue;
                for (int64_t kw = 0; kw < g->kw; kw++) {
                    int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                    if (iw < 0 || iw >= g->w) continue;
                    const float *xp = j->x + ((n * g->h + ih) * g->w + iw) * cin;
                    const float *wp = j->wt + (kh * g->kw + kw) * cin * cout;
                    for (int64_t ci = 0; ci < cin; ci++) {
                        const float xv = xp[ci];
                        const float *restrict wr = wp + ci * cout;
                        for (int64_t co = 0; co < cout; co++) y[co] += xv * wr[co];
                    }
                }
            }
            // The bias last, as a GEMM with beta = 1 adds it: same rounding as the im2col path and other runtimes.
            if (j->bias)
                for (int64_t co = 0; co < cout; co++) y[co] += j->bias[co];
        }
    }
}

void clas_conv_direct_forward(const clas_conv_geom *g, const float *x, const float *w, const float *bias,
                              int64_t cout, float *y) {
    float *wt = transpose_weights(w, cout, g->kh * g->kw * g->c);
    if (!wt) return;
    direct_job j = {.g = g, .x = x, .wt = wt, .bias = bias, .y = y, .cout = cout};
    clas_parallel_for(g->n * g->oh, 4, direct_fwd_chunk, &j);
    free(wt);
}

/// One chunk = a range of output rows; Σ x·dy per (tap, ci, co) into this chunk's partial buffer [k][cout].
static CLAS_MV void direct_wgrad_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const direct_job *j = ctx;
    const clas_conv_geom *g = j->g;
    const int64_t cout = j->cout, cin = g->c;
    float *restrict dwt = j->partials + (int64_t)tid * g->kh * g->kw * cin * cout;
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        for (int64_t ow = 0; ow < g->ow; ow++) {
            const float *restrict dy = j->dy + (r * g->ow + ow) * cout;
            for (int64_t kh = 0; kh < g->kh; kh++) {
                int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                if (ih < 0 || ih >= g->h) continue;
                for (int64_t kw = 0; kw < g->kw; kw++) {
                    int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                    if (iw < 0 || iw >= g->w) continue;
                    const float *xp = j->x + ((n * g->h + ih) * g->w + iw) * cin;
                    float *dp = dwt + (kh * g->kw + kw) * cin * cout;
                    for (int64_t ci = 0; ci < cin; ci++) {
                        const float xv = xp[ci];
                        float *restrict d = dp + ci * cout;
                        for (int64_t co = 0; co < cout; co++) d[co] += xv * dy[co];
                    }
                }
            }
        }
    }
}

void clas_conv_direct_wgrad(const clas_conv_geom *g, const float *x, const float *dy, int64_t cout, float *dw) {
    int64_t k = g->kh * g->kw * g->c;
    int threads = clas_num_threads();
    float *partials = calloc((size_t)(threads * k * cout), sizeof(float));
    if (!partials) return;
    direct_job j = {.g = g, .x = x, .dy = dy, .partials = partials, .cout = cout};
    clas_parallel_for(g->n * g->oh, 4, direct_wgrad_chunk, &j);
    for (int t = 1; t < threads; t++) {
        const float *src = partials + (int64_t)t * k * cout;
        for (int64_t i = 0; i < k * cout; i++) partials[i] += src[i];
    }
    for (int64_t o = 0; o < cout; o++)
        for (int64_t i = 0; i < k; i++) dw[o * k + i] = partials[i * cout + o];
    free(partials);
}
