// Integer GEMM: uint8 activations × packed int8 weights → int32, then the dequantising or requantising epilogue
// (int8_epilogue.c; the AVX512-VNNI kernel applies the float one in registers).
//
// Weights are packed once into panels of 16 output channels; within a panel, groups of 4 reduction indices hold
// 16 × 4 bytes, exactly the operand `vpdpbusd` multiplies with a broadcast of 4 activation bytes. The AVX512-VNNI
// microkernel keeps 6 rows × 32 channels of int32 accumulators in registers, the AVX-VNNI one 6 rows × 16; the
// portable loop computes the same sums. Accumulation is exact, so all three agree bit for bit.
#include "ClasInt8.h"
#include "internal.h"
#include "activations.h"
#include "int8_internal.h"
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// No fused multiply-add in the epilogue: scale then add, like the scalar reference the tests compare with.
#pragma clang fp contract(off)

#define MR 6
#define NRMAX CLAS_Q8_NRMAX

// MARK: dispatch

static int g_isa = -1;          // in use
static int g_isa_default = -1;  // best available
static uint32_t g_features;

static int best_isa(void) {
#if defined(__x86_64__)
    uint32_t f = g_features = clas_cpu_features();
    if ((f & CLAS_CPU_AVX512VNNI) && (f & CLAS_CPU_AVX512BW) && (f & CLAS_CPU_AVX512F)) return CLAS_Q8_AVX512VNNI;
    if ((f & CLAS_CPU_AVXVNNI) && (f & CLAS_CPU_AVX2)) return CLAS_Q8_AVXVNNI;
#endif
    return CLAS_Q8_PORTABLE;
}

int clas_q8_isa(void) {
    if (g_isa_default < 0) g_isa_default = best_isa();
    return g_isa < 0 ? g_isa_default : g_isa;
}

const char *clas_q8_isa_name(int isa) {
    switch (isa) {
    case CLAS_Q8_AVX512VNNI: return "AVX512-VNNI";
    case CLAS_Q8_AVXVNNI: return "AVX-VNNI";
    default: return "portable";
    }
}

int clas_q8_set_isa(int isa) {
    if (g_isa_default < 0) g_isa_default = best_isa();
    if (isa < 0) { g_isa = -1; return 1; }
    // The 256-bit kernel runs with AVX-VNNI or, on AVX-512 machines without it, the EVEX form of the same instruction.
    int ok = isa == CLAS_Q8_PORTABLE || isa == g_isa_default ||
             (isa == CLAS_Q8_AVXVNNI && g_isa_default == CLAS_Q8_AVX512VNNI);
    if (ok) g_isa = isa;
    return ok;
}

// MARK: packing

int64_t clas_q8_packed_size(int64_t n, int64_t k) { return ((n + 15) / 16) * ((k + 3) / 4) * 64; }

void clas_q8_pack(const int8_t *w, int64_t n, int64_t k, int8_t *packed, int32_t *rowsum) {
    int64_t G = (k + 3) / 4;
    memset(packed, 0, (size_t)clas_q8_packed_size(n, k));
    for (int64_t j = 0; j < n; j++) {
        int32_t s = 0;
        int8_t *dst = packed + (j / 16) * G * 64 + (j % 16) * 4;
        for (int64_t i = 0; i < k; i++) {
            dst[(i / 4) * 64 + i % 4] = w[j * k + i];
            s += w[j * k + i];
        }
        rowsum[j] = s;
    }
}

// MARK: epilogue

/// The scalar epilogue (int8_epilogue.c) on a microkernel's accumulators.
static void epilogue(const int32_t *acc, int rows, int64_t j0, int nc, const clas_q8_epilogue *e, float *yf,
                     uint8_t *yq, const float *res, int64_t ldc) {
    clas_q8_epilogue_strided(acc, NRMAX, rows, j0, nc, e, yf, yq, res, ldc);
}

// MARK: microkernels: acc[r][0 ..< 16·np] = Σ_g A[r][4g ..< 4g+4] · panel

static inline int32_t load4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void ukernel_portable(const uint8_t *a, int64_t lda, int mr, const int8_t *b, int64_t G, int np,
                             int32_t *acc) {
    for (int r = 0; r < mr; r++) {
        for (int q = 0; q < np; q++) {
            int32_t s[16] = {0};
            const int8_t *panel = b + q * G * 64;
            for (int64_t g = 0; g < G; g++) {
                const uint8_t *x = a + r * lda + 4 * g;
                const int8_t *w = panel + g * 64;
                for (int c = 0; c < 16; c++)
                    s[c] += x[0] * w[4 * c] + x[1] * w[4 * c + 1] + x[2] * w[4 * c + 2] + x[3] * w[4 * c + 3];
            }
            memcpy(acc + r * NRMAX + q * 16, s, sizeof s);
        }
    }
}

#if defined(__x86_64__) && defined(__clang__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define T256 __attribute__((target("avx2,avxvnni")))
#define T256E __attribute__((target("avx2,avx512f,avx512vl,avx512vnni")))

static inline __attribute__((always_inline)) T512 void k512(const uint8_t *a, int64_t lda, const int8_t *b, int64_t G,
                                                            int32_t *acc, const int mr, const int np) {
    __m512i c[MR][2];
    for (int r = 0; r < mr; r++) c[r][0] = c[r][1] = _mm512_setzero_si512();
    for (int64_t g = 0; g < G; g++) {
        __m512i w0 = _mm512_loadu_si512(b + g * 64);
        __m512i w1 = np > 1 ? _mm512_loadu_si512(b + G * 64 + g * 64) : w0;
        for (int r = 0; r < mr; r++) {
            __m512i x = _mm512_set1_epi32(load4(a + r * lda + 4 * g));
            c[r][0] = _mm512_dpbusd_epi32(c[r][0], x, w0);
            if (np > 1) c[r][1] = _mm512_dpbusd_epi32(c[r][1], x, w1);
        }
    }
    for (int r = 0; r < mr; r++) {
        _mm512_storeu_si512(acc + r * NRMAX, c[r][0]);
        if (np > 1) _mm512_storeu_si512(acc + r * NRMAX + 16, c[r][1]);
    }
}

/// hard-swish as `clas_act` computes it: x · min(max(x + 3, 0), 6) · (1/6).
static inline __attribute__((always_inline)) T512 __m512 hswish512(__m512 x) {
    __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(x, _mm512_set1_ps(3.0f)), _mm512_setzero_ps()),
                             _mm512_set1_ps(6.0f));
    return _mm512_mul_ps(_mm512_mul_ps(x, t), _mm512_set1_ps(1.0f / 6.0f));
}

/// The same product with the float epilogue applied in registers, for columns j0 ..< j0 + nc (a last panel of fewer
/// than 16 is read and written under a mask), writing the float value to `y` and/or its quantisation (`QUANT_F`, with
/// activation `e->q_act`) to `q`.
static inline __attribute__((always_inline)) T512 void k512f(const uint8_t *a, int64_t lda, const int8_t *b, int64_t G,
                                                             const clas_q8_epilogue *e, int64_t j0, float *y,
                                                             uint8_t *yq, const float *res, int64_t ldc, int nc,
                                                             const int mr, const int np) {
    __m512i c[MR][2];
    for (int r = 0; r < mr; r++) c[r][0] = c[r][1] = _mm512_setzero_si512();
    for (int64_t g = 0; g < G; g++) {
        __m512i w0 = _mm512_loadu_si512(b + g * 64);
        __m512i w1 = np > 1 ? _mm512_loadu_si512(b + G * 64 + g * 64) : w0;
        for (int r = 0; r < mr; r++) {
            __m512i x = _mm512_set1_epi32(load4(a + r * lda + 4 * g));
            c[r][0] = _mm512_dpbusd_epi32(c[r][0], x, w0);
            if (np > 1) c[r][1] = _mm512_dpbusd_epi32(c[r][1], x, w1);
        }
    }
    const __m512 qs = _mm512_set1_ps(e->q_scale), lo = _mm512_set1_ps((float)(0 - e->y_zero)),
                 hi = _mm512_set1_ps((float)(255 - e->y_zero));
    const __m512i zy = _mm512_set1_epi32(e->y_zero);
    for (int q = 0; q < np; q++) {
        int64_t j = j0 + 16 * q;
        const int valid = nc - 16 * q;
        const __mmask16 m = valid >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << valid) - 1);
        __m512i corr = e->rowsum ? _mm512_mullo_epi32(_mm512_set1_epi32(-e->a_zero), _mm512_maskz_loadu_epi32(m, e->rowsum + j))
                                 : _mm512_setzero_si512();
        __m512 scale = _mm512_maskz_loadu_ps(m, e->scale + j);
        __m512 bias = e->bias ? _mm512_maskz_loadu_ps(m, e->bias + j) : _mm512_setzero_ps();
        for (int r = 0; r < mr; r++) {
            __m512 f = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(c[r][q], corr)), scale), bias);
            if (res) f = _mm512_add_ps(f, _mm512_maskz_loadu_ps(m, res + r * ldc + j));
            if (e->relu == CLAS_ACT_HARDSWISH) f = hswish512(f);
            else if (e->relu) f = _mm512_max_ps(f, _mm512_setzero_ps());
            if (y) _mm512_mask_storeu_ps(y + r * ldc + j, m, f);
            if (yq) {
                __m512 v = e->q_act == CLAS_ACT_RELU ? _mm512_max_ps(f, _mm512_setzero_ps())
                         : e->q_act == CLAS_ACT_HARDSWISH ? hswish512(f) : f;
                v = _mm512_min_ps(_mm512_max_ps(_mm512_div_ps(v, qs), lo), hi);  // QUANT_F's clamps
                __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(v), zy);    // rounds to nearest even (MXCSR)
                _mm_mask_storeu_epi8(yq + r * ldc + j, m, _mm512_cvtepi32_epi8(i));
            }
        }
    }
}

static T512 void ukernel_512f(const uint8_t *a, int64_t lda, int mr, const int8_t *b, int64_t G, int nc,
                              const clas_q8_epilogue *e, int64_t j0, float *y, uint8_t *yq, const float *res,
                              int64_t ldc) {
#define CASE(R) case R: nc > 16 ? k512f(a, lda, b, G, e, j0, y, yq, res, ldc, nc, R, 2) : k512f(a, lda, b, G, e, j0, y, yq, res, ldc, nc, R, 1); break;
    switch (mr) { CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) }
#undef CASE
}

static T512 void ukernel_512(const uint8_t *a, int64_t lda, int mr, const int8_t *b, int64_t G, int np, int32_t *acc) {
#define CASE(R) case R: np > 1 ? k512(a, lda, b, G, acc, R, 2) : k512(a, lda, b, G, acc, R, 1); break;
    switch (mr) { CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) }
#undef CASE
}

#define K256(NAME, TARGET, DPBUSD)                                                                                  \
    static inline __attribute__((always_inline)) TARGET void NAME##_k(const uint8_t *a, int64_t lda, const int8_t *b, \
                                                                     int64_t G, int32_t *acc, const int mr) {      \
        __m256i c[MR][2];                                                                                           \
        for (int r = 0; r < mr; r++) c[r][0] = c[r][1] = _mm256_setzero_si256();                                   \
        for (int64_t g = 0; g < G; g++) {                                                                           \
            __m256i w0 = _mm256_loadu_si256((const __m256i *)(b + g * 64));                                         \
            __m256i w1 = _mm256_loadu_si256((const __m256i *)(b + g * 64 + 32));                                    \
            for (int r = 0; r < mr; r++) {                                                                          \
                __m256i x = _mm256_set1_epi32(load4(a + r * lda + 4 * g));                                          \
                c[r][0] = DPBUSD(c[r][0], x, w0);                                                                   \
                c[r][1] = DPBUSD(c[r][1], x, w1);                                                                   \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < mr; r++) {                                                                              \
            _mm256_storeu_si256((__m256i *)(acc + r * NRMAX), c[r][0]);                                             \
            _mm256_storeu_si256((__m256i *)(acc + r * NRMAX + 8), c[r][1]);                                         \
        }                                                                                                           \
    }                                                                                                               \
    static TARGET void NAME(const uint8_t *a, int64_t lda, int mr, const int8_t *b, int64_t G, int np, int32_t *acc) { \
        for (int q = 0; q < np; q++) {                                                                              \
            const int8_t *bq = b + q * G * 64;                                                                      \
            int32_t *aq = acc + q * 16;                                                                             \
            switch (mr) {                                                                                           \
            case 1: NAME##_k(a, lda, bq, G, aq, 1); break;                                                          \
            case 2: NAME##_k(a, lda, bq, G, aq, 2); break;                                                          \
            case 3: NAME##_k(a, lda, bq, G, aq, 3); break;                                                          \
            case 4: NAME##_k(a, lda, bq, G, aq, 4); break;                                                          \
            case 5: NAME##_k(a, lda, bq, G, aq, 5); break;                                                          \
            default: NAME##_k(a, lda, bq, G, aq, 6); break;                                                         \
            }                                                                                                       \
        }                                                                                                           \
    }
// AVX-VNNI (VEX) for Alder Lake / Sapphire Rapids class; the EVEX twin on AVX512-VNNI CPUs without it (Zen 4).
K256(ukernel_256, T256, _mm256_dpbusd_avx_epi32)
K256(ukernel_256evex, T256E, _mm256_dpbusd_epi32)
#endif

typedef void (*ukernel_fn)(const uint8_t *, int64_t, int, const int8_t *, int64_t, int, int32_t *);

static ukernel_fn ukernel_for(int isa) {
#if defined(__x86_64__) && defined(__clang__)
    if (isa == CLAS_Q8_AVX512VNNI) return ukernel_512;
    if (isa == CLAS_Q8_AVXVNNI) return (g_features & CLAS_CPU_AVXVNNI) ? ukernel_256 : ukernel_256evex;
#endif
    (void)isa;
    return ukernel_portable;
}

// MARK: blocks and the parallel driver

/// Rows [0, rows) of A (already offset) times panels covering columns [j0, j1), into output rows at yf/yq.
void clas_q8_block(const uint8_t *a, int64_t lda, int64_t rows, const int8_t *packed, int64_t k, int64_t j0,
                   int64_t j1, const clas_q8_epilogue *e, float *yf, uint8_t *yq, const float *res, int64_t ldc) {
    int isa = clas_q8_isa();
    ukernel_fn kernel = ukernel_for(isa);
    int64_t G = (k + 3) / 4;
    int32_t acc[MR * NRMAX];
    for (int64_t j = j0; j < j1; j += NRMAX) {
        int nc = (int)CLAS_MIN(NRMAX, j1 - j);
        int np = (nc + 15) / 16;
        const int8_t *b = packed + (j / 16) * G * 64;
        for (int64_t r = 0; r < rows; r += MR) {
            int mr = (int)CLAS_MIN(MR, rows - r);
#if defined(__x86_64__) && defined(__clang__)
            if (isa == CLAS_Q8_AVX512VNNI && !(yq && e->requant)) {
                ukernel_512f(a + r * lda, lda, mr, b, G, nc, e, j, yf ? yf + r * ldc : NULL, yq ? yq + r * ldc : NULL,
                             res ? res + r * ldc : NULL, ldc);
                continue;
            }
#endif
            kernel(a + r * lda, lda, mr, b, G, np, acc);
            epilogue(acc, mr, j, nc, e, yf ? yf + r * ldc : NULL, yq ? yq + r * ldc : NULL, res ? res + r * ldc : NULL,
                     ldc);
        }
    }
}

typedef struct {
    const uint8_t *a;
    int64_t lda, m, n, k, rb, cb, col_blocks;
    const int8_t *packed;
    const clas_q8_epilogue *e;
    float *yf;
    uint8_t *yq;
    int64_t ldc;
} gemm_job;

static void gemm_tiles(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const gemm_job *g = ctx;
    for (int64_t t = begin; t < end; t++) {
        int64_t r0 = (t / g->col_blocks) * g->rb, j0 = (t % g->col_blocks) * g->cb;
        int64_t rows = CLAS_MIN(g->rb, g->m - r0), j1 = CLAS_MIN(g->n, j0 + g->cb);
        clas_q8_block(g->a + r0 * g->lda, g->lda, rows, g->packed, g->k, j0, j1, g->e,
                      g->yf ? g->yf + r0 * g->ldc : NULL, g->yq ? g->yq + r0 * g->ldc : NULL,
                      g->e->residual ? g->e->residual + r0 * g->ldc : NULL, g->ldc);
    }
}

/// Row and column block sizes: whole rows of columns when there are enough row blocks for every thread, else
/// 32-column blocks so that a small batch (a linear layer) still uses every core.
void clas_q8_tiling(int64_t m, int64_t n, int64_t *rb, int64_t *cb) {
    int64_t threads = clas_num_threads();
    *rb = 96;
    *cb = n;
    if ((m + *rb - 1) / *rb < 2 * threads) {
        *rb = CLAS_MAX(MR, ((m + 2 * threads - 1) / (2 * threads) + MR - 1) / MR * MR);
        if ((m + *rb - 1) / *rb < 2 * threads) *cb = CLAS_MAX(NRMAX, (n / threads + NRMAX - 1) / NRMAX * NRMAX);
    }
}

void clas_q8_gemm(const uint8_t *a, int64_t lda, int64_t m, const int8_t *packed, int64_t n, int64_t k,
                  const clas_q8_epilogue *e, float *yf, uint8_t *yq, int64_t ldc) {
    gemm_job g = {.a = a, .lda = lda, .m = m, .n = n, .k = k, .packed = packed, .e = e, .yf = yf, .yq = yq,
                  .ldc = ldc};
    clas_q8_tiling(m, n, &g.rb, &g.cb);
    g.col_blocks = (n + g.cb - 1) / g.cb;
    int64_t tiles = ((m + g.rb - 1) / g.rb) * g.col_blocks;
    clas_parallel_for(tiles, 2, gemm_tiles, &g);
}
