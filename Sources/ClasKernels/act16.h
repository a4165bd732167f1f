// Activations on 16- and 8-float vectors, for the inference kernels' epilogues applied in registers (16 lanes are one
// AVX-512 register; 8 lanes are one AVX2 register, for kernels written for CPUs without AVX-512).
#ifndef CLAS_ACT16_H
#define CLAS_ACT16_H
#include "activations.h"

// These helpers are always inlined, so no call passes a vector: the baseline clone's ABI warning does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

/// Whether `clas_act16`/`clas_act8` compute `act` (the others go through `clas_epilogue_row`).
static inline __attribute__((always_inline)) bool clas_act16_supported(int act) {
    return act == CLAS_ACT_NONE || act == CLAS_ACT_RELU || act == CLAS_ACT_RELU6 || act == CLAS_ACT_HARDSWISH
           || act == CLAS_ACT_HARDSIGMOID || act == CLAS_ACT_SIGMOID || act == CLAS_ACT_SILU;
}

/// clas_vW / clas_iW (W float or int32 lanes), clas_expW (`clas_expf`'s range reduction and polynomial, ≈1 ulp),
/// clas_actW(act, x) for the activations `clas_act16_supported` names (others: x unchanged), and
/// clas_actW_many(act, x, n), the same on n ≤ CLAS_ACT_MANY vectors with the same result: sigmoid and SiLU run
/// stage by stage over all n, so their n independent chains interleave (one exp after another is bound by
/// latency: on Zen 2, 6.2 → 4.4 ns per 8 SiLU values in a loop).
/// Vectors `clas_actW_many` takes at most.
#define CLAS_ACT_MANY 16

#define CLAS_DEFINE_ACT(W)                                                                                           \
    typedef float clas_v##W __attribute__((vector_size(4 * W)));                                                    \
    typedef int32_t clas_i##W __attribute__((vector_size(4 * W)));                                                  \
    static inline __attribute__((always_inline)) clas_v##W clas_exp##W(clas_v##W x) {                               \
        const clas_v##W zero = {0};                                                                                  \
        x = __builtin_elementwise_min(x, zero + CLAS_EXP_MAX);                                                       \
        x = __builtin_elementwise_max(x, zero + CLAS_EXP_MIN);                                                       \
        const clas_v##W fx = __builtin_elementwise_floor(x * CLAS_LOG2E + 0.5f);                                     \
        const clas_v##W y = CLAS_EXP_POLY(x - fx * CLAS_LN2_HI - fx * CLAS_LN2_LO);                                  \
        clas_i##W n = __builtin_convertvector(fx, clas_i##W) + 127;                                                  \
        n = __builtin_elementwise_max(n, (clas_i##W){0} + 1);                                                        \
        return y * (clas_v##W)(n << 23);                                                                             \
    }                                                                                                                \
    static inline __attribute__((always_inline)) clas_v##W clas_act##W(int act, clas_v##W x) {                      \
        const clas_v##W zero = {0}, six = zero + 6.0f, three = zero + 3.0f, sixth = zero + (1.0f / 6.0f);            \
        switch (act) {                                                                                               \
        case CLAS_ACT_RELU: return __builtin_elementwise_max(x, zero);                                               \
        case CLAS_ACT_RELU6: return __builtin_elementwise_min(__builtin_elementwise_max(x, zero), six);              \
        case CLAS_ACT_HARDSWISH:                                                                                     \
            return x * __builtin_elementwise_min(__builtin_elementwise_max(x + three, zero), six) * sixth;           \
        case CLAS_ACT_HARDSIGMOID:                                                                                   \
            return __builtin_elementwise_min(__builtin_elementwise_max(x + three, zero), six) * sixth;               \
        case CLAS_ACT_SIGMOID: return 1.0f / (1.0f + clas_exp##W(-x));                                               \
        case CLAS_ACT_SILU: return x * (1.0f / (1.0f + clas_exp##W(-x)));                                           \
        default: return x;                                                                                           \
        }                                                                                                            \
    }                                                                                                                \
    static inline __attribute__((always_inline)) void clas_act##W##_many(int act, clas_v##W *x, const int n) {      \
        if (act != CLAS_ACT_SIGMOID && act != CLAS_ACT_SILU) {                                                       \
            for (int i = 0; i < n; i++) x[i] = clas_act##W(act, x[i]);                                               \
            return;                                                                                                  \
        }                                                                                                            \
        const clas_v##W zero = {0};                                                                                  \
        clas_v##W e[CLAS_ACT_MANY], fx[CLAS_ACT_MANY], r[CLAS_ACT_MANY], p[CLAS_ACT_MANY];                           \
        for (int i = 0; i < n; i++)                                                                                  \
            e[i] = __builtin_elementwise_max(__builtin_elementwise_min(-x[i], zero + CLAS_EXP_MAX),                  \
                                             zero + CLAS_EXP_MIN);                                                   \
        for (int i = 0; i < n; i++) fx[i] = __builtin_elementwise_floor(e[i] * CLAS_LOG2E + 0.5f);                   \
        for (int i = 0; i < n; i++) r[i] = e[i] - fx[i] * CLAS_LN2_HI - fx[i] * CLAS_LN2_LO;                         \
        for (int i = 0; i < n; i++) p[i] = CLAS_EXP_POLY(r[i]);                                                      \
        for (int i = 0; i < n; i++) {                                                                                \
            clas_i##W k = __builtin_convertvector(fx[i], clas_i##W) + 127;                                          \
            k = __builtin_elementwise_max(k, (clas_i##W){0} + 1);                                                    \
            e[i] = 1.0f + p[i] * (clas_v##W)(k << 23);                                                               \
        }                                                                                                            \
        for (int i = 0; i < n; i++) x[i] = act == CLAS_ACT_SILU ? x[i] * (1.0f / e[i]) : 1.0f / e[i];                \
    }

CLAS_DEFINE_ACT(16)
CLAS_DEFINE_ACT(8)
#undef CLAS_DEFINE_ACT
#endif
