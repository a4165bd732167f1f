// Layer normalisation of one row, shared by the LayerNorm kernels and the fused MLP branch. Inlined into the callers'
// multiversioned functions, so each clone vectorises them; row sums are reassociated (`fp reassociate`) for that.
#ifndef CLAS_LAYERNORM_ROWS_H
#define CLAS_LAYERNORM_ROWS_H
#include "internal.h"

/// y = (x − mean)·rstd·γ + β (γ, β may be NULL) with the row's statistics (two passes: no cancellation).
static inline __attribute__((always_inline)) void clas_ln_row_forward(const float *restrict x, const float *restrict gamma,
                                                                      const float *restrict beta, float *restrict y,
                                                                      int64_t c, float eps, float *mean_out,
                                                                      float *rstd_out) {
    float s = 0, v = 0;
    {
#pragma clang fp reassociate(on)
        for (int64_t i = 0; i < c; i++) s += x[i];
        const float m = s / (float)c;
        for (int64_t i = 0; i < c; i++) v += (x[i] - m) * (x[i] - m);
    }
    const float mean = s / (float)c;
    const float rstd = 1.0f / sqrtf(v / (float)c + eps);
    if (gamma && beta)
        for (int64_t i = 0; i < c; i++) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
    else if (gamma)
        for (int64_t i = 0; i < c; i++) y[i] = (x[i] - mean) * rstd * gamma[i];
    else
        for (int64_t i = 0; i < c; i++) y[i] = (x[i] - mean) * rstd;
    *mean_out = mean;
    *rstd_out = rstd;
}

/// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·γ (γ may be NULL); adds x̂·dy to dgamma and dy to dbeta when
/// they are not NULL.
static inline __attribute__((always_inline)) void clas_ln_row_backward(const float *restrict x, float mean, float rstd,
                                                                       const float *restrict gamma,
                                                                       const float *restrict dy, float *restrict dx,
                                                                       int64_t c, float *restrict dgamma,
                                                                       float *restrict dbeta) {
    float sg = 0, sgx = 0;
    {
#pragma clang fp reassociate(on)
        if (gamma)
            for (int64_t i = 0; i < c; i++) {
                const float g = dy[i] * gamma[i];
                sg += g;
                sgx += g * (x[i] - mean);
            }
        else
            for (int64_t i = 0; i < c; i++) {
                sg += dy[i];
                sgx += dy[i] * (x[i] - mean);
            }
    }
    const float mg = sg / (float)c, mgx = sgx * rstd / (float)c;
    if (gamma)
        for (int64_t i = 0; i < c; i++) dx[i] = rstd * (dy[i] * gamma[i] - mg - (x[i] - mean) * rstd * mgx);
    else
        for (int64_t i = 0; i < c; i++) dx[i] = rstd * (dy[i] - mg - (x[i] - mean) * rstd * mgx);
    if (dgamma)
        for (int64_t i = 0; i < c; i++) dgamma[i] += (x[i] - mean) * rstd * dy[i];
    if (dbeta)
        for (int64_t i = 0; i < c; i++) dbeta[i] += dy[i];
}
#endif
