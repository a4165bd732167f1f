// Depthwise convolution over NHWC: channel vectors accumulate the k×k taps; weights are repacked tap-major.
#include "act16.h"
#include <stdlib.h>

typedef struct {
    const clas_conv_geom *g;
    const float *x, *wt, *bias, *dy;  // wt: [kh·kw][c]
    float *y, *dx;
    float *dw_partials;               // [threads][kh·kw + 1][c] (last row: bias)
    int act;                          // activation of the outputs (inference)
} dw_job;

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
// Unaligned vector loads and stores as macros: vector-typed function arguments would change the ABI of the
// baseline clone.
#define ld16(p) ({ v16 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define st16(p, v) do { v16 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
#define ld8(p) ({ v8 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define st8(p, v) do { v8 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)

/// Output pixels per register block of the sliding forward kernels.
#define DW_PIXELS 8
/// Input vectors one kernel row of such a block reads at most (stride 2, 5 taps).
#define DW_INPUTS (2 * (DW_PIXELS - 1) + 5)

/// Valid tap range [lo, hi) for an output position whose first tap lands on input index `i0`.
static inline __attribute__((always_inline)) void tap_range(int64_t i0, int64_t k, int64_t d, int64_t size,
                                                            int64_t *lo, int64_t *hi) {
    int64_t a = 0, b = k;
    while (a < b && i0 + a * d < 0) a++;
    while (b > a && i0 + (b - 1) * d >= size) b--;
    *lo = a;
    *hi = b;
}

/// Output pixels [ow, ow + NP) of one row, all channels in 16-channel vectors (C ≥ 16). K > 0: a K-wide kernel at stride
/// S and dilation 1: each input vector of a kernel row is loaded once (zero outside the row) and reused by every
/// output it feeds; K = 0: any geometry (NP = 1 clips the taps to the row, NP = 4 needs all taps inside it).
/// Accumulation order as the channel tails below: bias, then taps kh, kw.
/// RELU: the activation is ReLU (a max in registers instead of a dispatch on the activation per store); INSIDE
/// (K > 0): the block's input columns all lie in the row (unconditional loads).
static inline __attribute__((always_inline)) void dw_fwd_pixels16_at(const dw_job *j, const float *xn, int64_t ih0,
                                                                     int64_t kh_lo, int64_t kh_hi, int64_t ow,
                                                                     const int NP, const int K, const int S,
                                                                     float *yrow, const bool RELU, const bool INSIDE) {
    const clas_conv_geom *g = j->g;
    const int64_t C = g->c, KW = g->kw, SW = g->sw, DW = g->dw, W = g->w;
    const int64_t iw0 = ow * SW - g->pl;
    int64_t kw_lo = 0, kw_hi = KW;
    if (K == 0 && NP == 1) tap_range(iw0, KW, DW, W, &kw_lo, &kw_hi);
    // A channel count that is no multiple of 16 ends with a vector overlapping the previous one (the same values
    // computed and stored twice) instead of a slow 8-wide and scalar tail.
    for (int64_t blk = 0, blocks = (C + 15) / 16; blk < blocks; blk++) {
        const int64_t c0 = CLAS_MIN(blk * 16, C - 16);
        v16 bias = j->bias ? ld16(j->bias + c0) : (v16){0};
        v16 a[DW_PIXELS];
        for (int p = 0; p < NP; p++) a[p] = bias;
        for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
            const float *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
            const float *wr = j->wt + kh * KW * C + c0;
            if (K > 0) {
                v16 xv[DW_INPUTS];
                for (int i = 0; i < S * (NP - 1) + K; i++) {
                    int64_t iw = iw0 + i;
                    xv[i] = INSIDE || (iw >= 0 && iw < W) ? ld16(xr + iw * C) : (v16){0};
                }
                for (int kw = 0; kw < K; kw++) {
                    v16 wv = ld16(wr + kw * C);
                    for (int p = 0; p < NP; p++) a[p] += xv[S * p + kw] * wv;
                }
            } else {
                for (int64_t kw = kw_lo; kw < kw_hi; kw++) {
                    v16 wv = ld16(wr + kw * C);
                    const float *xp = xr + (iw0 + kw * DW) * C;
                    for (int p = 0; p < NP; p++) a[p] += ld16(xp + p * SW * C) * wv;
                }
            }
        }
        for (int p = 0; p < NP; p++) {
            v16 r = a[p];
            if (RELU) r = __builtin_elementwise_max(r, (v16){0});
            else if (clas_act16_supported(j->act)) r = clas_act16(j->act, r);
            st16(yrow + (ow + p) * C + c0, r);
        }
    }
}

/// Whole-vector channels [0, C16) of one output row by a K-wide kernel at stride S sliding over blocks of 8, 4, 2
/// or 1 pixels (borders included), whole blocks inside the row with unconditional loads. One function per (K, S,
/// ReLU), each instance compiled on its own: on one Zen 4 core, MobileOne-S0's 3×3 ReLU layers at 224 px took
/// 100 → 71 µs (112×112×48 stride 2), 36 → 29 µs (28×28×128), 24 → 19 µs (14×14×256) against one function with
/// a dispatch on the activation per store and blocks of 8, 4 or 1 pixels (kernel harness, thread CPU time).
/// WIDE = 0 (CPUs without AVX-512, where a 16-float vector is two registers): blocks of at most 4 pixels, so the
/// accumulators stay in AVX2's sixteen registers.
#define DW_BLOCK(NP, INSIDE) dw_fwd_pixels16_at(j, xn, ih0, kh_lo, kh_hi, ow, NP, k_, s_, yrow, relu_, INSIDE)
#define DEFINE_DW_ROW(NAME, K, S, RELU, WIDE)                                                                       \
    static CLAS_MV void NAME(const dw_job *j, const float *xn, int64_t ih0, int64_t kh_lo, int64_t kh_hi,           \
                             float *yrow) {                                                                         \
        enum { k_ = K, s_ = S, relu_ = RELU };                                                                      \
        for (int64_t ow = 0; ow < j->g->ow;) {                                                                      \
            int64_t left = j->g->ow - ow, iw0 = ow * S - j->g->pl;                                                  \
            int np = WIDE && left >= DW_PIXELS ? DW_PIXELS : left >= 4 ? 4 : left >= 2 ? 2 : 1;                     \
            if (np == DW_PIXELS && iw0 >= 0 && iw0 + S * (DW_PIXELS - 1) + K <= j->g->w) DW_BLOCK(DW_PIXELS, true); \
            else if (np == DW_PIXELS) DW_BLOCK(DW_PIXELS, false);                                                   \
            else if (np == 4 && !WIDE && iw0 >= 0 && iw0 + S * 3 + K <= j->g->w) DW_BLOCK(4, true);                 \
            else if (np == 4) DW_BLOCK(4, false);                                                                   \
            else if (np == 2) DW_BLOCK(2, false);                                                                   \
            else DW_BLOCK(1, false);                                                                                \
            ow += np;                                                                                               \
        }                                                                                                           \
    }
#define DEFINE_DW_ROWS(WIDE, SUFFIX)                                                                                \
    DEFINE_DW_ROW(dw_row_k3s1##SUFFIX, 3, 1, false, WIDE)                                                           \
    DEFINE_DW_ROW(dw_row_k3s2##SUFFIX, 3, 2, false, WIDE)                                                           \
    DEFINE_DW_ROW(dw_row_k5s1##SUFFIX, 5, 1, false, WIDE)                                                           \
    DEFINE_DW_ROW(dw_row_k5s2##SUFFIX, 5, 2, false, WIDE)                                                           \
    DEFINE_DW_ROW(dw_row_k3s1_relu##SUFFIX, 3, 1, true, WIDE)                                                       \
    DEFINE_DW_ROW(dw_row_k3s2_relu##SUFFIX, 3, 2, true, WIDE)                                                       \
    DEFINE_DW_ROW(dw_row_k5s1_relu##SUFFIX, 5, 1, true, WIDE)                                                       \
    DEFINE_DW_ROW(dw_row_k5s2_relu##SUFFIX, 5, 2, true, WIDE)
DEFINE_DW_ROWS(1, )
DEFINE_DW_ROWS(0, _narrow)

typedef void (*dw_row_fn)(const dw_job *, const float *, int64_t, int64_t, int64_t, float *);

/// The sliding row kernel for a K×K kernel at stride S (K 3 or 5, S 1 or 2, dilation 1).
static void dw_sliding_row(const dw_job *j, int K, int S, const float *xn, int64_t ih0, int64_t kh_lo,
                           int64_t kh_hi, float *yrow) {
    static const dw_row_fn rows[2][8] = {
        {dw_row_k3s1_narrow, dw_row_k3s2_narrow, dw_row_k5s1_narrow, dw_row_k5s2_narrow, dw_row_k3s1_relu_narrow,
         dw_row_k3s2_relu_narrow, dw_row_k5s1_relu_narrow, dw_row_k5s2_relu_narrow},
        {dw_row_k3s1, dw_row_k3s2, dw_row_k5s1, dw_row_k5s2, dw_row_k3s1_relu, dw_row_k3s2_relu, dw_row_k5s1_relu,
         dw_row_k5s2_relu}};
    rows[clas_mv_avx512()][(j->act == CLAS_ACT_RELU) * 4 + (K == 5) * 2 + (S == 2)](j, xn, ih0, kh_lo, kh_hi, yrow);
}

/// One output row, pixel block by pixel block with all channels of a pixel together (the input is read in address
/// order), the activation applied in registers (or to each block while it is in L1). Fewer than 16 channels take
/// 8-wide and scalar loops.
static CLAS_MV void dw_fwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const dw_job *j = ctx;
    const clas_conv_geom *g = j->g;
    const int64_t C = g->c, KW = g->kw, SW = g->sw, DW = g->dw, W = g->w, C16 = C / 16 * 16;
    // The activation is applied as each value is stored, or (rarer activations) to each block afterwards.
    const bool vector_act = clas_act16_supported(j->act);
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        int64_t ih0 = oh * g->sh - g->pt, kh_lo, kh_hi;
        tap_range(ih0, g->kh, g->dh, g->h, &kh_lo, &kh_hi);
        const float *xn = j->x + n * g->h * W * C;
        float *yrow = j->y + r * g->ow * C;
        int64_t c0 = C >= 16 ? C : 0;  // fewer than 16 channels: 8-wide and scalar loops
        for (; c0 + 8 <= C; c0 += 8) {
            v8 bias = j->bias ? ld8(j->bias + c0) : (v8){0};
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t iw0 = ow * SW - g->pl, kw_lo, kw_hi;
                tap_range(iw0, KW, DW, W, &kw_lo, &kw_hi);
                v8 a = bias;
                for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                    const float *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
                    const float *wr = j->wt + kh * KW * C + c0;
                    for (int64_t kw = kw_lo; kw < kw_hi; kw++) a += ld8(xr + (iw0 + kw * DW) * C) * ld8(wr + kw * C);
                }
                st8(yrow + ow * C + c0, a);
                if (vector_act)
                    for (int l = 0; l < 8; l++) yrow[ow * C + c0 + l] = clas_act(j->act, yrow[ow * C + c0 + l]);
            }
        }
        for (; c0 < C; c0++) {
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t iw0 = ow * SW - g->pl, kw_lo, kw_hi;
                tap_range(iw0, KW, DW, W, &kw_lo, &kw_hi);
                float a = j->bias ? j->bias[c0] : 0.0f;
                for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                    const float *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
                    const float *wr = j->wt + kh * KW * C + c0;
                    for (int64_t kw = kw_lo; kw < kw_hi; kw++) a += xr[(iw0 + kw * DW) * C] * wr[kw * C];
                }
                yrow[ow * C + c0] = vector_act ? clas_act(j->act, a) : a;
            }
        }
        // 3×3 and 5×5 kernels at stride 1 or 2 slide (`dw_sliding_row`); other geometries take 4 interior pixels at
        // a time, or one.
        const int k = DW == 1 && (SW == 1 || SW == 2) && (KW == 3 || KW == 5) ? (int)KW : 0;
        if (k && C16 > 0) {
            dw_sliding_row(j, k, (int)SW, xn, ih0, kh_lo, kh_hi, yrow);
            if (!vector_act) clas_epilogue_row(j->act, yrow, NULL, NULL, g->ow * C);
            continue;
        }
        int64_t ow = 0;
        while (ow < g->ow) {
            int64_t iw0 = ow * SW - g->pl;
            int np = ow + 4 <= g->ow && iw0 >= 0 && (ow + 3) * SW - g->pl + (KW - 1) * DW < W ? 4 : 1;
            if (C16 > 0) {
                if (np == 4) dw_fwd_pixels16_at(j, xn, ih0, kh_lo, kh_hi, ow, 4, 0, 1, yrow, false, false);
                else dw_fwd_pixels16_at(j, xn, ih0, kh_lo, kh_hi, ow, 1, 0, 1, yrow, false, false);
            }
            if (!vector_act) clas_epilogue_row(j->act, yrow + ow * C, NULL, NULL, np * C);
            ow += np;
        }
    }
}

/// [c][taps] → [taps][c].
static float *repack_weights(const float *w, int64_t c, int64_t taps) {
    float *wt = malloc((size_t)(c * taps) * sizeof(float));
    if (!wt) return NULL;
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t t = 0; t < taps; t++) wt[t * c + ch] = w[ch * taps + t];
    return wt;
}

void clas_dwconv_forward(const clas_conv_geom *g, const float *x, const float *w, const float *bias, float *y) {
    float *wt = repack_weights(w, g->c, g->kh * g->kw);
    if (!wt) return;
    dw_job j = {.g = g, .x = x, .wt = wt, .bias = bias, .y = y};
    int64_t rows = g->n * g->oh;
    int64_t work_per_row = g->ow * g->c * g->kh * g->kw;
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(work_per_row, 1)), dw_fwd_chunk, &j);
    free(wt);
}

void clas_dw_pack_weights(const float *w, int64_t c, int64_t taps, float *packed) {
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t t = 0; t < taps; t++) packed[t * c + ch] = w[ch * taps + t];
}

void clas_dwconv_forward_packed(const clas_conv_geom *g, const float *x, const float *packed, const float *bias,
                                int act, float *y) {
    dw_job j = {.g = g, .x = x, .wt = packed, .bias = bias, .y = y, .act = act};
    int64_t work_per_row = g->ow * g->c * g->kh * g->kw;
    clas_parallel_for_fine(g->n * g->oh, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(work_per_row, 1)), dw_fwd_chunk, &j);
}

/// Scatter form of the input gradient (any stride): one chunk = a range of images, dx zeroed first.
static CLAS_MV void dw_dx_scatter_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const dw_job *j = ctx;
    const clas_conv_geom *g = j->g;
    int64_t C = g->c, img = g->h * g->w * C;
    memset(j->dx + begin * img, 0, (size_t)((end - begin) * img) * sizeof(float));
    for (int64_t n = begin; n < end; n++) {
        float *dxn = j->dx + n * img;
        for (int64_t oh = 0; oh < g->oh; oh++) {
            int64_t ih0 = oh * g->sh - g->pt, kh_lo, kh_hi;
            tap_range(ih0, g->kh, g->dh, g->h, &kh_lo, &kh_hi);
            for (int64_t ow = 0; ow < g->ow; ow++) {
                int64_t iw0 = ow * g->sw - g->pl, kw_lo, kw_hi;
                tap_range(iw0, g->kw, g->dw, g->w, &kw_lo, &kw_hi);
                const float *restrict gy = j->dy + ((n * g->oh + oh) * g->ow + ow) * C;
                for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                    for (int64_t kw = kw_lo; kw < kw_hi; kw++) {
                        float *restrict d = dxn + ((ih0 + kh * g->dh) * g->w + iw0 + kw * g->dw) * C;
                        const float *restrict wp = j->wt + (kh * g->kw + kw) * C;
                        for (int64_t i = 0; i < C; i++) d[i] += gy[i] * wp[i];
                    }
                }
            }
        }
    }
}

/// Weight and bias gradients with the taps' accumulators in registers: for a fixed K×K kernel and a vector of
/// VW channels, each output pixel loads dy once and x once per tap. Partial sums per thread (fixed order).
#define DEFINE_WGRAD(K, VT, VW, LD, ST)                                                                             \
    static inline __attribute__((always_inline)) void wgrad_k##K##_v##VW(const dw_job *j, int64_t n, int64_t c0,    \
                                                                         float *dwp, float *db) {                   \
        const clas_conv_geom *g = j->g;                                                                             \
        const int64_t C = g->c;                                                                                     \
        VT acc[K * K], bacc = (VT){0};                                                                              \
        for (int t = 0; t < K * K; t++) acc[t] = (VT){0};                                                           \
        const float *xn = j->x + n * g->h * g->w * C + c0;                                                          \
        for (int64_t oh = 0; oh < g->oh; oh++) {                                                                    \
            int64_t ih0 = oh * g->sh - g->pt;                                                                       \
            const float *gyrow = j->dy + (n * g->oh + oh) * g->ow * C + c0;                                         \
            for (int64_t ow = 0; ow < g->ow; ow++) {                                                                \
                int64_t iw0 = ow * g->sw - g->pl;                                                                   \
                VT gv = LD(gyrow + ow * C);                                                                         \
                bacc += gv;                                                                                         \
                bool inside = ih0 >= 0 && ih0 + (K - 1) * g->dh < g->h && iw0 >= 0 && iw0 + (K - 1) * g->dw < g->w; \
                if (inside) {                                                                                       \
                    for (int kh = 0; kh < K; kh++) {                                                                \
                        const float *xr = xn + ((ih0 + kh * g->dh) * g->w + iw0) * C;                              \
                        for (int kw = 0; kw < K; kw++) acc[kh * K + kw] += gv * LD(xr + kw * g->dw * C);            \
                    }                                                                                               \
                } else {                                                                                            \
                    for (int kh = 0; kh < K; kh++) {                                                                \
                        int64_t ih = ih0 + kh * g->dh;                                                              \
                        if (ih < 0 || ih >= g->h) continue;                                                         \
                        for (int kw = 0; kw < K; kw++) {                                                            \
                            int64_t iw = iw0 + kw * g->dw;                                                          \
                            if (iw < 0 || iw >= g->w) continue;                                                     \
                            acc[kh * K + kw] += gv * LD(xn + (ih * g->w + iw) * C);                                 \
                        }                                                                                           \
                    }                                                                                               \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
        for (int t = 0; t < K * K; t++) ST(dwp + t * C + c0, LD(dwp + t * C + c0) + acc[t]);                        \
        ST(db + c0, LD(db + c0) + bacc);                                                                            \
    }

DEFINE_WGRAD(3, v16, 16, ld16, st16)
DEFINE_WGRAD(3, v8, 8, ld8, st8)
DEFINE_WGRAD(5, v16, 16, ld16, st16)
DEFINE_WGRAD(5, v8, 8, ld8, st8)
// ConvNeXt's 7×7: 49 accumulators exceed the 32 vector registers, so some live in L1; still one dy and one x load
// per tap and pixel, against a strided scalar loop per channel otherwise.
DEFINE_WGRAD(7, v16, 16, ld16, st16)
DEFINE_WGRAD(7, v8, 8, ld8, st8)

/// Generic weight gradient for one image and one channel (any kernel size).
static inline void wgrad_scalar(const dw_job *j, int64_t n, int64_t c, float *dwp, float *db) {
    const clas_conv_geom *g = j->g;
    const int64_t C = g->c;
    for (int64_t oh = 0; oh < g->oh; oh++) {
        int64_t ih0 = oh * g->sh - g->pt, kh_lo, kh_hi;
        tap_range(ih0, g->kh, g->dh, g->h, &kh_lo, &kh_hi);
        for (int64_t ow = 0; ow < g->ow; ow++) {
            int64_t iw0 = ow * g->sw - g->pl, kw_lo, kw_hi;
            tap_range(iw0, g->kw, g->dw, g->w, &kw_lo, &kw_hi);
            float gy = j->dy[((n * g->oh + oh) * g->ow + ow) * C + c];
            db[c] += gy;
            for (int64_t kh = kh_lo; kh < kh_hi; kh++)
                for (int64_t kw = kw_lo; kw < kw_hi; kw++)
                    dwp[(kh * g->kw + kw) * C + c] +=
                        gy * j->x[((n * g->h + ih0 + kh * g->dh) * g->w + iw0 + kw * g->dw) * C + c];
        }
    }
}

/// One chunk = a range of images; sums go to this thread's partial buffer [taps + 1][C] (last row: bias).
static CLAS_MV void dw_wgrad_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const dw_job *j = ctx;
    const clas_conv_geom *g = j->g;
    int64_t C = g->c, taps = g->kh * g->kw;
    float *dwp = j->dw_partials + (int64_t)tid * (taps + 1) * C, *db = dwp + taps * C;
    int k = (g->kh == g->kw && (g->kh == 3 || g->kh == 5 || g->kh == 7)) ? (int)g->kh : 0;
    for (int64_t n = begin; n < end; n++) {
        int64_t c0 = 0;
        if (k == 3) {
            for (; c0 + 16 <= C; c0 += 16) wgrad_k3_v16(j, n, c0, dwp, db);
            for (; c0 + 8 <= C; c0 += 8) wgrad_k3_v8(j, n, c0, dwp, db);
        } else if (k == 5) {
            for (; c0 + 16 <= C; c0 += 16) wgrad_k5_v16(j, n, c0, dwp, db);
            for (; c0 + 8 <= C; c0 += 8) wgrad_k5_v8(j, n, c0, dwp, db);
        } else if (k == 7) {
            for (; c0 + 16 <= C; c0 += 16) wgrad_k7_v16(j, n, c0, dwp, db);
            for (; c0 + 8 <= C; c0 += 8) wgrad_k7_v8(j, n, c0, dwp, db);
        }
        for (; c0 < C; c0++) wgrad_scalar(j, n, c0, dwp, db);
    }
}

void clas_dwconv_backward(const clas_conv_geom *g, const float *x, const float *w, const float *dy, float *dx,
                          float *dw, float *dbias) {
    int64_t C = g->c, taps = g->kh * g->kw;
    int threads = clas_num_threads();
    if (dx) {
        int64_t pt = g->dh * (g->kh - 1) - g->pt, pl = g->dw * (g->kw - 1) - g->pl;
        bool gather = g->sh == 1 && g->sw == 1 && pt >= 0 && pl >= 0;
        if (gather) {
            // Stride 1: the input gradient is a depthwise convolution of dy with the flipped kernel.
            float *flipped = malloc((size_t)(C * taps) * sizeof(float));
            if (!flipped) return;
            for (int64_t c = 0; c < C; c++)
                for (int64_t t = 0; t < taps; t++) flipped[c * taps + t] = w[c * taps + (taps - 1 - t)];
            clas_conv_geom tg = {.n = g->n, .h = g->oh, .w = g->ow, .c = C, .oh = g->h, .ow = g->w, .kh = g->kh,
                                 .kw = g->kw, .sh = 1, .sw = 1, .pt = pt, .pl = pl, .dh = g->dh, .dw = g->dw};
            clas_dwconv_forward(&tg, dy, flipped, NULL, dx);
            free(flipped);
        } else {
            float *wt = repack_weights(w, C, taps);
            if (!wt) return;
            dw_job j = {.g = g, .x = x, .wt = wt, .dy = dy, .dx = dx};
            clas_parallel_for(g->n, 1, dw_dx_scatter_chunk, &j);
            free(wt);
        }
    }
    if (dw || dbias) {
        float *partials = calloc((size_t)(threads * (taps + 1) * C), sizeof(float));
        if (!partials) return;
        dw_job j = {.g = g, .x = x, .dy = dy, .dw_partials = partials};
        clas_parallel_for(g->n, 1, dw_wgrad_chunk, &j);
        for (int t = 1; t < threads; t++) {
            float *src = partials + (int64_t)t * (taps + 1) * C;
            for (int64_t i = 0; i < (taps + 1) * C; i++) partials[i] += src[i];
        }
        if (dw)
            for (int64_t ch = 0; ch < C; ch++)
                for (int64_t t = 0; t < taps; t++) dw[ch * taps + t] = partials[t * C + ch];
        if (dbias) memcpy(dbias, partials + taps * C, (size_t)C * sizeof(float));
        free(partials);
    }
}
