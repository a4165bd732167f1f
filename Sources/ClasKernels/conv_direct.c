// Direct convolution for inputs with few channels (a network's stem on RGB images), vectorised over output
// channels. im2col + GEMM is poor here: the column matrix has K = kh·kw·3 (27 for a 3×3 stem), so packing and
// copying cost more than the multiply-adds.
#include "act16.h"
#include <stdlib.h>

typedef struct {
    const clas_conv_geom *g;
    const float *x, *wt, *bias;
    float *y;
    int64_t cout;
    int act;  // activation applied as values are stored, or to each finished row (inference)
} direct_job;

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

/// Output pixels computed together: independent accumulators hide the FMA latency. With AVX-512, 4 (12
/// accumulators at 48 channels) beat 6 and 8 on Zen 4 for the 3×3 RGB stems (48, 32, 16 channels) and ResNet's 7×7
/// (64); on AVX2, where a 16-float vector is two registers, 6 (12 accumulators).
#define DIRECT_PIXELS_AVX512 4
#define DIRECT_PIXELS_AVX2 6
/// Floats of the zero-padded input window (rows · columns · channels) a border block copies before it runs as an
/// interior one; a larger window is read with a bounds check per value.
#define DIRECT_PATCH 1024

/// y[pixels ow0 ..< ow0 + np of row (n, oh)][co0 ..< co0 + 16·CB] for padded weights wt[k][coutp] (np ≤ P):
/// CB vectors of output channels share each input broadcast; the last vector may be partial (`width` channels in
/// it). Always P accumulators per vector (a constant count keeps them in registers): blocks read zeros for the
/// padding and for pixels past `np`. The input is the image, or with `patch` a copy of the block's window
/// (`patch_cols` columns per kernel row, zeros outside the image). KS > 0 and CI > 0 make a KS×KS kernel (dilation
/// 1) over CI input channels compile-time constants, so the tap loops unroll (3×3 RGB stems); 0: from the geometry.
static inline __attribute__((always_inline)) void direct_block_at(const direct_job *j, int64_t n, int64_t oh,
                                                                  int64_t ow0, int np, const int P,
                                                                  const bool interior, const float *patch,
                                                                  int64_t patch_cols, int64_t co0, const int CB,
                                                                  int width, int64_t coutp, float *yrow,
                                                                  const int KS, const int CI) {
    const clas_conv_geom *g = j->g;
    const int64_t cin = CI ? CI : g->c, sw = g->sw, khs = KS ? KS : g->kh, kws = KS ? KS : g->kw;
    const int64_t dh = KS ? 1 : g->dh, dw = KS ? 1 : g->dw;
    v16 acc[DIRECT_PIXELS_AVX2][3];
    for (int p = 0; p < P; p++)
        for (int b = 0; b < CB; b++) acc[p][b] = (v16){0};
    for (int64_t kh = 0; kh < khs; kh++) {
        int64_t ih = oh * g->sh - g->pt + kh * dh;
        if (ih < 0 || ih >= g->h) continue;
        const float *xrow = patch ? patch + kh * patch_cols * cin : j->x + (n * g->h + ih) * g->w * cin;
        for (int64_t kw = 0; kw < kws; kw++) {
            const float *wp = j->wt + (kh * kws + kw) * cin * coutp + co0;
            int64_t iw0 = (patch ? 0 : ow0 * sw - g->pl) + kw * dw;
            for (int64_t ci = 0; ci < cin; ci++) {
                v16 w[3];
                for (int b = 0; b < CB; b++) w[b] = *(const v16u *)(wp + ci * coutp + 16 * b);
                const float *xp = xrow + iw0 * cin + ci;
                for (int p = 0; p < P; p++) {
                    float xv;
                    if (interior) xv = xp[p * sw * cin];
                    else {
                        int64_t iw = iw0 + p * sw;
                        xv = p < np && iw >= 0 && iw < g->w ? xrow[iw * cin + ci] : 0.0f;
                    }
                    for (int b = 0; b < CB; b++) acc[p][b] += w[b] * xv;
                }
            }
        }
    }
    // The bias last, as a GEMM with beta = 1 adds it: same rounding as the im2col path and other runtimes. Constant
    // loop bounds with a guard on the stores keep the accumulators in registers.
    for (int b = 0; b < CB; b++) {
        int wb = b == CB - 1 ? width : 16;
        v16 bv = {0};
        if (j->bias && wb == 16) bv = *(const v16u *)(j->bias + co0 + 16 * b);
        else if (j->bias) memcpy(&bv, j->bias + co0 + 16 * b, (size_t)wb * sizeof(float));
        float *y = yrow + ow0 * j->cout + co0 + 16 * b;
        const bool act16 = clas_act16_supported(j->act);
        for (int p = 0; p < P; p++) {
            v16 r = acc[p][b];
            if (j->bias) r += bv;
            if (act16) r = clas_act16(j->act, r);
            if (p < np) {
                if (wb == 16) *(v16u *)(y + p * j->cout) = r;
                else memcpy(y + p * j->cout, &r, (size_t)wb * sizeof(float));
            }
        }
    }
}

/// One block of P pixels. A block whose window lies inside the image reads it in place; one at a border (or the
/// short last block) copies its window with zero padding and then runs the same interior code, instead of a
/// bounds check per value.
static inline __attribute__((always_inline)) void direct_block(const direct_job *j, int64_t n, int64_t oh,
                                                               int64_t ow0, int np, const int P, int64_t co0,
                                                               const int CB, int width, int64_t coutp, float *yrow,
                                                               const int KS, const int CI) {
    const clas_conv_geom *g = j->g;
    const int64_t cin = CI ? CI : g->c, kh = KS ? KS : g->kh, kw = KS ? KS : g->kw, dw = KS ? 1 : g->dw;
    const int64_t first = ow0 * g->sw - g->pl, cols = (P - 1) * g->sw + (kw - 1) * dw + 1;
    if (np == P && first >= 0 && first + cols <= g->w) {
        direct_block_at(j, n, oh, ow0, np, P, true, NULL, 0, co0, CB, width, coutp, yrow, KS, CI);
        return;
    }
    if (kh * cols * cin > DIRECT_PATCH) {
        direct_block_at(j, n, oh, ow0, np, P, false, NULL, 0, co0, CB, width, coutp, yrow, KS, CI);
        return;
    }
    float patch[DIRECT_PATCH];
    for (int64_t r = 0; r < kh; r++) {
        const int64_t ih = oh * g->sh - g->pt + r * (KS ? 1 : g->dh);
        if (ih < 0 || ih >= g->h) continue;  // rows outside the image are skipped, not read
        const float *src = j->x + (n * g->h + ih) * g->w * cin;
        for (int64_t c = 0; c < cols; c++) {
            const int64_t iw = first + c;
            float *dst = patch + (r * cols + c) * cin;
            if (iw >= 0 && iw < g->w) memcpy(dst, src + iw * cin, (size_t)cin * sizeof(float));
            else memset(dst, 0, (size_t)cin * sizeof(float));
        }
    }
    direct_block_at(j, n, oh, ow0, np, P, true, patch, cols, co0, CB, width, coutp, yrow, KS, CI);
}

/// The blocks of one output row for channels [co0, co0 + 16·CB).
static inline __attribute__((always_inline)) void direct_row(const direct_job *j, int64_t n, int64_t oh,
                                                             int64_t co0, const int P, const int CB, int width,
                                                             int64_t coutp, float *yrow, const int KS, const int CI) {
    for (int64_t ow0 = 0; ow0 < j->g->ow; ow0 += P) {
        int np = (int)CLAS_MIN(P, j->g->ow - ow0);
        direct_block(j, n, oh, ow0, np, P, co0, CB, width, coutp, yrow, KS, CI);
    }
}

/// One chunk = a range of output rows (n·oh). With AVX-512 three output-channel vectors (12 accumulators) share
/// each broadcast input; otherwise one (the 16-float vectors are pairs of registers there).
static CLAS_MV void direct_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const direct_job *j = ctx;
    const clas_conv_geom *g = j->g;
    const int64_t cout = j->cout, coutp = (cout + 15) / 16 * 16;
    const int wide = clas_mv_avx512() ? 3 : 1;
    const bool rgb3x3 = g->kh == 3 && g->kw == 3 && g->dh == 1 && g->dw == 1 && g->c == 3;
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        float *yrow = j->y + r * g->ow * cout;
        for (int64_t co0 = 0; co0 < cout;) {
            int64_t vectors = (cout - co0 + 15) / 16;
            int cb = (int)CLAS_MIN(vectors == 4 && wide > 1 ? 2 : wide, vectors);
            int width = (int)CLAS_MIN(16, cout - co0 - 16 * (cb - 1));
            const int P512 = DIRECT_PIXELS_AVX512, P2 = DIRECT_PIXELS_AVX2;
            if (rgb3x3 && cb == 3) direct_row(j, n, oh, co0, P512, 3, width, coutp, yrow, 3, 3);
            else if (cb == 3) direct_row(j, n, oh, co0, P512, 3, width, coutp, yrow, 0, 0);
            else if (cb == 2) direct_row(j, n, oh, co0, P512, 2, width, coutp, yrow, 0, 0);
            else if (wide == 1 && rgb3x3) direct_row(j, n, oh, co0, P2, 1, width, coutp, yrow, 3, 3);
            else if (wide == 1) direct_row(j, n, oh, co0, P2, 1, width, coutp, yrow, 0, 0);
            else if (rgb3x3) direct_row(j, n, oh, co0, P512, 1, width, coutp, yrow, 3, 3);
            else direct_row(j, n, oh, co0, P512, 1, width, coutp, yrow, 0, 0);
            co0 += 16 * cb;
        }
        if (!clas_act16_supported(j->act)) clas_epilogue_row(j->act, yrow, NULL, NULL, g->ow * cout);
    }
}

int64_t clas_conv_direct_packed_size(int64_t cout, int64_t k) { return k * ((cout + 15) / 16 * 16); }

void clas_conv_direct_pack(const float *w, int64_t cout, int64_t k, float *packed) {
    int64_t coutp = (cout + 15) / 16 * 16;
    memset(packed, 0, (size_t)(k * coutp) * sizeof(float));
    for (int64_t o = 0; o < cout; o++)
        for (int64_t i = 0; i < k; i++) packed[i * coutp + o] = w[o * k + i];
}

void clas_conv_direct_forward_packed(const clas_conv_geom *g, const float *x, const float *packed, const float *bias,
                                     int64_t cout, int act, float *y) {
    direct_job j = {.g = g, .x = x, .wt = packed, .bias = bias, .y = y, .cout = cout, .act = act};
    clas_parallel_for(g->n * g->oh, 4, direct_fwd_chunk, &j);
}

void clas_conv_direct_forward(const clas_conv_geom *g, const float *x, const float *w, const float *bias,
                              int64_t cout, float *y) {
    // wt[(kh·kw + kw)·cin + ci][coutp]: output channels innermost, padded to whole vectors with zeros.
    int64_t k = g->kh * g->kw * g->c, coutp = (cout + 15) / 16 * 16;
    float *wt = calloc((size_t)(k * coutp), sizeof(float));
    if (!wt) return;
    for (int64_t o = 0; o < cout; o++)
        for (int64_t i = 0; i < k; i++) wt[i * coutp + o] = w[o * k + i];
    direct_job j = {.g = g, .x = x, .wt = wt, .bias = bias, .y = y, .cout = cout};
    clas_parallel_for(g->n * g->oh, 4, direct_fwd_chunk, &j);
    free(wt);
}
