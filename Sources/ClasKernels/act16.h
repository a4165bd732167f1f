// Activations on 16-float vectors, for the inference kernels' epilogues applied in registers.
#ifndef CLAS_ACT16_H
#define CLAS_ACT16_H
#include "activations.h"

// These helpers are always inlined, so no call passes a vector: the baseline clone's ABI warning does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float clas_v16 __attribute__((vector_size(64)));
typedef int32_t clas_i16 __attribute__((vector_size(64)));

/// exp on 16 lanes: `clas_expf`'s range reduction and polynomial (≈1 ulp).
static inline __attribute__((always_inline)) clas_v16 clas_exp16(clas_v16 x) {
    const clas_v16 zero = {0};
    x = __builtin_elementwise_min(x, zero + CLAS_EXP_MAX);
    x = __builtin_elementwise_max(x, zero + CLAS_EXP_MIN);
    const clas_v16 fx = __builtin_elementwise_floor(x * CLAS_LOG2E + 0.5f);
    const clas_v16 y = CLAS_EXP_POLY(x - fx * CLAS_LN2_HI - fx * CLAS_LN2_LO);
    clas_i16 n = __builtin_convertvector(fx, clas_i16) + 127;
    n = __builtin_elementwise_max(n, (clas_i16){0} + 1);
    return y * (clas_v16)(n << 23);
}

/// Whether `clas_act16` computes `act` (the others go through `clas_epilogue_row`).
static inline __attribute__((always_inline)) bool clas_act16_supported(int act) {
    return act == CLAS_ACT_NONE || act == CLAS_ACT_RELU || act == CLAS_ACT_RELU6 || act == CLAS_ACT_HARDSWISH
           || act == CLAS_ACT_HARDSIGMOID || act == CLAS_ACT_SIGMOID || act == CLAS_ACT_SILU;
}

/// act(x) on 16 lanes, for the activations `clas_act16_supported` names (others: x unchanged).
static inline __attribute__((always_inline)) clas_v16 clas_act16(int act, clas_v16 x) {
    const clas_v16 zero = {0}, six = zero + 6.0f, three = zero + 3.0f, sixth = zero + (1.0f / 6.0f);
    switch (act) {
    case CLAS_ACT_RELU: return __builtin_elementwise_max(x, zero);
    case CLAS_ACT_RELU6: return __builtin_elementwise_min(__builtin_elementwise_max(x, zero), six);
    case CLAS_ACT_HARDSWISH: return x * __builtin_elementwise_min(__builtin_elementwise_max(x + three, zero), six) * sixth;
    case CLAS_ACT_HARDSIGMOID: return __builtin_elementwise_min(__builtin_elementwise_max(x + three, zero), six) * sixth;
    case CLAS_ACT_SIGMOID: return 1.0f / (1.0f + clas_exp16(-x));
    case CLAS_ACT_SILU: return x * (1.0f / (1.0f + clas_exp16(-x)));
    default: return x;
    }
}
#endif
