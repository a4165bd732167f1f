// Integer convolutions over uint8 NHWC activations: dense k×k as im2col row blocks fused with the integer GEMM
// (each tile builds its own uint8 rows in thread scratch, so no whole-image im2col buffer exists), and depthwise
// with int32 channel vectors.
#include "ClasInt8.h"
#include "internal.h"

// From int8_gemm.c.
void clas_q8_block(const uint8_t *a, int64_t lda, int64_t rows, const int8_t *packed, int64_t k, int64_t j0,
                   int64_t j1, const clas_q8_epilogue *e, float *yf, uint8_t *yq, int64_t ldc);
void clas_q8_tiling(int64_t m, int64_t n, int64_t *rb, int64_t *cb);
void clas_q8_epilogue_row(const int32_t *acc, int64_t n, const clas_q8_epilogue *e, float *yf, uint8_t *yq);

/// im2col rows r0 ..< r0 + rows, laid out (kh, kw, c) like OHWI weights; outside the image reads as `pad` (the
/// zero point, so it contributes nothing); bytes k ..< kp are zero.
static void im2col_u8(const uint8_t *x, const clas_q8_conv_geom *g, int64_t r0, int64_t rows, uint8_t *a,
                      int64_t kp, uint8_t pad) {
    const int64_t C = g->c, k = g->kh * g->kw * C;
    for (int64_t i = 0; i < rows; i++) {
        int64_t r = r0 + i, ow = r % g->ow, oh = (r / g->ow) % g->oh, n = r / (g->ow * g->oh);
        uint8_t *dst = a + i * kp;
        for (int64_t kh = 0; kh < g->kh; kh++) {
            int64_t ih = oh * g->sh - g->pt + kh * g->dh;
            for (int64_t kw = 0; kw < g->kw; kw++, dst += C) {
                int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) memset(dst, pad, (size_t)C);
                else memcpy(dst, x + ((n * g->h + ih) * g->w + iw) * C, (size_t)C);
            }
        }
        memset(dst, 0, (size_t)(kp - k));
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
    uint8_t *a = clas_scratch(tid, (size_t)(j->rb * j->kp));
    int64_t built = -1;
    for (int64_t t = begin; t < end; t++) {
        int64_t r0 = (t / j->col_blocks) * j->rb, c0 = (t % j->col_blocks) * j->cb;
        int64_t rows = CLAS_MIN(j->rb, j->m - r0);
        if (built != r0) {
            im2col_u8(j->x, j->g, r0, rows, a, j->kp, (uint8_t)j->e->a_zero);
            built = r0;
        }
        clas_q8_block(a, j->kp, rows, j->packed, j->k, c0, CLAS_MIN(j->cout, c0 + j->cb), j->e,
                      j->yf ? j->yf + r0 * j->cout : NULL, j->yq ? j->yq + r0 * j->cout : NULL, j->cout);
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

// MARK: depthwise

typedef struct {
    const uint8_t *x;
    const clas_q8_conv_geom *g;
    const int8_t *wt;
    clas_q8_epilogue e;
    float *yf;
    uint8_t *yq;
} dw_job;

/// Output rows (n, oh) begin ..< end: per pixel, Σ over the taps inside the image of (x − zero point) · w.
static CLAS_MV void dw_rows(void *ctx, int64_t begin, int64_t end, int tid) {
    const dw_job *j = ctx;
    const clas_q8_conv_geom *g = j->g;
    const int64_t C = g->c;
    const int32_t zx = j->e.a_zero;
    int32_t *acc = clas_scratch(tid, sizeof(int32_t) * (size_t)C);
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        for (int64_t ow = 0; ow < g->ow; ow++) {
            for (int64_t c = 0; c < C; c++) acc[c] = 0;
            for (int64_t kh = 0; kh < g->kh; kh++) {
                int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                if (ih < 0 || ih >= g->h) continue;
                for (int64_t kw = 0; kw < g->kw; kw++) {
                    int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                    if (iw < 0 || iw >= g->w) continue;
                    const uint8_t *xp = j->x + ((n * g->h + ih) * g->w + iw) * C;
                    const int8_t *wp = j->wt + (kh * g->kw + kw) * C;
                    for (int64_t c = 0; c < C; c++) acc[c] += ((int32_t)xp[c] - zx) * (int32_t)wp[c];
                }
            }
            int64_t o = (r * g->ow + ow) * C;
            clas_q8_epilogue_row(acc, C, &j->e, j->yf ? j->yf + o : NULL, j->yq ? j->yq + o : NULL);
        }
    }
}

void clas_q8_depthwise(const uint8_t *x, const clas_q8_conv_geom *g, const int8_t *wt, const clas_q8_epilogue *e,
                       float *yf, uint8_t *yq) {
    dw_job j = {.x = x, .g = g, .wt = wt, .e = *e, .yf = yf, .yq = yq};
    j.e.rowsum = NULL;
    clas_parallel_for(g->n * g->oh, 2, dw_rows, &j);
}
