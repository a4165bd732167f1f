// Integer depthwise convolution over uint8 NHWC activations, on the float FMA units: products x·w of a uint8 input
// and an int8 weight are integers below 2^15 in magnitude and a kernel has at most 512 taps, so float sums are exact
// integers and equal the int32 accumulator. The zero point enters once per output as zx·Σw over the kernel rows
// inside the image (taps left or right of the row read as zx, so they cancel).
//
// 3×3 and 5×5 kernels at stride 1 or 2 with at least 16 channels take the sliding row kernels (the structure of the
// float depthwise.c): one function per (K, S), blocks of 8, 4, 2 or 1 pixels × 16-channel vectors (a channel count
// that is no multiple of 16 ends with an overlapping vector), each input vector of a kernel row converted once and
// reused by every output it feeds, unconditional loads inside the row, and the whole epilogue (scale, bias,
// residual, activation, quantisation) in registers. Other geometries take a generic loop and the shared epilogue.
#include "ClasInt8.h"
#include "internal.h"
#include "act16.h"
#include "int8_internal.h"
#include <stdlib.h>

// The epilogue scales then adds, like the scalar one (int8_epilogue.c); only the exact accumulation contracts.
#pragma clang fp contract(off)

typedef float dwv16 __attribute__((vector_size(64)));
typedef int32_t dwi16 __attribute__((vector_size(64)));
typedef uint8_t dwu16 __attribute__((vector_size(16)));
/// 16 uint8 as floats (exact).
#define ldu16(p) ({ dwu16 u_; memcpy(&u_, (p), 16); __builtin_convertvector(u_, dwv16); })
#define ldf16(p) ({ dwv16 v_; memcpy(&v_, (p), 64); v_; })
#define stf16(p, v) do { dwv16 s_ = (v); memcpy((p), &s_, 64); } while (0)
/// The first `nc` lanes as int32 (the sums are exact integers).
#define sti16(p, v, nc) do { dwi16 s_ = __builtin_convertvector((v), dwi16); memcpy((p), &s_, 4 * (size_t)(nc)); } while (0)

/// Output pixels per register block of the sliding kernels, and input vectors one kernel row of such a block reads
/// at most (stride 2, 5 taps).
#define DW_PIXELS 8
#define DW_INPUTS (2 * (DW_PIXELS - 1) + 5)

typedef struct {
    const uint8_t *x;
    const clas_q8_conv_geom *g;
    const float *wf;    // [kh·kw][c], the int8 weights as floats
    const float *zrow;  // [kh][c]: zx · Σ_kw w[kh, kw, c], the zero point's share of each kernel row
    clas_q8_epilogue e;
    float *yf;
    uint8_t *yq;
} dw_job;

/// The epilogue of 16 channels [c0, c0 + 16) of one output (element offset `o`) in registers, from the exact sum
/// `acc` = Σ(x − zx)·w: the same operations in the same order as `clas_q8_epilogue_rows`, so the same values.
/// `mul`/`add`: the channels' scale and bias (float output) or requantisation multiplier and 0 (uint8 requantised,
/// then `bq` holds the integer bias).
static inline __attribute__((always_inline)) void dw_epilogue16(const dw_job *j, dwv16 acc, int64_t o, dwv16 mul,
                                                                dwv16 add, dwi16 bq) {
    const clas_q8_epilogue *e = &j->e;
    const dwv16 zero = {0};
    const float zy = (float)e->y_zero, hi = 255.0f - zy;
    if (j->yq && e->requant) {  // onnxruntime's QLinearConv requantisation
        dwv16 f = __builtin_convertvector(__builtin_convertvector(acc, dwi16) + bq, dwv16) * mul;
        f = __builtin_elementwise_max(f, zero + (e->relu ? 0.0f : -zy));
        f = __builtin_elementwise_min(f, zero + hi);
        dwi16 q = __builtin_convertvector(__builtin_elementwise_roundeven(f), dwi16) + e->y_zero;
        dwu16 b = __builtin_convertvector(q, dwu16);
        memcpy(j->yq + o, &b, 16);
        return;
    }
    dwv16 f = acc * mul + add;
    if (e->residual) f = f + ldf16(e->residual + o);
    if (e->relu == CLAS_ACT_HARDSWISH) f = clas_act16(CLAS_ACT_HARDSWISH, f);
    else if (e->relu) f = __builtin_elementwise_max(f, zero);
    if (j->yf) stf16(j->yf + o, f);
    if (j->yq) {
        dwv16 v = e->q_act == CLAS_ACT_HARDSWISH ? clas_act16(CLAS_ACT_HARDSWISH, f)
                : e->q_act == CLAS_ACT_RELU ? __builtin_elementwise_max(f, zero) : f;
        v = v / e->q_scale;
        v = __builtin_elementwise_max(v, zero - zy);
        v = __builtin_elementwise_min(v, zero + hi);
        dwi16 q = __builtin_convertvector(__builtin_elementwise_roundeven(v), dwi16) + e->y_zero;
        dwu16 b = __builtin_convertvector(q, dwu16);
        memcpy(j->yq + o, &b, 16);
    }
}

/// Output pixels [ow, ow + NP) of the row at element offset `orow`, all channels, a K-wide kernel at stride S:
/// each input vector of a kernel row is loaded and converted once (zx outside the row, or unconditionally when
/// INSIDE) and reused by every output of the block it feeds.
static inline __attribute__((always_inline)) void dw_block(const dw_job *j, const uint8_t *xn, int64_t ih0,
                                                           int64_t kh_lo, int64_t kh_hi, int64_t ow, int64_t orow,
                                                           const int NP, const int K, const int S, const bool INSIDE) {
    const clas_q8_conv_geom *g = j->g;
    const clas_q8_epilogue *e = &j->e;
    const int64_t C = g->c, W = g->w, iw0 = ow * S - g->pl;
    const dwv16 zx = (dwv16){0} + (float)e->a_zero;
    const int requant = j->yq && e->requant;
    for (int64_t blk = 0, blocks = (C + 15) / 16; blk < blocks; blk++) {
        const int64_t c0 = CLAS_MIN(blk * 16, C - 16);
        dwv16 a[DW_PIXELS], zw = {0};
        for (int p = 0; p < NP; p++) a[p] = (dwv16){0};
        for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
            const uint8_t *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
            const float *wr = j->wf + kh * K * C + c0;
            dwv16 xv[DW_INPUTS];
            for (int i = 0; i < S * (NP - 1) + K; i++) {
                int64_t iw = iw0 + i;
                xv[i] = INSIDE || (iw >= 0 && iw < W) ? ldu16(xr + iw * C) : zx;
            }
            for (int kw = 0; kw < K; kw++) {
#pragma clang fp contract(fast)  // exact integer sums: fused or not, the same value
                dwv16 wv = ldf16(wr + kw * C);
                for (int p = 0; p < NP; p++) a[p] += xv[S * p + kw] * wv;
            }
            zw += ldf16(j->zrow + kh * C + c0);
        }
        dwv16 mul = ldf16((requant ? e->requant : e->scale) + c0);
        dwv16 add = !requant && e->bias ? ldf16(e->bias + c0) : (dwv16){0};
        dwi16 bq = {0};
        if (requant && e->bias_q) memcpy(&bq, e->bias_q + c0, 64);
        for (int p = 0; p < NP; p++) dw_epilogue16(j, a[p] - zw, orow + (ow + p) * C + c0, mul, add, bq);
    }
}

/// One output row (image `n`, row `oh`) by a K-wide kernel at stride S sliding over blocks of 8, 4, 2 or 1 pixels,
/// whole blocks inside the row with unconditional loads. One function per (K, S), each compiled on its own.
#define DW_BLOCK(NP, INSIDE) dw_block(j, xn, ih0, kh_lo, kh_hi, ow, orow, NP, k_, s_, INSIDE)
#define DEFINE_DW_ROW(NAME, K, S)                                                                                   \
    static CLAS_MV void NAME(const dw_job *j, const uint8_t *xn, int64_t ih0, int64_t kh_lo, int64_t kh_hi,         \
                             int64_t orow) {                                                                        \
        enum { k_ = K, s_ = S };                                                                                    \
        const int64_t OW = j->g->ow, W = j->g->w, pl = j->g->pl;                                                    \
        for (int64_t ow = 0; ow < OW;) {                                                                            \
            int64_t left = OW - ow, iw0 = ow * S - pl;                                                              \
            int np = left >= DW_PIXELS ? DW_PIXELS : left >= 4 ? 4 : left >= 2 ? 2 : 1;                             \
            if (np == DW_PIXELS && iw0 >= 0 && iw0 + S * (DW_PIXELS - 1) + K <= W) DW_BLOCK(DW_PIXELS, true);       \
            else if (np == DW_PIXELS) DW_BLOCK(DW_PIXELS, false);                                                   \
            else if (np == 4) DW_BLOCK(4, false);                                                                   \
            else if (np == 2) DW_BLOCK(2, false);                                                                   \
            else DW_BLOCK(1, false);                                                                                \
            ow += np;                                                                                               \
        }                                                                                                           \
    }
DEFINE_DW_ROW(dw_row_k3s1, 3, 1)
DEFINE_DW_ROW(dw_row_k3s2, 3, 2)
DEFINE_DW_ROW(dw_row_k5s1, 5, 1)
DEFINE_DW_ROW(dw_row_k5s2, 5, 2)

/// Any geometry: 16 channels × 4 interior pixels in registers, else one pixel with the taps clipped to the image;
/// sums into `acc` (one output row, [ow][c]) for the shared epilogue.
static CLAS_MV void dw_generic_row(const dw_job *j, const uint8_t *xn, int64_t ih0, int64_t kh_lo, int64_t kh_hi,
                                   int32_t *acc) {
    const clas_q8_conv_geom *g = j->g;
    const int64_t C = g->c, KW = g->kw, SW = g->sw, DW = g->dw, W = g->w;
    const float zf = (float)j->e.a_zero;
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
        // A last block of fewer than 16 channels reads past them (the caller pads x by 16 bytes) and keeps nc.
        const int64_t nc = CLAS_MIN(16, C - c0);
        dwv16 zw = {0};
        for (int64_t kh = kh_lo; kh < kh_hi; kh++) zw += ldf16(j->zrow + kh * C + c0);
        int64_t ow = 0;
        while (ow < g->ow) {
            int64_t iw0 = ow * SW - g->pl;
            if (ow + 4 <= g->ow && iw0 >= 0 && (ow + 3) * SW - g->pl + (KW - 1) * DW < W) {
                // Every tap is inside the row: Σ x·w − zx·Σw.
                dwv16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                    const uint8_t *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
                    const float *wr = j->wf + kh * KW * C + c0;
                    for (int64_t kw = 0; kw < KW; kw++) {
#pragma clang fp contract(fast)
                        dwv16 wv = ldf16(wr + kw * C);
                        const uint8_t *xp = xr + (iw0 + kw * DW) * C;
                        a0 += ldu16(xp) * wv;
                        a1 += ldu16(xp + SW * C) * wv;
                        a2 += ldu16(xp + 2 * SW * C) * wv;
                        a3 += ldu16(xp + 3 * SW * C) * wv;
                    }
                }
                sti16(acc + ow * C + c0, a0 - zw, nc);
                sti16(acc + (ow + 1) * C + c0, a1 - zw, nc);
                sti16(acc + (ow + 2) * C + c0, a2 - zw, nc);
                sti16(acc + (ow + 3) * C + c0, a3 - zw, nc);
                ow += 4;
                continue;
            }
            dwv16 a = {0};
            for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                const uint8_t *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
                const float *wr = j->wf + kh * KW * C + c0;
                for (int64_t kw = 0; kw < KW; kw++) {
                    int64_t iw = iw0 + kw * DW;
                    a += (iw >= 0 && iw < W ? ldu16(xr + iw * C) : (dwv16){0} + zf) * ldf16(wr + kw * C);
                }
            }
            sti16(acc + ow * C + c0, a - zw, nc);
            ow++;
        }
    }
}

/// Output rows (n, oh) begin ..< end.
static void dw_rows(void *ctx, int64_t begin, int64_t end, int tid) {
    const dw_job *j = ctx;
    const clas_q8_conv_geom *g = j->g;
    const int64_t C = g->c, KW = g->kw;
    const bool sliding = C >= 16 && g->dw == 1 && (g->sw == 1 || g->sw == 2) && (KW == 3 || KW == 5);
    int32_t *acc = sliding ? NULL : clas_scratch(tid, sizeof(int32_t) * (size_t)(g->ow * C));
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        int64_t ih0 = oh * g->sh - g->pt, kh_lo = 0, kh_hi = g->kh;
        while (kh_lo < kh_hi && ih0 + kh_lo * g->dh < 0) kh_lo++;
        while (kh_hi > kh_lo && ih0 + (kh_hi - 1) * g->dh >= g->h) kh_hi--;
        const uint8_t *xn = j->x + n * g->h * g->w * C;
        int64_t o = r * g->ow * C;
        if (sliding) {
            if (KW == 3) (g->sw == 1 ? dw_row_k3s1 : dw_row_k3s2)(j, xn, ih0, kh_lo, kh_hi, o);
            else (g->sw == 1 ? dw_row_k5s1 : dw_row_k5s2)(j, xn, ih0, kh_lo, kh_hi, o);
            continue;
        }
        dw_generic_row(j, xn, ih0, kh_lo, kh_hi, acc);
        clas_q8_epilogue_rows(acc, g->ow, C, &j->e, j->yf ? j->yf + o : NULL, j->yq ? j->yq + o : NULL,
                              j->e.residual ? j->e.residual + o : NULL);
    }
}

void clas_q8_depthwise(const uint8_t *x, const clas_q8_conv_geom *g, const int8_t *wt, const clas_q8_epilogue *e,
                       float *yf, uint8_t *yq) {
    const int64_t taps = g->kh * g->kw, C = g->c;
    // Weights and row sums, each padded by 16 floats (the generic loop reads whole vectors).
    float *wf = calloc((size_t)((taps + g->kh) * C + 32), sizeof(float));
    if (!wf) return;
    float *zrow = wf + taps * C + 16;
    for (int64_t t = 0; t < taps; t++) {
        for (int64_t c = 0; c < C; c++) {
            wf[t * C + c] = (float)wt[t * C + c];
            zrow[(t / g->kw) * C + c] += (float)e->a_zero * (float)wt[t * C + c];
        }
    }
    dw_job j = {.x = x, .g = g, .wf = wf, .zrow = zrow, .e = *e, .yf = yf, .yq = yq};
    j.e.rowsum = NULL;
    clas_parallel_for(g->n * g->oh, 2, dw_rows, &j);
    free(wf);
}
