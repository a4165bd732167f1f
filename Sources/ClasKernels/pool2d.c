// Max and average pooling over NHWC windows.
#include "internal.h"
#include <float.h>
#include <stdlib.h>

typedef struct {
    const clas_conv_geom *g;
    const float *x;
    float *y;
    int32_t *argmax;
    const int32_t *argmax_in;
    bool include_pad;
} pool_job;

static int64_t window_count(const clas_conv_geom *g, int64_t oh, int64_t ow, bool include_pad) {
    int64_t ih0 = oh * g->sh - g->pt, iw0 = ow * g->sw - g->pl;
    if (include_pad) {
        // PyTorch counts padded positions but not positions past the padded border.
        int64_t h1 = CLAS_MIN(ih0 + g->kh, g->h + g->pt), w1 = CLAS_MIN(iw0 + g->kw, g->w + g->pl);
        return (h1 - ih0) * (w1 - iw0);
    }
    int64_t h0 = CLAS_MAX(ih0, 0), w0 = CLAS_MAX(iw0, 0);
    int64_t h1 = CLAS_MIN(ih0 + g->kh, g->h), w1 = CLAS_MIN(iw0 + g->kw, g->w);
    return CLAS_MAX(h1 - h0, 0) * CLAS_MAX(w1 - w0, 0);
}

static CLAS_MV void maxpool_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const pool_job *j = ctx;
    const clas_conv_geom *g = j->g;
    int64_t C = g->c;
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        for (int64_t ow = 0; ow < g->ow; ow++) {
            float *restrict y = j->y + (r * g->ow + ow) * C;
            int32_t *am = j->argmax ? j->argmax + (r * g->ow + ow) * C : NULL;
            for (int64_t i = 0; i < C; i++) y[i] = -FLT_MAX;
            if (am)
                for (int64_t i = 0; i < C; i++) am[i] = -1;
            for (int64_t kh = 0; kh < g->kh; kh++) {
                int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                if (ih < 0 || ih >= g->h) continue;
                for (int64_t kw = 0; kw < g->kw; kw++) {
                    int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                    if (iw < 0 || iw >= g->w) continue;
                    int64_t base = ((n * g->h + ih) * g->w + iw) * C;
                    const float *restrict x = j->x + base;
                    if (am) {
                        for (int64_t i = 0; i < C; i++)
                            if (x[i] > y[i]) {
                                y[i] = x[i];
                                am[i] = (int32_t)(base + i);
                            }
                    } else {
                        for (int64_t i = 0; i < C; i++) y[i] = x[i] > y[i] ? x[i] : y[i];
                    }
                }
            }
        }
    }
}

void clas_maxpool_forward(const clas_conv_geom *g, const float *x, float *y, int32_t *argmax) {
    pool_job j = {.g = g, .x = x, .y = y, .argmax = argmax};
    clas_parallel_for(g->n * g->oh, 2, maxpool_chunk, &j);
}

static void maxpool_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const pool_job *j = ctx;
    const clas_conv_geom *g = j->g;
    int64_t img_in = g->h * g->w * g->c, img_out = g->oh * g->ow * g->c;
    memset(j->y + begin * img_in, 0, (size_t)((end - begin) * img_in) * sizeof(float));
    for (int64_t k = begin * img_out; k < end * img_out; k++) {
        int32_t a = j->argmax_in[k];
        if (a >= 0) j->y[a] += j->x[k];
    }
}

void clas_maxpool_backward(const clas_conv_geom *g, const float *dy, const int32_t *argmax, float *dx) {
    pool_job j = {.g = g, .x = dy, .y = dx, .argmax_in = argmax};
    clas_parallel_for(g->n, 1, maxpool_bwd_chunk, &j);
}

static CLAS_MV void avgpool_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const pool_job *j = ctx;
    const clas_conv_geom *g = j->g;
    int64_t C = g->c;
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        for (int64_t ow = 0; ow < g->ow; ow++) {
            float *restrict y = j->y + (r * g->ow + ow) * C;
            for (int64_t i = 0; i < C; i++) y[i] = 0;
            for (int64_t kh = 0; kh < g->kh; kh++) {
                int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                if (ih < 0 || ih >= g->h) continue;
                for (int64_t kw = 0; kw < g->kw; kw++) {
                    int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                    if (iw < 0 || iw >= g->w) continue;
                    const float *restrict x = j->x + ((n * g->h + ih) * g->w + iw) * C;
                    for (int64_t i = 0; i < C; i++) y[i] += x[i];
                }
            }
            int64_t cnt = window_count(g, oh, ow, j->include_pad);
            float inv = cnt > 0 ? 1.0f / (float)cnt : 0.0f;
            for (int64_t i = 0; i < C; i++) y[i] *= inv;
        }
    }
}

void clas_avgpool_forward(const clas_conv_geom *g, const float *x, float *y, bool count_include_pad) {
    pool_job j = {.g = g, .x = x, .y = y, .include_pad = count_include_pad};
    clas_parallel_for(g->n * g->oh, 2, avgpool_chunk, &j);
}

static CLAS_MV void avgpool_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const pool_job *j = ctx;
    const clas_conv_geom *g = j->g;
    int64_t C = g->c, img = g->h * g->w * C;
    memset(j->y + begin * img, 0, (size_t)((end - begin) * img) * sizeof(float));
    for (int64_t n = begin; n < end; n++)
        for (int64_t oh = 0; oh < g->oh; oh++)
            for (int64_t ow = 0; ow < g->ow; ow++) {
                const float *restrict dy = j->x + ((n * g->oh + oh) * g->ow + ow) * C;
                int64_t cnt = window_count(g, oh, ow, j->include_pad);
                float inv = cnt > 0 ? 1.0f / (float)cnt : 0.0f;
                for (int64_t kh = 0; kh < g->kh; kh++) {
                    int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                    if (ih < 0 || ih >= g->h) continue;
                    for (int64_t kw = 0; kw < g->kw; kw++) {
                        int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                        if (iw < 0 || iw >= g->w) continue;
                        float *restrict dx = j->y + ((n * g->h + ih) * g->w + iw) * C;
                        for (int64_t i = 0; i < C; i++) dx[i] += dy[i] * inv;
                    }
                }
            }
}

void clas_avgpool_backward(const clas_conv_geom *g, const float *dy, float *dx, bool count_include_pad) {
    pool_job j = {.g = g, .x = dy, .y = dx, .include_pad = count_include_pad};
    clas_parallel_for(g->n, 1, avgpool_bwd_chunk, &j);
}

/// Pixels summed in float before a block's sum is added (in double) to the image's.
#define GAP_BLOCK 128

typedef struct {
    const float *x;
    float *y;
    int64_t pixels, c;
    float *blocks;  // split images: [n][blocks][c], each block's float sum (the units are (image, block) pairs)
} gap_job;

/// The float sum of pixels [p0, p1) of one image's channels, in address order.
static inline void gap_block(const float *x, int64_t C, int64_t p0, int64_t p1, float *restrict blk) {
    memcpy(blk, x + p0 * C, (size_t)C * sizeof(float));
    for (int64_t p = p0 + 1; p < p1; p++) {
        const float *restrict row = x + p * C;
        for (int64_t i = 0; i < C; i++) blk[i] += row[i];
    }
}

/// Units are whole images: each block of GAP_BLOCK pixels summed in float, the blocks in double, in order.
static CLAS_MV void gap_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const gap_job *j = ctx;
    const int64_t C = j->c;
    float *blk = clas_scratch(tid, (size_t)(C + 2) * (sizeof(float) + sizeof(double)));
    double *acc = (double *)(blk + (C + 1) / 2 * 2);
    for (int64_t n = begin; n < end; n++) {
        const float *x = j->x + n * j->pixels * C;
        for (int64_t i = 0; i < C; i++) acc[i] = 0;
        for (int64_t p0 = 0; p0 < j->pixels; p0 += GAP_BLOCK) {
            gap_block(x, C, p0, CLAS_MIN(j->pixels, p0 + GAP_BLOCK), blk);
            for (int64_t i = 0; i < C; i++) acc[i] += blk[i];
        }
        float *y = j->y + n * C;
        for (int64_t i = 0; i < C; i++) y[i] = (float)(acc[i] / (double)j->pixels);
    }
}

/// Units are (image, block) pairs: each block's float sum into `blocks` (the threads read disjoint pixel ranges).
static CLAS_MV void gap_blocks_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const gap_job *j = ctx;
    const int64_t C = j->c, per_image = (j->pixels + GAP_BLOCK - 1) / GAP_BLOCK;
    for (int64_t u = begin; u < end; u++) {
        const int64_t n = u / per_image, p0 = u % per_image * GAP_BLOCK;
        gap_block(j->x + n * j->pixels * C, C, p0, CLAS_MIN(j->pixels, p0 + GAP_BLOCK), j->blocks + u * C);
    }
}

void clas_global_avg_pool(const float *x, float *y, int64_t n, int64_t pixels, int64_t c) {
    // Inputs under 64K floats (7×7 squeeze-excite pools at batch 1) are summed on this thread: faster than a
    // hand-off. Larger ones with fewer images than threads split each image's pixels into blocks (each thread then
    // reads mostly the rows that it wrote in the layer before), whose sums are added in order as the whole-image
    // path adds them: the same operations in the same order, so the same result.
    const bool serial = n * pixels * c < (1 << 16);
    const int64_t per_image = (pixels + GAP_BLOCK - 1) / GAP_BLOCK;
    gap_job j = {.x = x, .y = y, .pixels = pixels, .c = c};
    if (serial || n >= clas_num_threads() || per_image < 2
        || !(j.blocks = malloc((size_t)(n * per_image * c) * sizeof(float)))) {
        clas_parallel_for(n, serial ? INT64_MAX : 1, gap_chunk, &j);
        return;
    }
    clas_parallel_for(n * per_image, 1, gap_blocks_chunk, &j);
    double *acc = malloc((size_t)c * sizeof(double));
    if (acc) {
        for (int64_t img = 0; img < n; img++) {
            for (int64_t i = 0; i < c; i++) acc[i] = 0;
            for (int64_t b = 0; b < per_image; b++) {
                const float *blk = j.blocks + (img * per_image + b) * c;
                for (int64_t i = 0; i < c; i++) acc[i] += blk[i];
            }
            for (int64_t i = 0; i < c; i++) y[img * c + i] = (float)(acc[i] / (double)pixels);
        }
    } else {
        clas_parallel_for(n, 1, gap_chunk, &j);
    }
    free(acc);
    free(j.blocks);
}
