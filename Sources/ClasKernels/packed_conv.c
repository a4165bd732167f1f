// Inference convolutions over pre-packed weights: a register-blocked GEMM micro-kernel (6 rows × 32 output
// channels in accumulators; on CPUs without AVX-512, 6 rows × 16 channels, each 32-wide panel in two halves, so the
// twelve accumulators fit AVX2's sixteen registers) with the bias, residual and activation applied to each tile as it
// leaves the registers.
// Weights are packed once when the inference plan is built (OpenBLAS repacks them on every call); 1×1 convolutions
// read the NHWC input directly, others build im2col rows per block of rows in per-thread scratch memory.
#include "act16.h"
#include "packed_layout.h"
#include <stdlib.h>

#ifndef TILE_ROWS
#define TILE_ROWS 6
#endif
_Static_assert(TILE_ROWS == 6, "short_tiles instantiates tiles of 1…5 rows");
/// Row blocks of one thread's im2col block (rows = this × TILE_ROWS).
#define ROW_GROUP 8

typedef float v16 __attribute__((vector_size(64)));
#define ld16(p) ({ v16 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define st16(p, v) do { v16 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
#define ld8(p) ({ clas_v8 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define st8(p, v) do { clas_v8 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)

typedef struct {
    const clas_conv_geom *g;   // null for a plain GEMM (A given)
    const float *x;            // conv input (NHWC) or A [M, K]
    int64_t lda;
    const float *packed;
    float *y;                  // [M, N]
    const float *res;          // [M, N] residual added before the activation, or null
    const float *scale;        // [M / scale_rows, K] input-channel scale (squeeze-excite), or null
    int64_t scale_rows;        // rows sharing one scale vector (pixels of an image)
    int64_t M, N, K;
    int act;
    bool prefetch;             // prefetch the output lines ahead of the tiles (`prefetch_output`)
    int64_t row_parts;         // row parts per panel when split over panels
    const float *col;          // a prepared im2col matrix when the panels are split
} packed_job;

/// Asks for the output lines that the tile one row group further down will write (columns n0 … n0 + 15), in
/// the cache and owned for writing, when the output is larger than a core's L2 (a 1×1 expansion at 112×112 writes
/// 3.2 MB): such an output is not in the cache, and a store that misses waits for its line to be read. Full tiles
/// only; nothing past the last row.
static inline __attribute__((always_inline)) void prefetch_output(const packed_job *j, int64_t r0, const int MR,
                                                                  int64_t n0) {
    const int64_t ahead = ROW_GROUP * TILE_ROWS;
    if (!j->prefetch || MR != TILE_ROWS || r0 + ahead + MR > j->M) return;
    for (int r = 0; r < MR; r++) __builtin_prefetch(j->y + (r0 + ahead + r) * j->N + n0, 1, 3);
}

/// One MR×(16·nv) tile of panel q (`stride` wide) in 16-float vectors (AVX-512):
/// C[rows, q·32 …] = act(A·Wᵀ + bias (+ res)).
static inline __attribute__((always_inline)) void tile16(const packed_job *j, const float *A, int64_t lda, int64_t r0,
                                                         int64_t q, const int MR, const int nv, const int stride,
                                                         const int act) {
    const int64_t K = j->K, N = j->N;
    const int nr = 16 * nv;
    const float *p = j->packed + panel_offset(q, K);
    v16 acc[MR][NV];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = (v16){0};
    for (int64_t k = 0; k < K; k++) {
        v16 b[NV];
        for (int v = 0; v < nv; v++) b[v] = ld16(p + k * stride + 16 * v);
        for (int r = 0; r < MR; r++) {
            float a = A[r * lda + k];
            for (int v = 0; v < nv; v++) acc[r][v] += a * b[v];
        }
    }
    int64_t n0 = q * NR;
    int width = (int)CLAS_MIN(nr, N - n0);
    const float *bias = p + K * stride;
    for (int v = 0; v < nv; v++) prefetch_output(j, r0, MR, n0 + 16 * v);
    // Full tiles finish in registers (all but the rarer activations); the others go through the row epilogue.
    bool in_registers = width == nr && clas_act16_supported(act);
    for (int r = 0; r < MR; r++) {
        float *c = j->y + (r0 + r) * N + n0;
        const float *res = j->res ? j->res + (r0 + r) * N + n0 : NULL;
        if (in_registers) {
            for (int v = 0; v < nv; v++) {
                v16 x = acc[r][v] + ld16(bias + 16 * v);
                if (res) x += ld16(res + 16 * v);
                st16(c + 16 * v, clas_act16(act, x));
            }
            continue;
        }
        if (width == nr) {
            for (int v = 0; v < nv; v++) st16(c + 16 * v, acc[r][v]);
        } else {
            float t[NR];
            for (int v = 0; v < nv; v++) st16(t + 16 * v, acc[r][v]);
            memcpy(c, t, (size_t)width * sizeof(float));
        }
        clas_epilogue_row(act, c, bias, res, width);
    }
}

/// The AVX2 form of `tile16`: an MR×(8·NV8) tile of panel q (`stride` wide) starting at vector v0, in 8-float
/// vectors (one register each), so the twelve accumulators and the epilogue stay in registers. NV8 = 1 where at most
/// 8 of the 16 columns exist (24 or 72 channels end in 8): half the products, and the epilogue still in registers.
static inline __attribute__((always_inline)) void tile8(const packed_job *j, const float *A, int64_t lda, int64_t r0,
                                                        int64_t q, const int MR, const int v0, const int stride,
                                                        const int act, const int NV8) {
    const int64_t K = j->K, N = j->N;
    const float *p = j->packed + panel_offset(q, K) + 16 * v0;
    clas_v8 acc0[MR], acc1[MR];
    for (int r = 0; r < MR; r++) acc0[r] = acc1[r] = (clas_v8){0};
    for (int64_t k = 0; k < K; k++) {
        const clas_v8 b0 = ld8(p + k * stride);
        if (NV8 == 2) {
            const clas_v8 b1 = ld8(p + k * stride + 8);
            for (int r = 0; r < MR; r++) {
                const float a = A[r * lda + k];
                acc0[r] += a * b0;
                acc1[r] += a * b1;
            }
        } else {
            for (int r = 0; r < MR; r++) acc0[r] += A[r * lda + k] * b0;
        }
    }
    const int64_t n0 = q * NR + 16 * v0;
    const int width = (int)CLAS_MIN(8 * NV8, N - n0);
    const float *bias = p + K * stride;
    prefetch_output(j, r0, MR, n0);
    if (width == 8 * NV8 && clas_act16_supported(act)) {
        const clas_v8 bias0 = ld8(bias), bias1 = NV8 == 2 ? ld8(bias + 8) : bias0;
        clas_v8 out[2 * MR];
        for (int r = 0; r < MR; r++) {
            out[NV8 * r] = acc0[r] + bias0;
            if (NV8 == 2) out[2 * r + 1] = acc1[r] + bias1;
            if (j->res) {
                const float *res = j->res + (r0 + r) * N + n0;
                out[NV8 * r] += ld8(res);
                if (NV8 == 2) out[2 * r + 1] += ld8(res + 8);
            }
        }
        clas_act8_many(act, out, NV8 * MR);
        for (int r = 0; r < MR; r++) {
            float *c = j->y + (r0 + r) * N + n0;
            st8(c, out[NV8 * r]);
            if (NV8 == 2) st8(c + 8, out[2 * r + 1]);
        }
        return;
    }
    for (int r = 0; r < MR; r++) {
        float *c = j->y + (r0 + r) * N + n0, t[16];
        st8(t, acc0[r]);
        st8(t + 8, acc1[r]);
        memcpy(c, t, (size_t)width * sizeof(float));
        clas_epilogue_row(act, c, bias, j->res ? j->res + (r0 + r) * N + n0 : NULL, width);
    }
}

/// R×8 tiles at vector v0 of panel q (the last 8 columns of 24 or 72 channels) out of line, the activation read at
/// run time: one instance for all activations, so the full tiles' code stays as small as it was.
static CLAS_MV_NARROW void tile8_half(const packed_job *j, const float *A, int64_t lda, int64_t r0, int64_t q,
                                       int rows, int v0, int stride) {
    switch (rows) {
    case 1: tile8(j, A, lda, r0, q, 1, v0, stride, j->act, 1); break;
    case 2: tile8(j, A, lda, r0, q, 2, v0, stride, j->act, 1); break;
    case 3: tile8(j, A, lda, r0, q, 3, v0, stride, j->act, 1); break;
    case 4: tile8(j, A, lda, r0, q, 4, v0, stride, j->act, 1); break;
    case 5: tile8(j, A, lda, r0, q, 5, v0, stride, j->act, 1); break;
    default: tile8(j, A, lda, r0, q, TILE_ROWS, v0, stride, j->act, 1); break;
    }
}

/// An R×32 (or R×16 for a narrow panel) tile of panel q in 16-float (AVX-512) or 8-float vectors.
static inline __attribute__((always_inline)) void tiles(const packed_job *j, const float *A, int64_t lda, int64_t r0,
                                                        int64_t q, const int R, const bool avx512, const int act) {
    const bool wide = panel_width(q, j->N) == NR;
    if (avx512) {
        if (wide) tile16(j, A, lda, r0, q, R, NV, NR, act);
        else tile16(j, A, lda, r0, q, R, 1, 16, act);
    } else if (wide) {
        tile8(j, A, lda, r0, q, R, 0, NR, act, 2);
        if (j->N - q * NR - 16 <= 8) tile8_half(j, A, lda, r0, q, R, 1, NR);
        else tile8(j, A, lda, r0, q, R, 1, NR, act, 2);
    } else if (j->N - q * NR <= 8) {
        tile8_half(j, A, lda, r0, q, R, 0, 16);
    } else {
        tile8(j, A, lda, r0, q, R, 0, 16, act, 2);
    }
}

/// One row against panel q (batch 1's squeeze-excite and head convolutions, where the weights are the cost): the
/// panel read once, front to back, with one accumulator per 8 columns. Each output sums over k in order, as the
/// tiles do, so a row's result does not depend on how many rows the call has.
static inline __attribute__((always_inline)) void row_tile(const packed_job *j, const float *A, int64_t r0,
                                                           int64_t q, const int width) {
    const int64_t K = j->K, N = j->N, n0 = q * NR;
    const int nv = width / 8;
    const float *p = j->packed + panel_offset(q, K);
    clas_v8 acc[NR / 8];
    for (int v = 0; v < nv; v++) acc[v] = (clas_v8){0};
    for (int64_t k = 0; k < K; k++) {
        __builtin_prefetch(p + (k + 16) * width);
        const float a = A[k];
        for (int v = 0; v < nv; v++) acc[v] += a * ld8(p + k * width + 8 * v);
    }
    const int valid = (int)CLAS_MIN(width, N - n0);
    const float *bias = p + K * width, *res = j->res ? j->res + r0 * N + n0 : NULL;
    float *c = j->y + r0 * N + n0;
    if (valid == width && clas_act16_supported(j->act)) {
        for (int v = 0; v < nv; v++) {
            acc[v] += ld8(bias + 8 * v);
            if (res) acc[v] += ld8(res + 8 * v);
        }
        clas_act8_many(j->act, acc, nv);
        for (int v = 0; v < nv; v++) st8(c + 8 * v, acc[v]);
        return;
    }
    float t[NR];
    for (int v = 0; v < nv; v++) st8(t + 8 * v, acc[v]);
    memcpy(c, t, (size_t)valid * sizeof(float));
    clas_epilogue_row(j->act, c, bias, res, valid);
}

/// Tiles of fewer than TILE_ROWS rows (the last rows of a matrix), the activation read at run time: one instance
/// of this code, not one per activation.
static inline __attribute__((always_inline)) void short_tiles(const packed_job *j, const float *A, int64_t lda,
                                                              int64_t r0, int64_t q, int rows, const bool avx512) {
    switch (rows) {
    case 1:
        if (panel_width(q, j->N) == NR) row_tile(j, A, r0, q, NR);
        else row_tile(j, A, r0, q, 16);
        break;
    case 2: tiles(j, A, lda, r0, q, 2, avx512, j->act); break;
    case 3: tiles(j, A, lda, r0, q, 3, avx512, j->act); break;
    case 4: tiles(j, A, lda, r0, q, 4, avx512, j->act); break;
    case 5: tiles(j, A, lda, r0, q, 5, avx512, j->act); break;
    default: break;
    }
}
static CLAS_AVX512_ONLY __attribute__((noinline)) void short_tiles16(const packed_job *j, const float *A, int64_t lda,
                                                                     int64_t r0, int64_t q, int rows) {
    short_tiles(j, A, lda, r0, q, rows, true);
}
static CLAS_MV_NARROW void short_tiles8(const packed_job *j, const float *A, int64_t lda, int64_t r0, int64_t q,
                                        int rows) {
    short_tiles(j, A, lda, r0, q, rows, false);
}

/// Rows [r0, r0 + rows) (rows ≤ TILE_ROWS) against panel q. Full tiles are compiled per activation (`act` a
/// compile-time constant, so each instance holds one activation's epilogue and stays small in the instruction cache).
static inline __attribute__((always_inline)) void tile_rows(const packed_job *j, const float *A, int64_t lda,
                                                            int64_t r0, int64_t q, int rows, const bool avx512,
                                                            const int act) {
    if (rows == TILE_ROWS) tiles(j, A, lda, r0, q, TILE_ROWS, avx512, act);
    else if (avx512) short_tiles16(j, A, lda, r0, q, rows);
    else short_tiles8(j, A, lda, r0, q, rows);
}

/// im2col rows [r0, r1) of the convolution into col[(r − r0)·K …], taps (kh, kw, cin), zeros for padding.
static void im2col_rows(const clas_conv_geom *g, const float *x, int64_t r0, int64_t r1, float *col) {
    const int64_t cin = g->c, K = g->kh * g->kw * cin;
    for (int64_t r = r0; r < r1; r++) {
        int64_t n = r / (g->oh * g->ow), rem = r % (g->oh * g->ow), oh = rem / g->ow, ow = rem % g->ow;
        float *dst = col + (r - r0) * K;
        for (int64_t kh = 0; kh < g->kh; kh++) {
            int64_t ih = oh * g->sh - g->pt + kh * g->dh;
            for (int64_t kw = 0; kw < g->kw; kw++, dst += cin) {
                int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) memset(dst, 0, (size_t)cin * sizeof(float));
                else memcpy(dst, x + ((n * g->h + ih) * g->w + iw) * cin, (size_t)cin * sizeof(float));
            }
        }
    }
}

/// Rows [r0, r1) of A with each row's channels multiplied by its image's scale vector, into col[(r − r0)·K …].
static inline void scale_rows(const packed_job *j, int64_t r0, int64_t r1, float *col) {
    const int64_t K = j->K;
    for (int64_t r = r0; r < r1; r++) {
        const float *restrict a = j->x + r * j->lda, *restrict s = j->scale + r / j->scale_rows * K;
        float *restrict dst = col + (r - r0) * K;
        for (int64_t k = 0; k < K; k++) dst[k] = a[k] * s[k];
    }
}

/// All rows of A scaled (the vectorised clone of `scale_rows`).
static CLAS_MV void scale_all_rows(const packed_job *j, float *col) { scale_rows(j, 0, j->M, col); }

/// Split over rows: each chunk takes groups of ROW_GROUP row blocks, builds their im2col (or scaled) rows if
/// needed, and runs every panel over them (the rows stay in cache while the panels stream).
static inline __attribute__((always_inline)) void rows_body(const packed_job *j, int64_t begin, int64_t end, int tid,
                                                            const bool avx512, const int act) {
    const int mr = TILE_ROWS;
    const int64_t panels = panel_count(j->N);
    for (int64_t b = begin; b < end; b += ROW_GROUP) {
        int64_t r0 = b * mr, r1 = CLAS_MIN(CLAS_MIN(b + ROW_GROUP, end) * mr, j->M);
        const float *A = j->x + r0 * j->lda;
        int64_t lda = j->lda;
        if (j->g || j->scale) {
            float *col = clas_scratch(tid, (size_t)((r1 - r0) * j->K) * sizeof(float));
            if (j->g) im2col_rows(j->g, j->x, r0, r1, col);
            else scale_rows(j, r0, r1, col);
            A = col;
            lda = j->K;
        }
        for (int64_t q = 0; q < panels; q++)
            for (int64_t r = r0; r < r1; r += mr)
                tile_rows(j, A + (r - r0) * lda, lda, r, q, (int)CLAS_MIN(mr, r1 - r), avx512, act);
    }
}

/// Split over (panel, row part) units (few rows, e.g. batch 1 at 7×7): a unit runs its rows against one panel;
/// consecutive units share the panel. Enough row parts that the units balance the threads.
static inline __attribute__((always_inline)) void panels_body(const packed_job *j, int64_t begin, int64_t end,
                                                              const bool avx512, const int act) {
    const int mr = TILE_ROWS;
    const float *A = j->col ? j->col : j->x;
    const int64_t lda = j->col ? j->K : j->lda, blocks = (j->M + mr - 1) / mr, parts = j->row_parts;
    for (int64_t u = begin; u < end; u++) {
        const int64_t q = u / parts, p = u % parts;
        const int64_t r0 = blocks * p / parts * mr, r1 = CLAS_MIN(blocks * (p + 1) / parts * mr, j->M);
        for (int64_t r = r0; r < r1; r += mr)
            tile_rows(j, A + r * lda, lda, r, q, (int)CLAS_MIN(mr, r1 - r), avx512, act);
    }
}

/// Runs CALL(…, act) with the job's activation as a compile-time constant where the epilogue computes it in
/// registers (each instance then holds one activation's code, small enough to stay in the instruction cache).
#define WITH_ACT(act, CALL, ...)                                                                                       \
    switch (act) {                                                                                                     \
    case CLAS_ACT_NONE: CALL(__VA_ARGS__, CLAS_ACT_NONE); break;                                                       \
    case CLAS_ACT_RELU: CALL(__VA_ARGS__, CLAS_ACT_RELU); break;                                                       \
    case CLAS_ACT_RELU6: CALL(__VA_ARGS__, CLAS_ACT_RELU6); break;                                                     \
    case CLAS_ACT_HARDSWISH: CALL(__VA_ARGS__, CLAS_ACT_HARDSWISH); break;                                             \
    case CLAS_ACT_HARDSIGMOID: CALL(__VA_ARGS__, CLAS_ACT_HARDSIGMOID); break;                                         \
    case CLAS_ACT_SIGMOID: CALL(__VA_ARGS__, CLAS_ACT_SIGMOID); break;                                                 \
    case CLAS_ACT_SILU: CALL(__VA_ARGS__, CLAS_ACT_SILU); break;                                                       \
    default: CALL(__VA_ARGS__, act); break;                                                                            \
    }

// The AVX-512 chunks (16-float tiles) and the AVX2/baseline ones (8-float tiles) are separate functions, so neither
// carries the other's code.
static CLAS_AVX512_ONLY void rows_chunk16(void *ctx, int64_t begin, int64_t end, int tid) {
    const packed_job *j = ctx;
    WITH_ACT(j->act, rows_body, j, begin, end, tid, true)
}
static CLAS_MV_NARROW void rows_chunk8(void *ctx, int64_t begin, int64_t end, int tid) {
    const packed_job *j = ctx;
    WITH_ACT(j->act, rows_body, j, begin, end, tid, false)
}
static CLAS_AVX512_ONLY void panels_chunk16(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const packed_job *j = ctx;
    WITH_ACT(j->act, panels_body, j, begin, end, true)
}
static CLAS_MV_NARROW void panels_chunk8(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const packed_job *j = ctx;
    WITH_ACT(j->act, panels_body, j, begin, end, false)
}

static CLAS_MV void im2col_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const packed_job *j = ctx;
    im2col_rows(j->g, j->x, begin, end, (float *)j->col + begin * j->K);
}

static void run(packed_job *j) {
    const int mr = TILE_ROWS;
    const bool avx512 = clas_mv_avx512();
    j->prefetch = j->M * j->N * (int64_t)sizeof(float) > (768 << 10);
    int64_t blocks = (j->M + mr - 1) / mr, panels = panel_count(j->N);
    // Below ~0.5 MFLOP a hand-off to the other threads costs more than it saves, unless the weights are large
    // enough (≥ 256 KiB, e.g. squeeze-excite's 1×1 convolutions at batch 1) that reading them is the cost.
    int64_t serial = j->M * j->N * j->K < (1 << 19) && j->N * j->K < (1 << 16) ? INT64_MAX : 1;
    if (blocks >= 2 * panels || blocks >= 4 * ROW_GROUP || panels < 2) {
        clas_parallel_for_fine(blocks, serial, avx512 ? rows_chunk16 : rows_chunk8, j);
        return;
    }
    float *col = NULL;
    if (j->g) {
        col = malloc((size_t)(j->M * j->K) * sizeof(float));
        if (!col) return;
        j->col = col;
        clas_parallel_for(j->M, j->M * j->K < CLAS_GRAIN ? INT64_MAX : 2, im2col_chunk, j);
    } else if (j->scale) {
        // Few rows: scaled once on this thread (its scratch; the chunks below take none).
        float *scaled = clas_scratch(0, (size_t)(j->M * j->K) * sizeof(float));
        scale_all_rows(j, scaled);
        j->col = scaled;
    }
    const int64_t units = 4 * (int64_t)clas_num_threads();
    j->row_parts = CLAS_MAX(1, CLAS_MIN(blocks, (units + panels - 1) / panels));
    clas_parallel_for_fine(panels * j->row_parts, serial, avx512 ? panels_chunk16 : panels_chunk8, j);
    free(col);
}

void clas_gemm_packed(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *packed,
                      const float *res, int act, float *y) {
    if (M <= 0 || N <= 0) return;
    packed_job j = {.x = A, .lda = lda, .packed = packed, .y = y, .res = res, .M = M, .N = N, .K = K, .act = act};
    run(&j);
}

void clas_gemm_packed_scaled(int64_t M, int64_t N, int64_t K, const float *A, const float *scale, int64_t scale_rows,
                             const float *packed, const float *res, int act, float *y) {
    if (M <= 0 || N <= 0) return;
    packed_job j = {.x = A, .lda = K, .packed = packed, .y = y, .res = res, .scale = scale,
                    .scale_rows = scale_rows > 0 ? scale_rows : M, .M = M, .N = N, .K = K, .act = act};
    run(&j);
}

void clas_conv_packed(const clas_conv_geom *g, const float *x, const float *packed, int64_t cout, const float *res,
                      int act, float *y) {
    int64_t M = g->n * g->oh * g->ow, K = g->kh * g->kw * g->c;
    bool pointwise = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0;
    packed_job j = {.g = pointwise ? NULL : g, .x = x, .lda = g->c, .packed = packed, .y = y, .res = res, .M = M,
                    .N = cout, .K = K, .act = act};
    run(&j);
}
