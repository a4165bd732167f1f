// The scalar int8 epilogue and QuantizeLinear: int32 accumulators to float and/or uint8 outputs, and float values
// to uint8, with one rounding rule (`QUANT_F`: scale, clamp, round half to even), so a layer that quantises its own
// output (chained) writes exactly what a separate QuantizeLinear pass over its float output would.
#include "ClasInt8.h"
#include "internal.h"
#include "activations.h"
#include "int8_internal.h"
#include <string.h>

// No fused multiply-add: scale then add, like the scalar reference the tests compare with.
#pragma clang fp contract(off)

#define NRMAX CLAS_Q8_NRMAX

// MARK: epilogue

/// The uint8 quantisation of float `f` after activation `ACT` (`clas_q8_quantize`'s rule).
#define QUANT_F(ACT, f, qs, lo, hi, zy) ({                                                                          \
    float q_ = clas_act(ACT, (f)) / (qs);                                                                           \
    q_ = q_ < (lo) ? (lo) : q_;                                                                                     \
    q_ = q_ > (hi) ? (hi) : q_;                                                                                     \
    (uint8_t)((int32_t)__builtin_rintf(q_) + (zy)); })

/// Applies the epilogue to int32 accumulators acc[rows][·] (row stride `acc_stride`) for columns j0 ..< j0 + nc,
/// writing output rows of stride `ldc`.
static CLAS_MV void epilogue_strided(const int32_t *acc, int64_t acc_stride, int64_t rows, int64_t j0, int64_t nc,
                                     const clas_q8_epilogue *e, float *yf, uint8_t *yq, const float *res,
                                     int64_t ldc) {
    // Per-channel terms gathered once (locals and restrict, so the loops below vectorise).
    int32_t corr[NRMAX * 2];
    float mul[NRMAX * 2], add[NRMAX * 2];
    const int requant = yq && e->requant;  // onnxruntime's integer requantisation, else through the float value
    for (int64_t c0 = 0; c0 < nc; c0 += 2 * NRMAX) {
        int64_t n = CLAS_MIN(2 * NRMAX, nc - c0);
        for (int64_t c = 0; c < n; c++) {
            int64_t j = j0 + c0 + c;
            corr[c] = (e->rowsum ? -e->a_zero * e->rowsum[j] : 0) + (requant && e->bias_q ? e->bias_q[j] : 0);
            mul[c] = requant ? e->requant[j] : e->scale[j];
            add[c] = !requant && e->bias ? e->bias[j] : 0.0f;
        }
        const int relu = e->relu;
        const int32_t zy = e->y_zero;
        const float lo = relu ? 0.0f : (float)(0 - zy), hi = (float)(255 - zy);
        const float qlo = (float)(0 - zy), qs = e->q_scale;
        for (int64_t r = 0; r < rows; r++) {
            const int32_t *restrict a = acc + r * acc_stride + c0;
            if (requant) {
                uint8_t *restrict y = yq + r * ldc + j0 + c0;
                for (int64_t c = 0; c < n; c++) {
                    float f = (float)(a[c] + corr[c]) * mul[c];
                    f = f < lo ? lo : f;
                    f = f > hi ? hi : f;
                    y[c] = (uint8_t)((int32_t)__builtin_rintf(f) + zy);
                }
                continue;
            }
            // One simple loop per step, so that each vectorises.
            float t[2 * NRMAX];
            for (int64_t c = 0; c < n; c++) t[c] = (float)(a[c] + corr[c]) * mul[c] + add[c];
            if (res) {
                const float *restrict rs = res + r * ldc + j0 + c0;
                for (int64_t c = 0; c < n; c++) t[c] = t[c] + rs[c];
            }
            if (relu == CLAS_ACT_HARDSWISH)
                for (int64_t c = 0; c < n; c++) t[c] = clas_act(CLAS_ACT_HARDSWISH, t[c]);
            else if (relu)
                for (int64_t c = 0; c < n; c++) t[c] = t[c] < 0 ? 0.0f : t[c];
            if (yf) memcpy(yf + r * ldc + j0 + c0, t, sizeof(float) * (size_t)n);
            if (yq) {
                uint8_t *restrict q = yq + r * ldc + j0 + c0;
#define QUANT_ROW(ACT) for (int64_t c = 0; c < n; c++) q[c] = QUANT_F(ACT, t[c], qs, qlo, hi, zy);
                switch (e->q_act) {
                case CLAS_ACT_RELU: QUANT_ROW(CLAS_ACT_RELU) break;
                case CLAS_ACT_HARDSWISH: QUANT_ROW(CLAS_ACT_HARDSWISH) break;
                default: QUANT_ROW(CLAS_ACT_NONE) break;
                }
#undef QUANT_ROW
            }
        }
    }
}

void clas_q8_epilogue_strided(const int32_t *acc, int64_t acc_stride, int64_t rows, int64_t j0, int64_t nc,
                              const clas_q8_epilogue *e, float *yf, uint8_t *yq, const float *res, int64_t ldc) {
    epilogue_strided(acc, acc_stride, rows, j0, nc, e, yf, yq, res, ldc);
}

void clas_q8_epilogue_rows(const int32_t *acc, int64_t rows, int64_t n, const clas_q8_epilogue *e, float *yf,
                           uint8_t *yq, const float *res) {
    epilogue_strided(acc, n, rows, 0, n, e, yf, yq, res, n);
}

// MARK: quantisation

typedef struct {
    const float *x;
    uint8_t *q;
    float scale;
    int32_t zero;
    int act;
} quant_job;

static CLAS_MV void quantize_range(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const quant_job *j = ctx;
    const float *restrict x = j->x;
    uint8_t *restrict q = j->q;
    const float scale = j->scale;
    const int32_t zero = j->zero;
    const float lo = (float)(0 - zero), hi = (float)(255 - zero);
#define QLOOP(ACT)                                                                                                  \
    for (int64_t i = begin; i < end; i++) {                                                                         \
        float f = clas_act(ACT, x[i]) / scale;                                                                      \
        f = f < lo ? lo : f;                                                                                        \
        f = f > hi ? hi : f;                                                                                        \
        q[i] = (uint8_t)((int32_t)__builtin_rintf(f) + zero);                                                       \
    }
    switch (j->act) {  // one loop per activation, so each vectorises
    case CLAS_ACT_NONE: QLOOP(CLAS_ACT_NONE) break;
    case CLAS_ACT_RELU: QLOOP(CLAS_ACT_RELU) break;
    case CLAS_ACT_HARDSWISH: QLOOP(CLAS_ACT_HARDSWISH) break;
    default: QLOOP(j->act) break;
    }
#undef QLOOP
}

void clas_q8_quantize(const float *x, uint8_t *q, int64_t count, float scale, int32_t zero, int act) {
    quant_job j = {x, q, scale, zero, act};
    clas_parallel_for(count, 4 * CLAS_GRAIN, quantize_range, &j);
}

typedef struct {
    const float *x, *s;
    uint8_t *q;
    int64_t hw, c;
    float scale;
    int32_t zero;
} scaled_job;

static CLAS_MV void quantize_scaled_rows(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const scaled_job *j = ctx;
    const float scale = j->scale;
    const int32_t zero = j->zero;
    const float lo = (float)(0 - zero), hi = (float)(255 - zero);
    const int64_t c = j->c;
    for (int64_t r = begin; r < end; r++) {  // one pixel's channels
        const float *restrict x = j->x + r * c, *restrict s = j->s + (r / j->hw) * c;
        uint8_t *restrict q = j->q + r * c;
        for (int64_t i = 0; i < c; i++) {
            float p = x[i] * s[i];  // the Mul's float product, rounded as Mul rounds it
            float f = p / scale;
            f = f < lo ? lo : f;
            f = f > hi ? hi : f;
            q[i] = (uint8_t)((int32_t)__builtin_rintf(f) + zero);
        }
    }
}

void clas_q8_quantize_scaled(const float *x, const float *s, uint8_t *q, int64_t n, int64_t hw, int64_t c,
                             float scale, int32_t zero) {
    scaled_job j = {x, s, q, hw, c, scale, zero};
    clas_parallel_for(n * hw, (4 * CLAS_GRAIN + c - 1) / (c > 0 ? c : 1), quantize_scaled_rows, &j);
}
