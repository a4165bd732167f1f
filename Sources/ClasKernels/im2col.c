// im2col / col2im over NHWC for a range of output rows: a row per output pixel holding its kh·kw taps of a channel
// group (conv_gemm.c builds them block by block).
#include "internal.h"

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

CLAS_MV void clas_col2im_rows(const clas_conv_geom *g, const float *col, int64_t c0, int64_t cg, int64_t begin,
                              int64_t end, float *dx) {
    const int64_t row_len = g->kh * g->kw * cg;
    for (int64_t r = begin; r < end; r++) {
        const int64_t n = r / g->oh, oh = r % g->oh;
        for (int64_t ow = 0; ow < g->ow; ow++) {
            const float *restrict src = col + ((r - begin) * g->ow + ow) * row_len;
            for (int64_t kh = 0; kh < g->kh; kh++) {
                int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                for (int64_t kw = 0; kw < g->kw; kw++, src += cg) {
                    int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                    if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) continue;
                    float *restrict d = dx + ((n * g->h + ih) * g->w + iw) * g->c + c0;
                    for (int64_t i = 0; i < cg; i++) d[i] += src[i];
                }
            }
        }
    }
}
