// Shared helpers for the kernel files (not part of the public header).
#ifndef CLAS_INTERNAL_H
#define CLAS_INTERNAL_H
#include "ClasKernels.h"
#include <math.h>
#include <string.h>

/// Compiles a function for AVX-512, AVX2+FMA and baseline x86-64; the dynamic loader picks one per machine.
#if defined(__x86_64__) && defined(__clang__) && !defined(CLAS_NO_MULTIVERSION)
#define CLAS_MV __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLAS_MV
#endif

#define CLAS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CLAS_MAX(a, b) ((a) > (b) ? (a) : (b))

/// Elementwise work below this many floats runs on one thread (thread hand-off costs a few microseconds).
#define CLAS_GRAIN 32768

/// exp(x) by Cephes' range reduction and polynomial (≈1 ulp); pure arithmetic so loops around it vectorise.
static inline __attribute__((always_inline)) float clas_expf(float x) {
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    x = x < -87.3365447504f ? -87.3365447504f : x;
    float fx = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    x = x - fx * 0.693359375f + fx * 2.12194440e-4f;
    float z = x * x;
    float y = 1.9875691500E-4f;
    y = y * x + 1.3981999507E-3f;
    y = y * x + 8.3334519073E-3f;
    y = y * x + 4.1665795894E-2f;
    y = y * x + 1.6666665459E-1f;
    y = y * x + 5.0000001201E-1f;
    y = y * z + x + 1.0f;
    int32_t n = (int32_t)fx + 127;
    n = n < 1 ? 1 : n;
    uint32_t bits = (uint32_t)n << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return y * scale;
}

static inline __attribute__((always_inline)) float clas_sigmoidf(float x) { return 1.0f / (1.0f + clas_expf(-x)); }

/// Scratch memory of the calling OS thread, grown on demand, never shrunk (per-channel partial sums and the like).
/// `tid` is unused (kept for call-site clarity). Callers needing several regions carve them from one request.
void *clas_scratch(int tid, size_t bytes);

#endif
