// Integer convolutions over uint8 NHWC activations: dense k×k as im2col row blocks fused with the integer GEMM
// (each tile builds its own uint8 rows in thread scratch, so no whole-image im2col buffer exists), and depthwise
// with int32 channel vectors.
#include "ClasInt8.h"
#include "internal.h"
#include "int8_internal.h"
#include <stdlib.h>

/// im2col rows r0 ..< r0 + rows, laid out (kh, kw, c) like OHWI weights; outside the image reads as `pad` (the
/// zero point, so it contributes nothing); bytes k ..< kp are zero.
static void im2col_u8(const uint8_t *x, const clas_q8_conv_geom *g, int64_t r0, int64_t rows, uint8_t *a,
                      int64_t kp, uint8_t pad) {
    const int64_t C = g->c, k = g->kh * g->kw * C;
    for (int64_t i = 0; i < rows; i++) {
        int64_t r = r0 + i, ow = r % g->ow, oh = (r / g->ow) % g->oh, n = r / (g->ow * g->oh);
        uint8_t *dst = a + i * kp;
        for (int64_t kh = 0; kh < g->kh; kh++) {
            int64_t ih = oh * g->sh - g->pt + kh * g->dh;
            for (int64_t kw = 0; kw < g->kw; kw++, dst += C) {
                int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) memset(dst, pad, (size_t)C);
                else memcpy(dst, x + ((n * g->h + ih) * g->w + iw) * C, (size_t)C);
            }
        }
        memset(dst, 0, (size_t)(kp - k));
    }
}

typedef struct {
    const uint8_t *x;
    const clas_q8_conv_geom *g;
    const int8_t *packed;
    int64_t cout, k, kp, m, rb, cb, col_blocks;
    const clas_q8_epilogue *e;
    float *yf;
    uint8_t *yq;
} conv_job;

static void conv_tiles(void *ctx, int64_t begin, int64_t end, int tid) {
    const conv_job *j = ctx;
    uint8_t *a = clas_scratch(tid, (size_t)(j->rb * j->kp));
    int64_t built = -1;
    for (int64_t t = begin; t < end; t++) {
        int64_t r0 = (t / j->col_blocks) * j->rb, c0 = (t % j->col_blocks) * j->cb;
        int64_t rows = CLAS_MIN(j->rb, j->m - r0);
        if (built != r0) {
            im2col_u8(j->x, j->g, r0, rows, a, j->kp, (uint8_t)j->e->a_zero);
            built = r0;
        }
        clas_q8_block(a, j->kp, rows, j->packed, j->k, c0, CLAS_MIN(j->cout, c0 + j->cb), j->e,
                      j->yf ? j->yf + r0 * j->cout : NULL, j->yq ? j->yq + r0 * j->cout : NULL,
                      j->e->residual ? j->e->residual + r0 * j->cout : NULL, j->cout);
    }
}

void clas_q8_conv(const uint8_t *x, const clas_q8_conv_geom *g, const int8_t *packed, int64_t cout,
                  const clas_q8_epilogue *e, float *yf, uint8_t *yq) {
    conv_job j = {.x = x, .g = g, .packed = packed, .cout = cout, .e = e, .yf = yf, .yq = yq};
    j.k = g->kh * g->kw * g->c;
    j.kp = (j.k + 3) / 4 * 4;
    j.m = g->n * g->oh * g->ow;
    clas_q8_tiling(j.m, cout, &j.rb, &j.cb);
    j.col_blocks = (cout + j.cb - 1) / j.cb;
    clas_parallel_for(((j.m + j.rb - 1) / j.rb) * j.col_blocks, 2, conv_tiles, &j);
}

// MARK: depthwise

typedef float dwv16 __attribute__((vector_size(64)));
typedef int32_t dwi16 __attribute__((vector_size(64)));
typedef uint8_t dwu16 __attribute__((vector_size(16)));
/// 16 uint8 as floats, minus the zero point (exact).
#define ldx16(p, z) ({ dwu16 u_; memcpy(&u_, (p), 16); __builtin_convertvector(u_, dwv16) - (z); })
#define ldu16(p) ({ dwu16 u_; memcpy(&u_, (p), 16); __builtin_convertvector(u_, dwv16); })
#define ldf16(p) ({ dwv16 v_; memcpy(&v_, (p), 64); v_; })
/// The first `nc` lanes as int32 (the sums are exact integers).
#define sti16(p, v, nc) do { dwi16 s_ = __builtin_convertvector((v), dwi16); memcpy((p), &s_, 4 * (size_t)(nc)); } while (0)

typedef struct {
    const uint8_t *x;
    const clas_q8_conv_geom *g;
    const float *wf;    // [kh·kw][c], the int8 weights as floats
    const float *zwsum; // [c]: zero point × Σ over all taps of w
    clas_q8_epilogue e;
    float *yf;
    uint8_t *yq;
} dw_job;

/// Output rows (n, oh) begin ..< end. Products (x − zx)·w are integers below 2^15 in magnitude and a kernel has at
/// most 512 taps, so float sums are exact integers: the float FMA pipeline computes the int32 result, 16 channels ×
/// 4 pixels in registers in the interior. Each row's sums go through the shared epilogue.
static CLAS_MV void dw_rows(void *ctx, int64_t begin, int64_t end, int tid) {
    const dw_job *j = ctx;
    const clas_q8_conv_geom *g = j->g;
    const int64_t C = g->c, KW = g->kw, SW = g->sw, DW = g->dw, W = g->w;
    const float zf = (float)j->e.a_zero;
    int32_t *acc = clas_scratch(tid, sizeof(int32_t) * (size_t)(g->ow * C));
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / g->oh, oh = r % g->oh;
        int64_t ih0 = oh * g->sh - g->pt, kh_lo = 0, kh_hi = g->kh;
        while (kh_lo < kh_hi && ih0 + kh_lo * g->dh < 0) kh_lo++;
        while (kh_hi > kh_lo && ih0 + (kh_hi - 1) * g->dh >= g->h) kh_hi--;
        const uint8_t *xn = j->x + n * g->h * W * C;
        for (int64_t c0 = 0; c0 < C; c0 += 16) {
            // A last block of fewer than 16 channels reads past them (the caller pads x by 16 bytes) and keeps nc.
            const int64_t nc = CLAS_MIN(16, C - c0);
            int64_t ow = 0;
            while (ow < g->ow) {
                int64_t iw0 = ow * SW - g->pl;
                if (ow + 4 <= g->ow && iw0 >= 0 && (ow + 3) * SW - g->pl + (KW - 1) * DW < W) {
                    // Every tap is inside the image: Σ x·w − zx·Σw, one operation fewer per tap.
                    dwv16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                    for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                        const uint8_t *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
                        const float *wr = j->wf + kh * KW * C + c0;
                        for (int64_t kw = 0; kw < KW; kw++) {
                            dwv16 wv = ldf16(wr + kw * C);
                            const uint8_t *xp = xr + (iw0 + kw * DW) * C;
                            a0 += ldu16(xp) * wv;
                            a1 += ldu16(xp + SW * C) * wv;
                            a2 += ldu16(xp + 2 * SW * C) * wv;
                            a3 += ldu16(xp + 3 * SW * C) * wv;
                        }
                    }
                    dwv16 zw = ldf16(j->zwsum + c0);
                    if (kh_hi - kh_lo != g->kh) {  // rows outside the image: subtract per tap instead
                        zw = (dwv16){0};
                        for (int64_t kh = kh_lo; kh < kh_hi; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) zw += zf * ldf16(j->wf + (kh * KW + kw) * C + c0);
                    }
                    a0 -= zw;
                    a1 -= zw;
                    a2 -= zw;
                    a3 -= zw;
                    sti16(acc + ow * C + c0, a0, nc);
                    sti16(acc + (ow + 1) * C + c0, a1, nc);
                    sti16(acc + (ow + 2) * C + c0, a2, nc);
                    sti16(acc + (ow + 3) * C + c0, a3, nc);
                    ow += 4;
                    continue;
                }
                dwv16 a = {0};
                for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                    const uint8_t *xr = xn + (ih0 + kh * g->dh) * W * C + c0;
                    const float *wr = j->wf + kh * KW * C + c0;
                    for (int64_t kw = 0; kw < KW; kw++) {
                        int64_t iw = iw0 + kw * DW;
                        if (iw >= 0 && iw < W) a += ldx16(xr + iw * C, zf) * ldf16(wr + kw * C);
                    }
                }
                sti16(acc + ow * C + c0, a, nc);
                ow++;
            }
        }
        int64_t o = r * g->ow * C;
        clas_q8_epilogue_rows(acc, g->ow, C, &j->e, j->yf ? j->yf + o : NULL, j->yq ? j->yq + o : NULL,
                              j->e.residual ? j->e.residual + o : NULL);
    }
}

void clas_q8_depthwise(const uint8_t *x, const clas_q8_conv_geom *g, const int8_t *wt, const clas_q8_epilogue *e,
                       float *yf, uint8_t *yq) {
    int64_t taps = g->kh * g->kw;
    float *wf = calloc((size_t)(taps * g->c + g->c + 32), sizeof(float));
    float *zwsum = wf + taps * g->c + 16;
    for (int64_t i = 0; i < taps * g->c; i++) {
        wf[i] = (float)wt[i];
        zwsum[i % g->c] += (float)e->a_zero * (float)wt[i];
    }
    dw_job j = {.x = x, .g = g, .wf = wf, .zwsum = zwsum, .e = *e, .yf = yf, .yq = yq};
    j.e.rowsum = NULL;
    clas_parallel_for(g->n * g->oh, 2, dw_rows, &j);
    free(wf);
}
