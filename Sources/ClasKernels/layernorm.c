// Layer normalisation over the last dimension (timm's LayerNorm, and LayerNorm2d on NHWC maps), rows in parallel.
//
// Rows are short (C ≤ a few hundred floats) and sit in L1, so the passes over a row (layernorm_rows.h) are cheap
// once they vectorise. The backward pass also forms γ's and β's gradients (Σ x̂·dy, Σ dy over rows) in the same
// sweep: per-thread float blocks of 128 rows summed into double partials, reduced in thread order (deterministic for
// a thread count).
#include "layernorm_rows.h"
#include <stdlib.h>

#define LN_BLOCK 128

typedef struct {
    const float *x, *gamma, *beta, *mean, *rstd, *dy;
    float *y, *mean_out, *rstd_out, *dx;
    double *partials;  // [threads][2c]: Σ x̂·dy, Σ dy
    int64_t c;
    float eps;
} ln_job;

static CLAS_MV void ln_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ln_job *j = ctx;
    const int64_t c = j->c;
    for (int64_t r = begin; r < end; r++) {
        float mean, rstd;
        clas_ln_row_forward(j->x + r * c, j->gamma, j->beta, j->y + r * c, c, j->eps, &mean, &rstd);
        if (j->mean_out) j->mean_out[r] = mean;
        if (j->rstd_out) j->rstd_out[r] = rstd;
    }
}

void clas_layernorm_forward(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                            float *rstd, int64_t rows, int64_t c, float eps) {
    ln_job j = {.x = x, .gamma = gamma, .beta = beta, .y = y, .mean_out = mean, .rstd_out = rstd, .c = c, .eps = eps};
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(c, 1)), ln_fwd_chunk, &j);
}

static CLAS_MV void ln_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const ln_job *j = ctx;
    const int64_t c = j->c;
    double *restrict acc = j->partials ? j->partials + (int64_t)tid * 2 * c : NULL;
    float *restrict bg = acc ? clas_scratch(tid, (size_t)c * 2 * sizeof(float)) : NULL, *restrict bb = bg ? bg + c : NULL;
    for (int64_t r = begin; r < end; r++) {
        if (acc && (r - begin) % LN_BLOCK == 0) memset(bg, 0, (size_t)c * 2 * sizeof(float));
        clas_ln_row_backward(j->x + r * c, j->mean[r], j->rstd[r], j->gamma, j->dy + r * c, j->dx + r * c, c, bg, bb);
        if (acc && ((r - begin) % LN_BLOCK == LN_BLOCK - 1 || r == end - 1))
            for (int64_t i = 0; i < 2 * c; i++) acc[i] += bg[i];
    }
}

void clas_layernorm_backward(const float *x, const float *mean, const float *rstd, const float *gamma,
                             const float *dy, float *dx, float *dgamma, float *dbeta, int64_t rows, int64_t c) {
    ln_job j = {.x = x, .mean = mean, .rstd = rstd, .gamma = gamma, .dy = dy, .dx = dx, .c = c};
    const int threads = clas_num_threads();
    if (dgamma || dbeta) {
        j.partials = calloc((size_t)threads * 2 * (size_t)c, sizeof(double));
        if (!j.partials) return;
    }
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(c, 1)), ln_bwd_chunk, &j);
    if (!j.partials) return;
    for (int64_t i = 0; i < c; i++) {
        double sg = 0, sb = 0;
        for (int t = 0; t < threads; t++) {
            sg += j.partials[(int64_t)t * 2 * c + i];
            sb += j.partials[(int64_t)t * 2 * c + c + i];
        }
        if (dgamma) dgamma[i] = (float)sg;
        if (dbeta) dbeta[i] = (float)sb;
    }
    free(j.partials);
}
