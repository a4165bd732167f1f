// Dense convolution (any kernel, stride, dilation and groups) as im2col + GEMM in blocks of output pixels: each thread
// builds the im2col rows of about 1024 output pixels in its scratch and multiplies them while they are in cache.
//
// The whole im2col matrix (231 MB for ResNet's 3×3 convolutions at 56×56, batch 32) went through memory twice per
// product, and OpenBLAS runs slower on such a tall matrix with few columns: 66 against 86 GFLOP/s on one Zen 2 core
// for 64 output channels (M = 50176 against 4096 rows). ResNet18's first-stage convolution at batch 32: 67 → 46 ms
// forward on two cores. Every product is a single-threaded BLAS call; the weight gradient sums into one partial per
// thread, added in thread order (deterministic for a thread count).
#include "internal.h"
#include <stdlib.h>

/// Output pixels per block (whole output rows, at least one).
#define BLOCK_PIXELS 1024

/// What a pass over the blocks computes.
typedef enum { CG_FORWARD, CG_WEIGHT_GRAD, CG_INPUT_GRAD } cg_pass;

typedef struct {
    const clas_conv_geom *g;
    const float *x, *w, *bias, *dy;
    float *y, *dx, *partials;
    int64_t groups, cout;
    cg_pass pass;
} cg_job;

/// Output rows (n·oh) per block.
static int64_t block_rows(const clas_conv_geom *g) { return CLAS_MAX(1, BLOCK_PIXELS / g->ow); }

/// One chunk, block by block and group by group: output rows begin ..< end (forward: y = bias + col·Wᵀ; weight
/// gradient: this thread's partial [cout][k] += dyᵀ·col) or images begin ..< end (input gradient: col = dy·W, added
/// back into dx; images, because their scatters never overlap).
static void blocks_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const cg_job *j = ctx;
    const clas_conv_geom *g = j->g;
    const int64_t cg = g->c / j->groups, coutg = j->cout / j->groups, k = g->kh * g->kw * cg;
    const int64_t R = block_rows(g), ow = g->ow, cout = j->cout;
    float *col = clas_scratch(tid, (size_t)(R * ow * k) * sizeof(float));
    float *part = j->pass == CG_WEIGHT_GRAD ? j->partials + (int64_t)tid * cout * k : NULL;
    if (j->pass == CG_INPUT_GRAD) begin *= g->oh, end *= g->oh;
    for (int64_t r0 = begin; r0 < end; r0 += R) {
        const int64_t r1 = CLAS_MIN(end, r0 + R), pixels = (r1 - r0) * ow;
        float *y = j->pass == CG_FORWARD ? j->y + r0 * ow * cout : NULL;
        const float *dy = j->pass == CG_FORWARD ? NULL : j->dy + r0 * ow * cout;
        if (j->pass == CG_FORWARD && j->bias)
            for (int64_t p = 0; p < pixels; p++) memcpy(y + p * cout, j->bias, (size_t)cout * sizeof(float));
        for (int64_t gi = 0; gi < j->groups; gi++) {
            const float *w = j->w + gi * coutg * k;
            switch (j->pass) {
            case CG_FORWARD:
                clas_im2col_rows(g, j->x, gi * cg, cg, r0, r1, col);
                clas_blas_sgemm(false, true, pixels, coutg, k, 1, col, k, w, k, j->bias ? 1 : 0, y + gi * coutg, cout);
                break;
            case CG_WEIGHT_GRAD:
                clas_im2col_rows(g, j->x, gi * cg, cg, r0, r1, col);
                clas_blas_sgemm(true, false, coutg, k, pixels, 1, dy + gi * coutg, cout, col, k, 1,
                                part + gi * coutg * k, k);
                break;
            case CG_INPUT_GRAD:
                clas_blas_sgemm(false, false, pixels, k, coutg, 1, dy + gi * coutg, cout, w, k, 0, col, k);
                clas_col2im_rows(g, col, gi * cg, cg, r0, r1, j->dx);
                break;
            }
        }
    }
}

void clas_conv_gemm_forward(const clas_conv_geom *g, int64_t groups, const float *x, const float *w,
                            const float *bias, int64_t cout, float *y) {
    cg_job j = {.g = g, .x = x, .w = w, .bias = bias, .y = y, .groups = groups, .cout = cout, .pass = CG_FORWARD};
    clas_parallel_for(g->n * g->oh, block_rows(g), blocks_chunk, &j);
}

bool clas_conv_gemm_backward(const clas_conv_geom *g, int64_t groups, const float *x, const float *w,
                             const float *dy, int64_t cout, float *dx, float *dw) {
    cg_job j = {.g = g, .x = x, .w = w, .dy = dy, .dx = dx, .groups = groups, .cout = cout};
    if (dw) {
        const int64_t k = g->kh * g->kw * (g->c / groups), threads = clas_num_threads();
        j.partials = calloc((size_t)(threads * cout * k), sizeof(float));
        if (!j.partials) return false;
        j.pass = CG_WEIGHT_GRAD;
        clas_parallel_for(g->n * g->oh, block_rows(g), blocks_chunk, &j);
        for (int64_t i = 0; i < cout * k; i++) {  // thread order: deterministic for a thread count
            float s = j.partials[i];
            for (int64_t t = 1; t < threads; t++) s += j.partials[t * cout * k + i];
            dw[i] = s;
        }
        free(j.partials);
    }
    if (dx) {
        memset(dx, 0, (size_t)(g->n * g->h * g->w * g->c) * sizeof(float));
        j.pass = CG_INPUT_GRAD;
        clas_parallel_for(g->n, 1, blocks_chunk, &j);
    }
    return true;
}
