// Winograd F(4×4, 3×3) for 3×3 stride-1 dense inference convolutions (Lavin & Gray 2016, points 0, ±1, ±2, ∞):
// each 4×4 output tile comes from a 6×6 input tile as Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, i.e. 36 multiplications per
// tile and channel pair where the direct form needs 144. Three passes over all tiles of a call: the input transform
// into V[36][T][Cp], one GEMM per transform position M_p = V_p · U_p over weight panels transformed and packed once
// (U[36][panel][cin][32]), and the output transform with the plan's fused bias (+ residual) + activation epilogue.
// Each pass splits over the threads (tiles, then position × panel pairs, then tiles).
#include "act16.h"

typedef clas_v16 v16;
#define ld16(p) ({ v16 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define st16(p, v) do { v16 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)

/// Output channels per weight panel, rows per GEMM register tile.
#define WNR 32
#define WMR 6

static inline int64_t wino_panels(int64_t cout) { return (cout + WNR - 1) / WNR; }
/// Channel count rounded up to whole 16-float vectors (the row stride of V).
static inline int64_t round16(int64_t c) { return (c + 15) / 16 * 16; }

int64_t clas_winograd_packed_size(int64_t cout, int64_t cin) {
    return 36 * wino_panels(cout) * cin * WNR + wino_panels(cout) * WNR;
}

typedef struct {
    const float *w, *bias;
    float *packed;
    int64_t cout, cin;
    bool transposed;  // pack w′[i][a][b][o] = w[o][2 − a][2 − b][i] (cout ↔ cin): the input gradient's convolution
} pack_job;

/// G (6×3) of F(4×4, 3×3) with points 0, ±1, ±2, ∞.
static const double wino_G[6][3] = {{1.0 / 4, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

/// Panels [begin, end): for each input channel, G g Gᵀ of the panel's 32 output channels at once (in double, the
/// inner loops over the 32 channels vectorise), stored as 36 rows of 32 contiguous floats.
static CLAS_MV void pack_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const pack_job *j = ctx;
    const int64_t panels = wino_panels(j->cout), cin = j->cin, cout = j->cout;
    for (int64_t q = begin; q < end; q++)
        for (int64_t c = 0; c < cin; c++) {
            double g[3][3][WNR], t[6][3][WNR];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    for (int l = 0; l < WNR; l++) {
                        const int64_t o = q * WNR + l;
                        // transposed: output channel o reads w[c][2 − a][2 − b][o] (w has cin = this cout)
                        g[a][b][l] = o >= cout ? 0
                                     : j->transposed ? j->w[((c * 3 + 2 - a) * 3 + 2 - b) * cout + o]
                                                     : j->w[((o * 3 + a) * 3 + b) * cin + c];
                    }
            for (int i = 0; i < 6; i++)
                for (int b = 0; b < 3; b++)
                    for (int l = 0; l < WNR; l++)
                        t[i][b][l] = wino_G[i][0] * g[0][b][l] + wino_G[i][1] * g[1][b][l] + wino_G[i][2] * g[2][b][l];
            for (int i = 0; i < 6; i++)
                for (int k = 0; k < 6; k++) {
                    float *dst = j->packed + ((i * 6 + k) * panels + q) * cin * WNR + c * WNR;
                    for (int l = 0; l < WNR; l++)
                        dst[l] = (float)(t[i][0][l] * wino_G[k][0] + t[i][1][l] * wino_G[k][1] +
                                         t[i][2][l] * wino_G[k][2]);
                }
        }
}

static void wino_pack(const float *w, const float *bias, int64_t cout, int64_t cin, bool transposed, float *packed) {
    pack_job j = {.w = w, .bias = bias, .packed = packed, .cout = cout, .cin = cin, .transposed = transposed};
    const int64_t panels = wino_panels(cout);
    clas_parallel_for(panels, 1, pack_chunk, &j);
    float *b = packed + 36 * panels * cin * WNR;
    for (int64_t o = 0; o < panels * WNR; o++) b[o] = bias && o < cout ? bias[o] : 0.0f;
}

void clas_winograd_pack(const float *w, const float *bias, int64_t cout, int64_t cin, float *packed) {
    wino_pack(w, bias, cout, cin, false, packed);
}

typedef struct {
    const clas_conv_geom *g;
    const float *x, *u, *bias, *res;
    float *y, *V, *M;
    int64_t cout, cp, np, panels, tiles_h, tiles_w, T;
    int act;
} wino_job;

/// Bᵀ d for six values along one axis of the 6×6 input tile.
#define BT(d, r)                                                                                                    \
    do {                                                                                                            \
        r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];                                                                    \
        r[1] = d[3] + d[4] - 4.0f * (d[1] + d[2]);                                                                  \
        r[2] = 4.0f * (d[1] - d[2]) + d[4] - d[3];                                                                  \
        r[3] = 2.0f * (d[3] - d[1]) + d[4] - d[2];                                                                  \
        r[4] = 2.0f * (d[1] - d[3]) + d[4] - d[2];                                                                  \
        r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];                                                                    \
    } while (0)

/// Aᵀ m for six values along one axis of the 6×6 product tile (four outputs).
#define AT(m, o)                                                                                                    \
    do {                                                                                                            \
        v16 s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];                             \
        o[0] = m[0] + s12 + s34;                                                                                    \
        o[1] = d12 + 2.0f * d34;                                                                                    \
        o[2] = s12 + 4.0f * s34;                                                                                    \
        o[3] = d12 + 8.0f * d34 + m[5];                                                                             \
    } while (0)

/// Input transform of tiles [begin, end): V[p][t][c] = (Bᵀ d B)[p] over 16 channels at a time, zeros outside.
static CLAS_MV void input_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const wino_job *j = ctx;
    const clas_conv_geom *g = j->g;
    const int64_t C = g->c, per_image = j->tiles_h * j->tiles_w;
    for (int64_t t = begin; t < end; t++) {
        int64_t n = t / per_image, ih0 = (t % per_image) / j->tiles_w * 4 - g->pt,
                iw0 = (t % per_image) % j->tiles_w * 4 - g->pl;
        for (int64_t c = 0; c < j->cp; c += 16) {
            const int width = (int)CLAS_MIN(16, C - c);
            v16 d[6][6], r[6][6];
            for (int a = 0; a < 6; a++)
                for (int b = 0; b < 6; b++) {
                    int64_t ih = ih0 + a, iw = iw0 + b;
                    d[a][b] = (v16){0};
                    if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) continue;
                    const float *src = j->x + ((n * g->h + ih) * g->w + iw) * C + c;
                    if (width == 16) d[a][b] = ld16(src);
                    else memcpy(&d[a][b], src, (size_t)width * sizeof(float));
                }
            for (int b = 0; b < 6; b++) {  // columns: r[.][b] = Bᵀ d[.][b]
                v16 col[6] = {d[0][b], d[1][b], d[2][b], d[3][b], d[4][b], d[5][b]}, out[6];
                BT(col, out);
                for (int a = 0; a < 6; a++) r[a][b] = out[a];
            }
            for (int a = 0; a < 6; a++) {  // rows: (Bᵀ d) B
                v16 out[6];
                BT(r[a], out);
                for (int b = 0; b < 6; b++) st16(j->V + ((a * 6 + b) * j->T + t) * j->cp + c, out[b]);
            }
        }
    }
}

/// M_p[rows r0 …, panel q] = V_p · U_p for `rows` ≤ WMR rows (a compile-time constant after inlining).
static inline __attribute__((always_inline)) void gemm_tile(const wino_job *j, int64_t p, int64_t q, int64_t r0,
                                                            const int rows) {
    const int64_t K = j->g->c, lda = j->cp;
    const float *A = j->V + (p * j->T + r0) * lda;
    const float *B = j->u + (p * j->panels + q) * K * WNR;
    v16 acc[WMR][2];
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = (v16){0};
    for (int64_t k = 0; k < K; k++) {
        v16 b0 = ld16(B + k * WNR), b1 = ld16(B + k * WNR + 16);
        for (int r = 0; r < rows; r++) {
            float a = A[r * lda + k];
            acc[r][0] += a * b0;
            acc[r][1] += a * b1;
        }
    }
    float *out = j->M + (p * j->T + r0) * j->np + q * WNR;
    for (int r = 0; r < rows; r++) {
        st16(out + r * j->np, acc[r][0]);
        st16(out + r * j->np + 16, acc[r][1]);
    }
}

/// GEMMs of (position, panel) pairs [begin, end): all tiles against one 32-channel panel of one position.
static CLAS_MV void gemm_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const wino_job *j = ctx;
    for (int64_t pq = begin; pq < end; pq++) {
        int64_t p = pq / j->panels, q = pq % j->panels;
        for (int64_t r = 0; r < j->T; r += WMR) {
            switch (CLAS_MIN(WMR, j->T - r)) {
            case 1: gemm_tile(j, p, q, r, 1); break;
            case 2: gemm_tile(j, p, q, r, 2); break;
            case 3: gemm_tile(j, p, q, r, 3); break;
            case 4: gemm_tile(j, p, q, r, 4); break;
            case 5: gemm_tile(j, p, q, r, 5); break;
            default: gemm_tile(j, p, q, r, WMR); break;
            }
        }
    }
}

/// Output transform of tile t: y = act(Aᵀ M A + bias (+ res)) for the tile's pixels inside the output.
static inline __attribute__((always_inline)) void output_tile(const wino_job *j, int64_t t) {
    const clas_conv_geom *g = j->g;
    const int64_t per_image = j->tiles_h * j->tiles_w, N = j->cout;
    const float *bias = j->u + 36 * j->panels * g->c * WNR;
    const bool in_registers = clas_act16_supported(j->act);
    int64_t n = t / per_image, oh0 = (t % per_image) / j->tiles_w * 4, ow0 = (t % per_image) % j->tiles_w * 4;
    int rows = (int)CLAS_MIN(4, g->oh - oh0), cols = (int)CLAS_MIN(4, g->ow - ow0);
    for (int64_t c = 0; c < N; c += 16) {
        const int width = (int)CLAS_MIN(16, N - c);
        v16 r[4][6];
        for (int b = 0; b < 6; b++) {  // columns: Aᵀ m[.][b]
            v16 col[6], out[4];
            for (int a = 0; a < 6; a++) col[a] = ld16(j->M + ((a * 6 + b) * j->T + t) * j->np + c);
            AT(col, out);
            for (int a = 0; a < 4; a++) r[a][b] = out[a];
        }
        const v16 bv = ld16(bias + c);
        for (int a = 0; a < rows; a++) {
            v16 o[4];
            AT(r[a], o);
            for (int b = 0; b < cols; b++) {
                int64_t at = ((n * g->oh + oh0 + a) * g->ow + ow0 + b) * N + c;
                v16 v = o[b] + bv;
                if (width == 16 && in_registers) {
                    if (j->res) v += ld16(j->res + at);
                    st16(j->y + at, clas_act16(j->act, v));
                    continue;
                }
                float tmp[16];
                st16(tmp, v);
                clas_epilogue_row(j->act, tmp, NULL, j->res ? j->res + at : NULL, width);
                memcpy(j->y + at, tmp, (size_t)width * sizeof(float));
            }
        }
    }
}

static CLAS_MV void output_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    for (int64_t t = begin; t < end; t++) output_tile(ctx, t);
}

void clas_conv_winograd(const clas_conv_geom *g, const float *x, const float *packed, int64_t cout,
                        const float *res, int act, float *y) {
    wino_job j = {.g = g, .x = x, .u = packed, .res = res, .y = y, .cout = cout, .cp = round16(g->c),
                  .panels = wino_panels(cout), .act = act};
    j.np = j.panels * WNR;
    j.tiles_h = (g->oh + 3) / 4;
    j.tiles_w = (g->ow + 3) / 4;
    j.T = g->n * j.tiles_h * j.tiles_w;
    if (j.T <= 0 || cout <= 0) return;
    float *buf = clas_scratch(0, (size_t)(36 * j.T * (j.cp + j.np)) * sizeof(float));
    j.V = buf;
    j.M = buf + 36 * j.T * j.cp;
    // Passes over fewer floats (or GEMMs under ~0.5 MFLOP) run on one thread: a hand-off costs a few microseconds.
    clas_parallel_for(j.T, j.T * 36 * j.cp >= CLAS_GRAIN ? 2 : INT64_MAX, input_chunk, &j);
    clas_parallel_for(36 * j.panels, j.T * g->c * j.np * 36 >= (1 << 18) ? 2 : INT64_MAX, gemm_chunk, &j);
    clas_parallel_for(j.T, j.T * 36 * j.np >= CLAS_GRAIN ? 2 : INT64_MAX, output_chunk, &j);
}

// MARK: - Training: 3×3 stride-1 convolutions and their input gradients

bool clas_winograd_trainable(const clas_conv_geom *g, int64_t groups, int64_t cout) {
    return groups == 1 && g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
           g->c >= 32 && cout >= 32 && g->oh >= 14 && g->ow >= 14 && g->pt >= 0 && g->pt <= 2 && g->pl >= 0 &&
           g->pl <= 2 && g->h - g->oh + g->pt >= 0 && g->w - g->ow + g->pl >= 0;  // bottom, right padding ≤ 2
}

/// Training's images go through the three passes in groups whose transformed input and products (36 × tiles ×
/// (cin + cout) floats) fit in about this many bytes, so the scratch stays a few MB for a whole batch (as fast as
/// one call on Zen 2; the inference plan sizes its own image groups).
#define WINO_GROUP_BYTES (4 << 20)

/// Packs (w, or its transposed flip) into a cached buffer, runs the Winograd convolution of `in` group by group of
/// images and frees it.
static void wino_run(const clas_conv_geom *g, const float *in, const float *w, const float *bias, int64_t cout,
                     bool transposed, float *out) {
    int64_t capacity;
    float *packed = clas_buffer_alloc(clas_winograd_packed_size(cout, g->c), &capacity);
    wino_pack(w, bias, cout, g->c, transposed, packed);
    const int64_t per_image = ((g->oh + 3) / 4) * ((g->ow + 3) / 4);
    const int64_t tile_bytes = 36 * (round16(g->c) + wino_panels(cout) * WNR) * (int64_t)sizeof(float);
    const int64_t group = CLAS_MAX(1, WINO_GROUP_BYTES / CLAS_MAX(1, tile_bytes * per_image));
    for (int64_t n0 = 0; n0 < g->n; n0 += group) {
        clas_conv_geom part = *g;
        part.n = CLAS_MIN(group, g->n - n0);
        clas_conv_winograd(&part, in + n0 * g->h * g->w * g->c, packed, cout, NULL, CLAS_ACT_NONE,
                           out + n0 * g->oh * g->ow * cout);
    }
    clas_buffer_free(packed, capacity);
}

void clas_conv_winograd_forward(const clas_conv_geom *g, const float *x, const float *w, const float *bias,
                                int64_t cout, float *y) {
    wino_run(g, x, w, bias, cout, false, y);
}

void clas_conv_winograd_input_grad(const clas_conv_geom *g, const float *dy, const float *w, int64_t cout,
                                   float *dx) {
    // dx = dy ⋆ w′, a 3×3 stride-1 convolution of dy [n, oh, ow, cout] with w′[i][a][b][o] = w[o][2 − a][2 − b][i]
    // and padding 2 − p on each side (bottom and right follow from the sizes).
    clas_conv_geom t = {.n = g->n, .h = g->oh, .w = g->ow, .c = cout, .oh = g->h, .ow = g->w, .kh = 3, .kw = 3,
                        .sh = 1, .sw = 1, .pt = 2 - g->pt, .pl = 2 - g->pl, .dh = 1, .dw = 1};
    wino_run(&t, dy, w, NULL, g->c, true, dx);
}
