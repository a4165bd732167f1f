// Elementwise kernels: activations, binary ops with the broadcasts convolutional nets use, unary math.
#include "activations.h"

typedef struct {
    int op;
    const float *a, *b, *c;
    float *z;
    float alpha, beta;
    int64_t mid, inner;
    bool accumulate;
} ew_job;

// Each activation gets its own loop so the switch is hoisted and the loop vectorises.
#define ACT_LOOP(ACT, EXPR)                                                                                           \
    case ACT:                                                                                                         \
        for (int64_t i = begin; i < end; i++) {                                                                       \
            float x = a[i];                                                                                           \
            (void)x;                                                                                                  \
            z[i] = (EXPR);                                                                                            \
        }                                                                                                             \
        break;

static CLAS_MV void act_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    const float *restrict a = j->a;
    float *restrict z = j->z;
    switch (j->op) {
        ACT_LOOP(CLAS_ACT_RELU, clas_act(CLAS_ACT_RELU, x))
        ACT_LOOP(CLAS_ACT_RELU6, clas_act(CLAS_ACT_RELU6, x))
        ACT_LOOP(CLAS_ACT_HARDSWISH, clas_act(CLAS_ACT_HARDSWISH, x))
        ACT_LOOP(CLAS_ACT_HARDSIGMOID, clas_act(CLAS_ACT_HARDSIGMOID, x))
        ACT_LOOP(CLAS_ACT_SIGMOID, clas_act(CLAS_ACT_SIGMOID, x))
        ACT_LOOP(CLAS_ACT_SILU, clas_act(CLAS_ACT_SILU, x))
        ACT_LOOP(CLAS_ACT_TANH, clas_act(CLAS_ACT_TANH, x))
        ACT_LOOP(CLAS_ACT_GELU, clas_act(CLAS_ACT_GELU, x))
        ACT_LOOP(CLAS_ACT_GELU_TANH, clas_act(CLAS_ACT_GELU_TANH, x))
    default: memmove(z + begin, a + begin, (size_t)(end - begin) * sizeof(float));
    }
}

#define ACT_GRAD_LOOP(ACT)                                                                                            \
    case ACT:                                                                                                         \
        if (j->accumulate)                                                                                            \
            for (int64_t i = begin; i < end; i++) z[i] += clas_act_grad(ACT, a[i]) * g[i];                            \
        else                                                                                                          \
            for (int64_t i = begin; i < end; i++) z[i] = clas_act_grad(ACT, a[i]) * g[i];                             \
        break;

static CLAS_MV void act_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    const float *restrict a = j->a;
    const float *restrict g = j->b;
    float *restrict z = j->z;
    switch (j->op) {
        ACT_GRAD_LOOP(CLAS_ACT_RELU)
        ACT_GRAD_LOOP(CLAS_ACT_RELU6)
        ACT_GRAD_LOOP(CLAS_ACT_HARDSWISH)
        ACT_GRAD_LOOP(CLAS_ACT_HARDSIGMOID)
        ACT_GRAD_LOOP(CLAS_ACT_SIGMOID)
        ACT_GRAD_LOOP(CLAS_ACT_SILU)
        ACT_GRAD_LOOP(CLAS_ACT_TANH)
        ACT_GRAD_LOOP(CLAS_ACT_GELU)
        ACT_GRAD_LOOP(CLAS_ACT_GELU_TANH)
    default:
        if (j->accumulate)
            for (int64_t i = begin; i < end; i++) z[i] += g[i];
        else
            memmove(z + begin, g + begin, (size_t)(end - begin) * sizeof(float));
    }
}

void clas_act_forward(int act, const float *x, float *y, int64_t n) {
    ew_job j = {.op = act, .a = x, .z = y};
    clas_parallel_for(n, CLAS_GRAIN, act_fwd_chunk, &j);
}

void clas_act_backward(int act, const float *x, const float *dy, float *dx, int64_t n, bool accumulate) {
    ew_job j = {.op = act, .a = x, .b = dy, .z = dx, .accumulate = accumulate};
    clas_parallel_for(n, CLAS_GRAIN, act_bwd_chunk, &j);
}

#define BIN_LOOPS(A_AT, B_AT)                                                                                         \
    switch (j->op) {                                                                                                  \
    case CLAS_BIN_ADD: for (int64_t i = 0; i < len; i++) z[i] = A_AT + B_AT; break;                                  \
    case CLAS_BIN_SUB: for (int64_t i = 0; i < len; i++) z[i] = A_AT - B_AT; break;                                  \
    case CLAS_BIN_MUL: for (int64_t i = 0; i < len; i++) z[i] = A_AT * B_AT; break;                                  \
    default: for (int64_t i = 0; i < len; i++) z[i] = A_AT / B_AT; break;                                            \
    }

static CLAS_MV void binary_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    const float *restrict a = j->a + begin, *restrict b = j->b + begin;
    float *restrict z = j->z + begin;
    int64_t len = end - begin;
    BIN_LOOPS(a[i], b[i])
}

void clas_binary(int op, const float *a, const float *b, float *z, int64_t n) {
    ew_job j = {.op = op, .a = a, .b = b, .z = z};
    clas_parallel_for(n, CLAS_GRAIN, binary_chunk, &j);
}

/// Rows are (outer, mid) pairs; each row combines `inner` floats of a with the outer's row of b.
static CLAS_MV void bcast_mid_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    int64_t inner = j->inner, mid = j->mid, len = inner;
    for (int64_t r = begin; r < end; r++) {
        const float *restrict a = j->a + r * inner;
        const float *restrict b = j->b + (r / mid) * inner;
        float *restrict z = j->z + r * inner;
        BIN_LOOPS(a[i], b[i])
    }
}

void clas_binary_bcast_mid(int op, const float *a, const float *b, float *z, int64_t outer, int64_t mid, int64_t inner) {
    ew_job j = {.op = op, .a = a, .b = b, .z = z, .mid = mid, .inner = inner};
    int64_t rows = outer * mid;
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(inner, 1)), bcast_mid_chunk, &j);
}

static CLAS_MV void affine_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    const float *restrict a = j->a;
    float *restrict z = j->z;
    float alpha = j->alpha, beta = j->beta;
    for (int64_t i = begin; i < end; i++) z[i] = a[i] * alpha + beta;
}

void clas_affine(const float *a, float alpha, float beta, float *z, int64_t n) {
    ew_job j = {.a = a, .z = z, .alpha = alpha, .beta = beta};
    clas_parallel_for(n, CLAS_GRAIN, affine_chunk, &j);
}

static CLAS_MV void axpy_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    const float *restrict x = j->a;
    float *restrict y = j->z;
    float alpha = j->alpha;
    for (int64_t i = begin; i < end; i++) y[i] += alpha * x[i];
}

void clas_axpy(int64_t n, float alpha, const float *x, float *y) {
    ew_job j = {.a = x, .z = y, .alpha = alpha};
    clas_parallel_for(n, CLAS_GRAIN, axpy_chunk, &j);
}

static CLAS_MV void fill_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    float *restrict z = j->z;
    float v = j->alpha;
    for (int64_t i = begin; i < end; i++) z[i] = v;
}

void clas_fill(float *z, float value, int64_t n) {
    ew_job j = {.z = z, .alpha = value};
    clas_parallel_for(n, CLAS_GRAIN, fill_chunk, &j);
}

static CLAS_MV void unary_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    const float *restrict x = j->a;
    float *restrict y = j->z;
    switch (j->op) {
    case CLAS_UN_EXP: for (int64_t i = begin; i < end; i++) y[i] = clas_expf(x[i]); break;
    case CLAS_UN_LOG: for (int64_t i = begin; i < end; i++) y[i] = logf(x[i]); break;
    case CLAS_UN_SQRT: for (int64_t i = begin; i < end; i++) y[i] = sqrtf(x[i]); break;
    case CLAS_UN_RSQRT: for (int64_t i = begin; i < end; i++) y[i] = 1.0f / sqrtf(x[i]); break;
    case CLAS_UN_NEG: for (int64_t i = begin; i < end; i++) y[i] = -x[i]; break;
    case CLAS_UN_ABS: for (int64_t i = begin; i < end; i++) y[i] = fabsf(x[i]); break;
    case CLAS_UN_SQUARE: for (int64_t i = begin; i < end; i++) y[i] = x[i] * x[i]; break;
    default: for (int64_t i = begin; i < end; i++) y[i] = 1.0f / x[i]; break;
    }
}

void clas_unary(int fn, const float *x, float *y, int64_t n) {
    ew_job j = {.op = fn, .a = x, .z = y};
    clas_parallel_for(n, CLAS_GRAIN, unary_chunk, &j);
}
