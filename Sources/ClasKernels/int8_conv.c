// Integer dense k×k convolution over uint8 NHWC activations: im2col row blocks fused with the integer GEMM (each
// tile builds its own uint8 rows in thread scratch, so no whole-image im2col buffer exists). Depthwise: int8_depthwise.c.
#include "ClasInt8.h"
#include "internal.h"
#include "int8_internal.h"
#include <stdlib.h>

/// im2col rows r0 ..< r0 + rows, laid out (kh, kw, c) like OHWI weights; outside the image reads as `pad` (the
/// zero point, so it contributes nothing); bytes k ..< kp (kp = k rounded up to 4) are zero. A kernel row inside the image (dilation 1) is
/// kw·c contiguous input bytes, copied at once: a 16-byte copy when it is no longer (a 3-channel stem's 9 bytes; the
/// bytes past it are overwritten by the next piece, the row's padding or the next row, and `a` has 16 bytes of
/// slack), else one memcpy.
static void im2col_u8(const uint8_t *x, const clas_q8_conv_geom *g, int64_t r0, int64_t rows, uint8_t *a,
                      int64_t kp, uint8_t pad) {
    const int64_t C = g->c, span = g->kw * C;
    const uint8_t *x_end = x + g->n * g->h * g->w * C;
    // Output position of row r0, advanced row by row (no divisions per row).
    int64_t ow = r0 % g->ow, oh = (r0 / g->ow) % g->oh, n = r0 / (g->ow * g->oh);
    for (int64_t i = 0; i < rows; i++, ow++) {
        if (ow == g->ow) {
            ow = 0;
            if (++oh == g->oh) oh = 0, n++;
        }
        int64_t iw0 = ow * g->sw - g->pl;
        const bool row_inside = g->dw == 1 && iw0 >= 0 && iw0 + g->kw <= g->w;
        uint8_t *dst = a + i * kp;
        for (int64_t kh = 0; kh < g->kh; kh++) {
            int64_t ih = oh * g->sh - g->pt + kh * g->dh;
            const uint8_t *src = x + ((n * g->h + ih) * g->w + iw0) * C;  // read only when the row is inside
            if (ih < 0 || ih >= g->h) {
                memset(dst, pad, (size_t)span);
            } else if (row_inside && span <= 16 && src + 16 <= x_end) {
                memcpy(dst, src, 16);
            } else if (row_inside) {
                memcpy(dst, src, (size_t)span);
            } else {
                for (int64_t kw = 0; kw < g->kw; kw++) {
                    int64_t iw = iw0 + kw * g->dw;
                    if (iw < 0 || iw >= g->w) memset(dst + kw * C, pad, (size_t)C);
                    else memcpy(dst + kw * C, x + ((n * g->h + ih) * g->w + iw) * C, (size_t)C);
                }
            }
            dst += span;
        }
        memset(dst, 0, 4);  // bytes k ..< kp (at most 3); those past kp are the next row's, rewritten, or slack
    }
}

typedef struct {
    const uint8_t *x;
    const clas_q8_conv_geom *g;
    const int8_t *packed;
    int64_t cout, k, kp, m, rb, cb, col_blocks;
    const clas_q8_epilogue *e;
    float *yf;
    uint8_t *yq;
} conv_job;

static void conv_tiles(void *ctx, int64_t begin, int64_t end, int tid) {
    const conv_job *j = ctx;
    uint8_t *a = clas_scratch(tid, (size_t)(j->rb * j->kp + 16));
    int64_t built = -1;
    for (int64_t t = begin; t < end; t++) {
        int64_t r0 = (t / j->col_blocks) * j->rb, c0 = (t % j->col_blocks) * j->cb;
        int64_t rows = CLAS_MIN(j->rb, j->m - r0);
        if (built != r0) {
            im2col_u8(j->x, j->g, r0, rows, a, j->kp, (uint8_t)j->e->a_zero);
            built = r0;
        }
        clas_q8_block(a, j->kp, rows, j->packed, j->k, c0, CLAS_MIN(j->cout, c0 + j->cb), j->e,
                      j->yf ? j->yf + r0 * j->cout : NULL, j->yq ? j->yq + r0 * j->cout : NULL,
                      j->e->residual ? j->e->residual + r0 * j->cout : NULL, j->cout);
    }
}

void clas_q8_conv(const uint8_t *x, const clas_q8_conv_geom *g, const int8_t *packed, int64_t cout,
                  const clas_q8_epilogue *e, float *yf, uint8_t *yq) {
    conv_job j = {.x = x, .g = g, .packed = packed, .cout = cout, .e = e, .yf = yf, .yq = yq};
    j.k = g->kh * g->kw * g->c;
    j.kp = (j.k + 3) / 4 * 4;
    j.m = g->n * g->oh * g->ow;
    clas_q8_tiling(j.m, cout, &j.rb, &j.cb);
    j.col_blocks = (cout + j.cb - 1) / j.cb;
    clas_parallel_for(((j.m + j.rb - 1) / j.rb) * j.col_blocks, 2, conv_tiles, &j);
}
