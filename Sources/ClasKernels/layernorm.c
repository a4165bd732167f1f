// Layer normalisation over the last dimension (timm's LayerNorm, and LayerNorm2d on NHWC maps), rows in parallel.
#include "internal.h"

typedef struct {
    const float *x, *gamma, *beta, *mean, *rstd, *dy;
    float *y, *mean_out, *rstd_out, *dx, *gxhat;
    int64_t c;
    float eps;
} ln_job;

static CLAS_MV void ln_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ln_job *j = ctx;
    const int64_t c = j->c;
    const float *restrict gamma = j->gamma, *restrict beta = j->beta;
    for (int64_t r = begin; r < end; r++) {
        const float *restrict x = j->x + r * c;
        float *restrict y = j->y + r * c;
        float s = 0;
        for (int64_t i = 0; i < c; i++) s += x[i];
        const float mean = s / (float)c;
        float v = 0;  // two passes: no cancellation for rows with a large mean
        for (int64_t i = 0; i < c; i++) v += (x[i] - mean) * (x[i] - mean);
        const float rstd = 1.0f / sqrtf(v / (float)c + j->eps);
        if (gamma && beta)
            for (int64_t i = 0; i < c; i++) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
        else if (gamma)
            for (int64_t i = 0; i < c; i++) y[i] = (x[i] - mean) * rstd * gamma[i];
        else
            for (int64_t i = 0; i < c; i++) y[i] = (x[i] - mean) * rstd;
        if (j->mean_out) j->mean_out[r] = mean;
        if (j->rstd_out) j->rstd_out[r] = rstd;
    }
}

void clas_layernorm_forward(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                            float *rstd, int64_t rows, int64_t c, float eps) {
    ln_job j = {.x = x, .gamma = gamma, .beta = beta, .y = y, .mean_out = mean, .rstd_out = rstd, .c = c, .eps = eps};
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(c, 1)), ln_fwd_chunk, &j);
}

// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·γ; optionally x̂·dy for γ's gradient (summed by the caller).
static CLAS_MV void ln_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ln_job *j = ctx;
    const int64_t c = j->c;
    const float *restrict gamma = j->gamma;
    for (int64_t r = begin; r < end; r++) {
        const float *restrict x = j->x + r * c, *restrict dy = j->dy + r * c;
        float *restrict dx = j->dx + r * c;
        const float mean = j->mean[r], rstd = j->rstd[r];
        float sg = 0, sgx = 0;
        for (int64_t i = 0; i < c; i++) {
            float g = gamma ? dy[i] * gamma[i] : dy[i];
            float xh = (x[i] - mean) * rstd;
            sg += g;
            sgx += g * xh;
        }
        const float mg = sg / (float)c, mgx = sgx / (float)c;
        for (int64_t i = 0; i < c; i++) {
            float g = gamma ? dy[i] * gamma[i] : dy[i];
            float xh = (x[i] - mean) * rstd;
            dx[i] = rstd * (g - mg - xh * mgx);
        }
        if (j->gxhat) {
            float *restrict o = j->gxhat + r * c;
            for (int64_t i = 0; i < c; i++) o[i] = (x[i] - mean) * rstd * dy[i];
        }
    }
}

void clas_layernorm_backward(const float *x, const float *mean, const float *rstd, const float *gamma,
                             const float *dy, float *dx, float *gxhat, int64_t rows, int64_t c) {
    ln_job j = {.x = x, .mean = mean, .rstd = rstd, .gamma = gamma, .dy = dy, .dx = dx, .gxhat = gxhat, .c = c};
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(c, 1)), ln_bwd_chunk, &j);
}
