// im2col / col2im over NHWC: a row per output pixel holding its kh·kw taps of a channel group.
#include "internal.h"

typedef struct {
    const clas_conv_geom *g;
    const float *x;
    float *col;
    int64_t c0, cg;
} col_job;

void clas_im2col_rows(const clas_conv_geom *g, const float *x, int64_t c0, int64_t cg, int64_t begin, int64_t end,
                      float *col) {
    const int64_t row_len = g->kh * g->kw * cg;
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        for (int64_t ow = 0; ow < g->ow; ow++) {
            float *dst = col + ((r - begin) * g->ow + ow) * row_len;
            for (int64_t kh = 0; kh < g->kh; kh++) {
                int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                for (int64_t kw = 0; kw < g->kw; kw++, dst += cg) {
                    int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                    if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) {
                        memset(dst, 0, (size_t)cg * sizeof(float));
                    } else {
                        memcpy(dst, x + ((n * g->h + ih) * g->w + iw) * g->c + c0, (size_t)cg * sizeof(float));
                    }
                }
            }
        }
    }
}

/// One chunk = a range of output rows (n·oh).
static void im2col_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const col_job *j = ctx;
    clas_im2col_rows(j->g, j->x, j->c0, j->cg, begin, end, j->col + begin * j->g->ow * j->g->kh * j->g->kw * j->cg);
}

void clas_im2col(const clas_conv_geom *g, const float *x, int64_t c0, int64_t cg, float *col) {
    col_job j = {g, x, col, c0, cg};
    clas_parallel_for(g->n * g->oh, 4, im2col_chunk, &j);
}

/// One chunk = a range of images (scatters overlap within an image, never across images).
static CLAS_MV void col2im_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const col_job *j = ctx;
    const clas_conv_geom *g = j->g;
    int64_t cg = j->cg, row_len = g->kh * g->kw * cg;
    float *dx = (float *)j->x;
    for (int64_t n = begin; n < end; n++) {
        for (int64_t oh = 0; oh < g->oh; oh++) {
            for (int64_t ow = 0; ow < g->ow; ow++) {
                const float *restrict src = j->col + ((n * g->oh + oh) * g->ow + ow) * row_len;
                for (int64_t kh = 0; kh < g->kh; kh++) {
                    int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                    for (int64_t kw = 0; kw < g->kw; kw++, src += cg) {
                        int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                        if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) continue;
                        float *restrict d = dx + ((n * g->h + ih) * g->w + iw) * g->c + j->c0;
                        for (int64_t i = 0; i < cg; i++) d[i] += src[i];
                    }
                }
            }
        }
    }
}

void clas_col2im(const clas_conv_geom *g, const float *col, int64_t c0, int64_t cg, float *dx) {
    col_job j = {g, dx, (float *)col, c0, cg};
    j.col = (float *)col;
    clas_parallel_for(g->n, 1, col2im_chunk, &j);
}
