// The elementwise passes of the fused MLP branch (Tensor.normMlp): bias + activation after fc1, and in the backward
// pass the activation recomputed together with its derivative, so the activation's output is never stored.
#include "activations.h"

typedef struct {
    int act;
    float *h, *a, *d;
    const float *bias;
    int64_t n;
} mlp_job;

static CLAS_MV void bias_act_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const mlp_job *j = ctx;
    const int64_t n = j->n;
    const int act = j->act;
    for (int64_t r = begin; r < end; r++) {
        float *restrict h = j->h + r * n;
        float *restrict a = (j->a ? j->a : j->h) + r * n;
        if (j->bias) {
            const float *restrict b = j->bias;
            for (int64_t i = 0; i < n; i++) h[i] += b[i];
        }
        switch (act) {  // one loop per activation so each vectorises
#define BIAS_ACT_CASE(A) case A: for (int64_t i = 0; i < n; i++) a[i] = clas_act(A, h[i]); break;
            BIAS_ACT_CASE(CLAS_ACT_GELU) BIAS_ACT_CASE(CLAS_ACT_GELU_TANH) BIAS_ACT_CASE(CLAS_ACT_RELU)
            BIAS_ACT_CASE(CLAS_ACT_SILU) BIAS_ACT_CASE(CLAS_ACT_HARDSWISH) BIAS_ACT_CASE(CLAS_ACT_RELU6)
            BIAS_ACT_CASE(CLAS_ACT_SIGMOID) BIAS_ACT_CASE(CLAS_ACT_TANH) BIAS_ACT_CASE(CLAS_ACT_HARDSIGMOID)
#undef BIAS_ACT_CASE
        default:
            if (a != h) memcpy(a, h, (size_t)n * sizeof(float));
        }
    }
}

void clas_bias_act_forward(int act, float *h, const float *bias, float *a, int64_t rows, int64_t n) {
    mlp_job j = {.act = act, .h = h, .a = a, .bias = bias, .n = n};
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(n, 1)), bias_act_chunk, &j);
}

static CLAS_MV void act_recompute_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const mlp_job *j = ctx;
    const float *restrict h = j->h;
    float *restrict a = j->a, *restrict d = j->d;
    switch (j->act) {
    case CLAS_ACT_GELU:  // Φ once for both: a = x·Φ(x), a' = Φ(x) + x·φ(x)
        for (int64_t i = begin; i < end; i++) {
            const float x = h[i];
            float e;
            const float cdf = clas_normal_cdf(x, &e);
            a[i] = x * cdf;
            d[i] *= cdf + x * 0.39894228040143268f * e;
        }
        break;
#define RECOMPUTE_CASE(A)                                                                                             \
    case A:                                                                                                           \
        for (int64_t i = begin; i < end; i++) {                                                                       \
            a[i] = clas_act(A, h[i]);                                                                                 \
            d[i] *= clas_act_grad(A, h[i]);                                                                           \
        }                                                                                                             \
        break;
        RECOMPUTE_CASE(CLAS_ACT_GELU_TANH) RECOMPUTE_CASE(CLAS_ACT_RELU) RECOMPUTE_CASE(CLAS_ACT_SILU)
        RECOMPUTE_CASE(CLAS_ACT_HARDSWISH) RECOMPUTE_CASE(CLAS_ACT_RELU6) RECOMPUTE_CASE(CLAS_ACT_SIGMOID)
        RECOMPUTE_CASE(CLAS_ACT_TANH) RECOMPUTE_CASE(CLAS_ACT_HARDSIGMOID)
#undef RECOMPUTE_CASE
    default:
        memcpy(a + begin, h + begin, (size_t)(end - begin) * sizeof(float));
    }
}

void clas_act_recompute_backward(int act, const float *h, float *a, float *d, int64_t n) {
    mlp_job j = {.act = act, .h = (float *)h, .a = a, .d = d};
    clas_parallel_for(n, CLAS_GRAIN, act_recompute_chunk, &j);
}
