// Batch normalisation over NHWC rows with a fused activation: statistics, apply, backward.
#include "activations.h"
#include <stdlib.h>

#define BN_BLOCK 64

typedef struct {
    const float *x, *dy, *shift;
    int64_t c;
    double *partials;  // [threads][2c]
    const float *scale, *bias, *xhat_shift, *xhat_scale;
    const float *coef_g, *coef_x;  // backward pass 2 per-channel coefficients
    float *y, *dx;
    int act;
} bn_job;

/// Shifted sums Σ(x−K) and Σ(x−K)² per channel (K = first row) for numerically sound variances.
static CLAS_MV void bn_stats_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const bn_job *j = ctx;
    int64_t c = j->c;
    double *restrict s = j->partials + (int64_t)tid * 2 * c, *restrict q = s + c;
    float *restrict bs = clas_scratch(tid, (size_t)c * 2 * sizeof(float)), *restrict bq = bs + c;
    const float *restrict k = j->shift;
    for (int64_t r0 = begin; r0 < end; r0 += BN_BLOCK) {
        int64_t r1 = CLAS_MIN(end, r0 + BN_BLOCK);
        memset(bs, 0, (size_t)c * 2 * sizeof(float));
        for (int64_t r = r0; r < r1; r++) {
            const float *restrict x = j->x + r * c;
            for (int64_t i = 0; i < c; i++) {
                float d = x[i] - k[i];
                bs[i] += d;
                bq[i] += d * d;
            }
        }
        for (int64_t i = 0; i < c; i++) {
            s[i] += bs[i];
            q[i] += bq[i];
        }
    }
}

/// Σ(x−K) and Σ(x−K)² per channel into sums[0, c) and sums[c, 2c), accumulated per thread and combined in thread
/// order (deterministic for a thread count). Returns -1 when out of memory.
static int bn_shifted_sums(const float *x, int64_t rows, int64_t c, const float *shift, double *sums) {
    int threads = clas_num_threads();
    bn_job j = {.x = x, .c = c, .shift = shift};
    j.partials = calloc((size_t)threads * 2 * (size_t)c, sizeof(double));
    if (!j.partials) return -1;
    if (rows > 0) clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(c, 1)), bn_stats_chunk, &j);
    for (int64_t i = 0; i < c; i++) {
        double s = 0, q = 0;
        for (int t = 0; t < threads; t++) {
            s += j.partials[(int64_t)t * 2 * c + i];
            q += j.partials[(int64_t)t * 2 * c + c + i];
        }
        sums[i] = s;
        sums[c + i] = q;
    }
    free(j.partials);
    return 0;
}

/// mean = K + S/count, biased var = Q/count − (S/count)².
static void bn_finalize_stats(const double *sums, double count, int64_t c, const float *shift, float *mean, float *var) {
    for (int64_t i = 0; i < c; i++) {
        double m = sums[i] / count;
        double v = sums[c + i] / count - m * m;
        mean[i] = (float)((double)shift[i] + m);
        var[i] = (float)(v > 0 ? v : 0);
    }
}

void clas_bn_stats(const float *x, int64_t rows, int64_t c, float *mean, float *var) {
    double *sums = malloc((size_t)c * 2 * sizeof(double));
    if (!sums || rows <= 0 || bn_shifted_sums(x, rows, c, x, sums) != 0) {
        free(sums);
        return;
    }
    bn_finalize_stats(sums, (double)rows, c, x, mean, var);
    free(sums);
}

void clas_bn_partial_sums(const float *x, int64_t rows, int64_t c, const float *shift, double *sums) {
    if (bn_shifted_sums(x, rows, c, shift, sums) != 0) memset(sums, 0, (size_t)c * 2 * sizeof(double));
}

#define APPLY_LOOP(ACT)                                                                                               \
    case ACT:                                                                                                         \
        for (int64_t r = begin; r < end; r++) {                                                                       \
            const float *restrict x = j->x + r * c;                                                                   \
            float *restrict y = j->y + r * c;                                                                         \
            for (int64_t i = 0; i < c; i++) y[i] = clas_act(ACT, x[i] * sc[i] + bi[i]);                              \
        }                                                                                                             \
        break;

static CLAS_MV void bn_apply_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const bn_job *j = ctx;
    int64_t c = j->c;
    const float *restrict sc = j->scale, *restrict bi = j->bias;
    switch (j->act) {
        APPLY_LOOP(CLAS_ACT_RELU)
        APPLY_LOOP(CLAS_ACT_RELU6)
        APPLY_LOOP(CLAS_ACT_HARDSWISH)
        APPLY_LOOP(CLAS_ACT_HARDSIGMOID)
        APPLY_LOOP(CLAS_ACT_SIGMOID)
        APPLY_LOOP(CLAS_ACT_SILU)
        APPLY_LOOP(CLAS_ACT_TANH)
        APPLY_LOOP(CLAS_ACT_GELU)
        APPLY_LOOP(CLAS_ACT_GELU_TANH)
        APPLY_LOOP(CLAS_ACT_NONE)
    }
}

/// scale = γ/√(var+ε), bias = β − mean·scale.
static void bn_coefficients(int64_t c, const float *mean, const float *var, float eps, const float *gamma,
                            const float *beta, float *scale, float *bias) {
    for (int64_t i = 0; i < c; i++) {
        float inv = 1.0f / sqrtf(var[i] + eps);
        float g = gamma ? gamma[i] : 1.0f;
        scale[i] = g * inv;
        bias[i] = (beta ? beta[i] : 0.0f) - mean[i] * scale[i];
    }
}

void clas_bn_apply(const float *x, int64_t rows, int64_t c, const float *mean, const float *var, float eps,
                   const float *gamma, const float *beta, int act, float *y) {
    float *coef = malloc((size_t)c * 2 * sizeof(float));
    if (!coef) return;
    bn_coefficients(c, mean, var, eps, gamma, beta, coef, coef + c);
    bn_job j = {.x = x, .c = c, .scale = coef, .bias = coef + c, .y = y, .act = act};
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(c, 1)), bn_apply_chunk, &j);
    free(coef);
}

/// Pass 1: Σ g and Σ g·x̂ per channel, where g = dy·act'(z) and z = x·scale + bias.
#define BWD1_LOOP(ACT)                                                                                                \
    case ACT:                                                                                                         \
        for (int64_t r0 = begin; r0 < end; r0 += BN_BLOCK) {                                                          \
            int64_t r1 = CLAS_MIN(end, r0 + BN_BLOCK);                                                                \
            memset(bs, 0, (size_t)c * 2 * sizeof(float));                                                             \
            for (int64_t r = r0; r < r1; r++) {                                                                       \
                const float *restrict x = j->x + r * c, *restrict dy = j->dy + r * c;                                 \
                for (int64_t i = 0; i < c; i++) {                                                                     \
                    float g = dy[i] * clas_act_grad(ACT, x[i] * sc[i] + bi[i]);                                       \
                    float xh = x[i] * xs[i] + xb[i];                                                                  \
                    bs[i] += g;                                                                                       \
                    bq[i] += g * xh;                                                                                  \
                }                                                                                                     \
            }                                                                                                         \
            for (int64_t i = 0; i < c; i++) {                                                                         \
                s[i] += bs[i];                                                                                        \
                q[i] += bq[i];                                                                                        \
            }                                                                                                         \
        }                                                                                                             \
        break;

static CLAS_MV void bn_bwd1_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const bn_job *j = ctx;
    int64_t c = j->c;
    double *restrict s = j->partials + (int64_t)tid * 2 * c, *restrict q = s + c;
    float *restrict bs = clas_scratch(tid, (size_t)c * 2 * sizeof(float)), *restrict bq = bs + c;
    const float *restrict sc = j->scale, *restrict bi = j->bias, *restrict xs = j->xhat_scale,
                *restrict xb = j->xhat_shift;
    switch (j->act) {
        BWD1_LOOP(CLAS_ACT_RELU)
        BWD1_LOOP(CLAS_ACT_RELU6)
        BWD1_LOOP(CLAS_ACT_HARDSWISH)
        BWD1_LOOP(CLAS_ACT_HARDSIGMOID)
        BWD1_LOOP(CLAS_ACT_SIGMOID)
        BWD1_LOOP(CLAS_ACT_SILU)
        BWD1_LOOP(CLAS_ACT_TANH)
        BWD1_LOOP(CLAS_ACT_GELU)
        BWD1_LOOP(CLAS_ACT_GELU_TANH)
        BWD1_LOOP(CLAS_ACT_NONE)
    }
}

/// Pass 2: dx = scale·g − cg − cx·x (coefficients folded per channel).
#define BWD2_LOOP(ACT)                                                                                                \
    case ACT:                                                                                                         \
        for (int64_t r = begin; r < end; r++) {                                                                       \
            const float *restrict x = j->x + r * c, *restrict dy = j->dy + r * c;                                     \
            float *restrict dx = j->dx + r * c;                                                                       \
            for (int64_t i = 0; i < c; i++) {                                                                         \
                float g = dy[i] * clas_act_grad(ACT, x[i] * sc[i] + bi[i]);                                           \
                dx[i] = g * sc[i] - cg[i] - cx[i] * x[i];                                                             \
            }                                                                                                         \
        }                                                                                                             \
        break;

static CLAS_MV void bn_bwd2_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const bn_job *j = ctx;
    int64_t c = j->c;
    const float *restrict sc = j->scale, *restrict bi = j->bias, *restrict cg = j->coef_g, *restrict cx = j->coef_x;
    switch (j->act) {
        BWD2_LOOP(CLAS_ACT_RELU)
        BWD2_LOOP(CLAS_ACT_RELU6)
        BWD2_LOOP(CLAS_ACT_HARDSWISH)
        BWD2_LOOP(CLAS_ACT_HARDSIGMOID)
        BWD2_LOOP(CLAS_ACT_SIGMOID)
        BWD2_LOOP(CLAS_ACT_SILU)
        BWD2_LOOP(CLAS_ACT_TANH)
        BWD2_LOOP(CLAS_ACT_GELU)
        BWD2_LOOP(CLAS_ACT_GELU_TANH)
        BWD2_LOOP(CLAS_ACT_NONE)
    }
}

/// The per-channel coefficients of the backward pass: scale, bias (z = x·scale + bias), x̂ = x·xs + xb.
static void bn_backward_coefficients(int64_t c, const float *mean, const float *var, float eps, const float *gamma,
                                     const float *beta, float *coef) {
    float *scale = coef, *bias = coef + c, *xs = coef + 2 * c, *xb = coef + 3 * c;
    bn_coefficients(c, mean, var, eps, gamma, beta, scale, bias);
    for (int64_t i = 0; i < c; i++) {
        xs[i] = 1.0f / sqrtf(var[i] + eps);
        xb[i] = -mean[i] * xs[i];
    }
}

/// Pass 1 over the rows: Σg into sums[0, c) and Σg·x̂ into sums[c, 2c), combined in thread order. `coef` holds
/// the four coefficient rows of `bn_backward_coefficients` followed by room for cg and cx.
static int bn_backward_sums(const float *x, const float *dy, int64_t rows, int64_t c, int act, float *coef,
                            double *sums) {
    int threads = clas_num_threads();
    double *partials = calloc((size_t)threads * 2 * (size_t)c, sizeof(double));
    if (!partials) return -1;
    bn_job j = {.x = x, .dy = dy, .c = c, .partials = partials, .scale = coef, .bias = coef + c,
                .xhat_scale = coef + 2 * c, .xhat_shift = coef + 3 * c, .act = act};
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(c, 1)), bn_bwd1_chunk, &j);
    for (int64_t i = 0; i < c; i++) {
        double sg = 0, sgx = 0;
        for (int t = 0; t < threads; t++) {
            sg += partials[(int64_t)t * 2 * c + i];
            sgx += partials[(int64_t)t * 2 * c + c + i];
        }
        sums[i] = sg;
        sums[c + i] = sgx;
    }
    free(partials);
    return 0;
}

/// Pass 2: dx from the sums over `count` rows (all processes' rows with synchronised statistics).
static void bn_backward_dx(const float *x, const float *dy, int64_t rows, int64_t c, int act, float *coef,
                           const double *sums, double count, bool batch_stats, float *dx) {
    float *scale = coef, *xs = coef + 2 * c, *xb = coef + 3 * c, *cg = coef + 4 * c, *cx = coef + 5 * c;
    for (int64_t i = 0; i < c; i++) {
        if (batch_stats) {
            // dx = scale·(g − Σg/M − x̂·Σgx̂/M), x̂ = x·xs + xb  ⇒  dx = scale·g − cg − cx·x.
            double sg = sums[i], sgx = sums[c + i], m = count;
            cx[i] = (float)(scale[i] * sgx / m * xs[i]);
            cg[i] = (float)(scale[i] * (sg / m + sgx / m * xb[i]));
        } else {
            cx[i] = 0;
            cg[i] = 0;
        }
    }
    if (!dx) return;
    bn_job j = {.x = x, .dy = dy, .c = c, .scale = scale, .bias = coef + c, .coef_g = cg, .coef_x = cx, .dx = dx,
                .act = act};
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(c, 1)), bn_bwd2_chunk, &j);
}

void clas_bn_backward(const float *x, const float *dy, int64_t rows, int64_t c, const float *mean, const float *var,
                      float eps, const float *gamma, const float *beta, int act, bool batch_stats, float *dx,
                      float *dgamma, float *dbeta) {
    float *coef = malloc((size_t)c * 6 * sizeof(float));
    double *sums = malloc((size_t)c * 2 * sizeof(double));
    if (!coef || !sums) goto done;
    bn_backward_coefficients(c, mean, var, eps, gamma, beta, coef);
    if (bn_backward_sums(x, dy, rows, c, act, coef, sums) != 0) goto done;
    for (int64_t i = 0; i < c; i++) {
        if (dbeta) dbeta[i] = (float)sums[i];
        if (dgamma) dgamma[i] = (float)sums[c + i];
    }
    bn_backward_dx(x, dy, rows, c, act, coef, sums, (double)rows, batch_stats, dx);
done:
    free(coef);
    free(sums);
}

void clas_bn_backward_sums(const float *x, const float *dy, int64_t rows, int64_t c, const float *mean,
                           const float *var, float eps, const float *gamma, const float *beta, int act, double *sums) {
    float *coef = malloc((size_t)c * 6 * sizeof(float));
    if (coef) bn_backward_coefficients(c, mean, var, eps, gamma, beta, coef);
    if (!coef || bn_backward_sums(x, dy, rows, c, act, coef, sums) != 0) memset(sums, 0, (size_t)c * 2 * sizeof(double));
    free(coef);
}

void clas_bn_backward_dx(const float *x, const float *dy, int64_t rows, int64_t c, const float *mean, const float *var,
                         float eps, const float *gamma, const float *beta, int act, const double *sums, double count,
                         float *dx) {
    float *coef = malloc((size_t)c * 6 * sizeof(float));
    if (!coef) return;
    bn_backward_coefficients(c, mean, var, eps, gamma, beta, coef);
    bn_backward_dx(x, dy, rows, c, act, coef, sums, count, true, dx);
    free(coef);
}
