// Activation functions and their derivatives, shared by the elementwise and batch-norm kernels.
#ifndef CLAS_ACTIVATIONS_H
#define CLAS_ACTIVATIONS_H
#include "internal.h"

static inline __attribute__((always_inline)) float clas_act(int act, float x) {
    switch (act) {
    case CLAS_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case CLAS_ACT_RELU6: return CLAS_MIN(CLAS_MAX(x, 0.0f), 6.0f);
    case CLAS_ACT_HARDSWISH: return x * CLAS_MIN(CLAS_MAX(x + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
    case CLAS_ACT_HARDSIGMOID: return CLAS_MIN(CLAS_MAX(x + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
    case CLAS_ACT_SIGMOID: return clas_sigmoidf(x);
    case CLAS_ACT_SILU: return x * clas_sigmoidf(x);
    case CLAS_ACT_TANH: return 2.0f * clas_sigmoidf(2.0f * x) - 1.0f;
    case CLAS_ACT_GELU: {
        float e;
        return x * clas_normal_cdf(x, &e);
    }
    case CLAS_ACT_GELU_TANH: {  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), tanh(u) = 2σ(2u) − 1
        float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
        return x * clas_sigmoidf(2.0f * u);
    }
    default: return x;
    }
}

/// d act(x) / dx.
static inline __attribute__((always_inline)) float clas_act_grad(int act, float x) {
    switch (act) {
    case CLAS_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case CLAS_ACT_RELU6: return (x > 0.0f && x < 6.0f) ? 1.0f : 0.0f;
    case CLAS_ACT_HARDSWISH: return x < -3.0f ? 0.0f : (x > 3.0f ? 1.0f : (2.0f * x + 3.0f) * (1.0f / 6.0f));
    case CLAS_ACT_HARDSIGMOID: return (x > -3.0f && x < 3.0f) ? (1.0f / 6.0f) : 0.0f;
    case CLAS_ACT_SIGMOID: {
        float s = clas_sigmoidf(x);
        return s * (1.0f - s);
    }
    case CLAS_ACT_SILU: {
        float s = clas_sigmoidf(x);
        return s * (1.0f + x * (1.0f - s));
    }
    case CLAS_ACT_TANH: {
        float t = 2.0f * clas_sigmoidf(2.0f * x) - 1.0f;
        return 1.0f - t * t;
    }
    case CLAS_ACT_GELU: {  // Φ(x) + x·φ(x)
        float e;
        float cdf = clas_normal_cdf(x, &e);
        return cdf + x * 0.39894228040143268f * e;
    }
    case CLAS_ACT_GELU_TANH: {
        float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
        float t = 2.0f * clas_sigmoidf(2.0f * u) - 1.0f;
        return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * 0.79788456080286536f * (1.0f + 0.134145f * x * x);
    }
    default: return 1.0f;
    }
}

/// y[i] = act(y[i] + bias[i] + res[i]) over one row segment (bias and res may be null): the fused epilogue of the
/// inference kernels, applied while the row is still in L1. One loop per activation so each vectorises.
static inline __attribute__((always_inline)) void clas_epilogue_row(int act, float *restrict y,
                                                                    const float *restrict bias,
                                                                    const float *restrict res, int64_t n) {
    if (bias) for (int64_t i = 0; i < n; i++) y[i] += bias[i];
    if (res) for (int64_t i = 0; i < n; i++) y[i] += res[i];
    switch (act) {
#define CLAS_EPI_CASE(A) case A: for (int64_t i = 0; i < n; i++) y[i] = clas_act(A, y[i]); break;
        CLAS_EPI_CASE(CLAS_ACT_RELU) CLAS_EPI_CASE(CLAS_ACT_RELU6) CLAS_EPI_CASE(CLAS_ACT_HARDSWISH)
        CLAS_EPI_CASE(CLAS_ACT_HARDSIGMOID) CLAS_EPI_CASE(CLAS_ACT_SIGMOID) CLAS_EPI_CASE(CLAS_ACT_SILU)
        CLAS_EPI_CASE(CLAS_ACT_TANH) CLAS_EPI_CASE(CLAS_ACT_GELU)
#undef CLAS_EPI_CASE
    default: break;
    }
}
#endif
