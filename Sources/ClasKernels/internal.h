// Shared helpers for the kernel files (not part of the public header).
#ifndef CLAS_INTERNAL_H
#define CLAS_INTERNAL_H
#include "ClasKernels.h"
#include <math.h>
#include <string.h>

/// Compiles a function for AVX-512, AVX2+FMA and baseline x86-64; the dynamic loader picks one per machine.
#if defined(__x86_64__) && defined(__clang__) && !defined(CLAS_NO_MULTIVERSION)
#define CLAS_MV __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
/// For a kernel written twice: the AVX-512 form is compiled for x86-64-v4 alone, the other form for AVX2+FMA and
/// baseline x86-64 (callers pick with `clas_mv_avx512()`).
#define CLAS_AVX512_ONLY __attribute__((target("arch=x86-64-v4")))
#define CLAS_MV_NARROW __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLAS_MV
#define CLAS_AVX512_ONLY
#define CLAS_MV_NARROW
#endif

/// Whether CLAS_MV functions run their AVX-512 clone, where a 16-float vector is one register (on AVX2 it is two,
/// so register-blocked kernels take smaller blocks). Asked the way the loader chose the clone.
static inline bool clas_mv_avx512(void) {
    static int avx512 = -1;  // benign race: every thread computes the same value
    if (avx512 < 0) avx512 = __builtin_cpu_supports("avx512f") != 0;
    return avx512;
}

#define CLAS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CLAS_MAX(a, b) ((a) > (b) ? (a) : (b))

/// Elementwise work below this many floats runs on one thread (thread hand-off costs a few microseconds).
#define CLAS_GRAIN 32768

// exp's range reduction (x = n·ln2 + r, ln2 split in two for exactness) and clamps, shared by clas_expf and the
// 16-lane clas_exp16 (act16.h).
#define CLAS_EXP_MAX 88.3762626647949f
#define CLAS_EXP_MIN (-87.3365447504f)
#define CLAS_LOG2E 1.44269504088896341f
#define CLAS_LN2_HI 0.693359375f
#define CLAS_LN2_LO (-2.12194440e-4f)

/// Cephes' polynomial for exp(r), |r| ≤ ln2/2, in scalar or vector arithmetic (1 + r + r²·P(r)).
#define CLAS_EXP_POLY(r)                                                                                              \
    ({                                                                                                                \
        const __typeof__(r) r_ = (r), z_ = r_ * r_;                                                                   \
        __typeof__(r) y_ = (__typeof__(r)){0} + 1.9875691500E-4f;                                                     \
        y_ = y_ * r_ + 1.3981999507E-3f;                                                                              \
        y_ = y_ * r_ + 8.3334519073E-3f;                                                                              \
        y_ = y_ * r_ + 4.1665795894E-2f;                                                                              \
        y_ = y_ * r_ + 1.6666665459E-1f;                                                                              \
        y_ = y_ * r_ + 5.0000001201E-1f;                                                                              \
        y_ * z_ + r_ + 1.0f;                                                                                          \
    })

/// exp(x) by Cephes' range reduction and polynomial (≈1 ulp); pure arithmetic so loops around it vectorise.
static inline __attribute__((always_inline)) float clas_expf(float x) {
    x = x > CLAS_EXP_MAX ? CLAS_EXP_MAX : x;
    x = x < CLAS_EXP_MIN ? CLAS_EXP_MIN : x;
    const float fx = __builtin_floorf(x * CLAS_LOG2E + 0.5f);
    const float y = CLAS_EXP_POLY(x - fx * CLAS_LN2_HI - fx * CLAS_LN2_LO);
    int32_t n = (int32_t)fx + 127;
    n = n < 1 ? 1 : n;
    uint32_t bits = (uint32_t)n << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return y * scale;
}

/// Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF, and (in *pdf_exp) exp(−x²/2): the pieces of the exact GELU
/// x·Φ(x) and of its derivative Φ(x) + x·exp(−x²/2)/√(2π). Pure branch-free arithmetic, so loops around it
/// vectorise (16 lanes in the AVX-512 clone). With a = |x|/√2, one formula on the whole line:
/// ½erfc(a) = ½exp(−a²)·P(u)/(a + 1.5) with u = (a − 1.5)/(a + 1.5) and P a degree-10 least-relative-error fit of
/// (a + 1.5)·erfcx(a) on [0, 12] (relative error 1.7e-8 in exact arithmetic, 1.4e-7 evaluated in float); Φ is
/// 1 − ½erfc(a) for x > 0 and ½erfc(a) below, so it keeps its relative accuracy on the negative tail instead of
/// cancelling in 1 + erf. x² is split exactly, x² = x2 + lo, so exp(−x²/2) gets an exact argument: with `fma` by one
/// fused multiply-add (only in functions compiled for FMA: elsewhere fmaf is a library call), else by Veltkamp's
/// split of x. exp(−x²/2) is 0 beyond |x| = 13. P is evaluated by Estrin's scheme (four dependent steps instead of
/// ten), which is what bounds the speed of a vectorised loop around it.
static inline __attribute__((always_inline)) float clas_normal_cdf_fma(float x, float *pdf_exp, const bool fma) {
    const float a = CLAS_MIN(__builtin_fabsf(x) * 0.70710678118654752f, 12.0f);
    const float xc = CLAS_MIN(CLAS_MAX(x, -13.0f), 13.0f);  // exp(−84.5) ≈ 2e-37: beyond, exp(−x²/2) is 0
    const float x2 = xc * xc;
    float lo;
    if (fma) {
        lo = __builtin_fmaf(xc, xc, -x2);
    } else {
        const float c = xc * 4097.0f, xh = c - (c - xc), xl = xc - xh;
        lo = ((xh * xh - x2) + 2.0f * xh * xl) + xl * xl;
    }
    const float e = __builtin_fabsf(x) <= 13.0f ? clas_expf(-0.5f * x2) * (1.0f - 0.5f * lo) : 0.0f;
    // erfc(a) = e·P(u)·r
    const float r = 1.0f / (a + 1.5f);
    const float u = (a - 1.5f) * r, u2 = u * u, u4 = u2 * u2;
    const float p01 = 9.647562358e-01f - 5.078501056e-01f * u, p23 = 7.562295742e-02f + 4.777077774e-02f * u;
    const float p45 = -8.135070048e-03f - 9.480755991e-03f * u, p67 = -7.389334581e-04f + 1.844996995e-03f * u;
    const float p89 = 7.429164503e-04f - 1.862647778e-04f * u;
    const float q0 = p01 + p23 * u2, q1 = p45 + p67 * u2, q2 = p89 - 1.494819148e-04f * u2;
    const float p = (q0 + q1 * u4) + q2 * (u4 * u4);
    const float half_erfc = 0.5f * e * p * r;
    *pdf_exp = e;
    return x > 0.0f ? 1.0f - half_erfc : half_erfc;
}

/// Φ(x) and exp(−x²/2) for any target (see clas_normal_cdf_fma).
static inline __attribute__((always_inline)) float clas_normal_cdf(float x, float *pdf_exp) {
    return clas_normal_cdf_fma(x, pdf_exp, false);
}

static inline __attribute__((always_inline)) float clas_sigmoidf(float x) { return 1.0f / (1.0f + clas_expf(-x)); }

/// bf16 bits of x, rounded to nearest even; NaN stays a (quiet) NaN.
static inline __attribute__((always_inline)) uint32_t clas_bf16_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1)) >> 16;
    return (u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40 : rounded;
}

/// dst[i] = x[i] rounded to bfloat16 (AMP's stored activations); a select, no branch, so callers' loops vectorise.
static inline __attribute__((always_inline)) void clas_bf16_from_float(const float *restrict x,
                                                                       uint16_t *restrict dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = (uint16_t)clas_bf16_bits(x[i]);
}

/// dst[i] = the float32 value of bfloat16 x[i] (exact).
static inline __attribute__((always_inline)) void clas_bf16_to_float(const uint16_t *restrict x, float *restrict dst,
                                                                     int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)x[i] << 16;
        memcpy(dst + i, &u, 4);
    }
}

/// Scratch memory of the calling OS thread, grown on demand, never shrunk (per-channel partial sums and the like).
/// `tid` is unused (kept for call-site clarity). Callers needing several regions carve them from one request.
void *clas_scratch(int tid, size_t bytes);

/// im2col of the output rows (n·oh) begin ..< end into col, row (r − begin)·ow + ow (im2col.c).
void clas_im2col_rows(const clas_conv_geom *g, const float *x, int64_t c0, int64_t cg, int64_t begin, int64_t end,
                      float *col);
/// Adds the im2col rows of output rows begin ..< end (as clas_im2col_rows lays them out) back into dx (im2col.c).
void clas_col2im_rows(const clas_conv_geom *g, const float *col, int64_t c0, int64_t cg, int64_t begin, int64_t end,
                      float *dx);
/// h += b (per row, b may be NULL) and a = GELU(h) over `rows` rows of width n (gelu.c).
void clas_gelu_rows(float *h, const float *b, float *a, int64_t rows, int64_t n);
/// a = GELU(h), d *= GELU′(h) and db[i] += d[i] over `rows` rows of width n (gelu.c).
void clas_gelu_grad_rows(const float *h, float *a, float *d, float *db, int64_t rows, int64_t n);

/// `clas_gemm_rows` with op(A) = Aᵀ when transA (A then [K, M]): C = op(A)·B (+ C) (gemm_rows.c).
void clas_gemm_rows_ta(bool transA, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                       int64_t ldb, float *C, int64_t ldc, bool accumulate);

#endif
