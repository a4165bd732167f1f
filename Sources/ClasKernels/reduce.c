// Reductions, row-wise softmax and permutation.
#include "internal.h"
#include <stdlib.h>

/// Rows summed in float per block, blocks summed in double: accurate and vectorised.
#define SUM_BLOCK 128

typedef struct {
    const float *x;
    float *out;
    double *partials;  // [threads][inner] when splitting over mid
    int64_t outer, mid, inner;
    bool accumulate;
} sum_job;

static CLAS_MV void sum_rows(const float *restrict x, int64_t rows, int64_t inner, double *restrict acc) {
    float *blk = clas_scratch(0, (size_t)inner * sizeof(float));
    for (int64_t r0 = 0; r0 < rows; r0 += SUM_BLOCK) {
        int64_t r1 = CLAS_MIN(rows, r0 + SUM_BLOCK);
        memcpy(blk, x + r0 * inner, (size_t)inner * sizeof(float));
        for (int64_t r = r0 + 1; r < r1; r++) {
            const float *restrict row = x + r * inner;
            for (int64_t i = 0; i < inner; i++) blk[i] += row[i];
        }
        for (int64_t i = 0; i < inner; i++) acc[i] += blk[i];
    }
}

static void sum_outer_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const sum_job *j = ctx;
    double *acc = malloc((size_t)j->inner * sizeof(double));
    if (!acc) return;
    for (int64_t o = begin; o < end; o++) {
        memset(acc, 0, (size_t)j->inner * sizeof(double));
        sum_rows(j->x + o * j->mid * j->inner, j->mid, j->inner, acc);
        float *out = j->out + o * j->inner;
        for (int64_t i = 0; i < j->inner; i++) out[i] = (float)(j->accumulate ? out[i] + acc[i] : acc[i]);
    }
    free(acc);
}

static void sum_mid_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const sum_job *j = ctx;
    double *acc = j->partials + (int64_t)tid * j->inner;
    sum_rows(j->x + begin * j->inner, end - begin, j->inner, acc);
}

void clas_sum_mid(const float *x, float *out, int64_t outer, int64_t mid, int64_t inner, bool accumulate) {
    int threads = clas_num_threads();
    sum_job j = {x, out, NULL, outer, mid, inner, accumulate};
    if (outer >= threads || mid * inner < CLAS_GRAIN) {
        clas_parallel_for(outer, outer * mid * inner < CLAS_GRAIN ? INT64_MAX : 1, sum_outer_chunk, &j);
        return;
    }
    j.partials = calloc((size_t)threads * (size_t)inner, sizeof(double));
    if (!j.partials) return;
    for (int64_t o = 0; o < outer; o++) {
        memset(j.partials, 0, (size_t)threads * (size_t)inner * sizeof(double));
        j.x = x + o * mid * inner;
        clas_parallel_for(mid, 2, sum_mid_chunk, &j);
        float *dst = out + o * inner;
        for (int64_t i = 0; i < inner; i++) {
            double s = 0;
            for (int t = 0; t < threads; t++) s += j.partials[(int64_t)t * inner + i];
            dst[i] = (float)(accumulate ? dst[i] + s : s);
        }
    }
    free(j.partials);
}

typedef struct {
    const float *x;
    double *partials;
    bool squares;
} all_job;

static CLAS_MV void sum_all_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    const all_job *j = ctx;
    const float *restrict x = j->x;
    double total = 0;
    for (int64_t b = begin; b < end; b += 1024) {
        int64_t e = CLAS_MIN(end, b + 1024);
        float s = 0;
        if (j->squares)
            for (int64_t i = b; i < e; i++) s += x[i] * x[i];
        else
            for (int64_t i = b; i < e; i++) s += x[i];
        total += s;
    }
    j->partials[tid] = total;
}

static double sum_all(const float *x, int64_t n, bool squares) {
    double partials[64] = {0};
    all_job j = {x, partials, squares};
    clas_parallel_for(n, CLAS_GRAIN, sum_all_chunk, &j);
    double s = 0;
    for (int t = 0; t < 64; t++) s += partials[t];
    return s;
}

double clas_sum_all(const float *x, int64_t n) { return sum_all(x, n, false); }
double clas_sum_squares(const float *x, int64_t n) { return sum_all(x, n, true); }

typedef struct {
    const float *x, *dy;
    float *y;
    int64_t cols;
    bool log;
} softmax_job;

static CLAS_MV void softmax_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const softmax_job *j = ctx;
    int64_t cols = j->cols;
    for (int64_t r = begin; r < end; r++) {
        const float *restrict x = j->x + r * cols;
        float *restrict y = j->y + r * cols;
        float m = x[0];
        for (int64_t i = 1; i < cols; i++) m = x[i] > m ? x[i] : m;
        float s = 0;
        for (int64_t i = 0; i < cols; i++) s += clas_expf(x[i] - m);
        if (j->log) {
            float ls = logf(s) + m;
            for (int64_t i = 0; i < cols; i++) y[i] = x[i] - ls;
        } else {
            float inv = 1.0f / s;
            for (int64_t i = 0; i < cols; i++) y[i] = clas_expf(x[i] - m) * inv;
        }
    }
}

void clas_softmax_rows(const float *x, float *y, int64_t rows, int64_t cols, bool log) {
    softmax_job j = {x, NULL, y, cols, log};
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(cols, 1)), softmax_chunk, &j);
}

typedef struct {
    const float *y, *dy;
    float *dx;
    int64_t cols;
    bool log;
} softmax_bwd_job;

static CLAS_MV void softmax_bwd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const softmax_bwd_job *j = ctx;
    int64_t cols = j->cols;
    for (int64_t r = begin; r < end; r++) {
        const float *restrict y = j->y + r * cols, *restrict dy = j->dy + r * cols;
        float *restrict dx = j->dx + r * cols;
        float s = 0;
        if (j->log) {
            for (int64_t i = 0; i < cols; i++) s += dy[i];
            for (int64_t i = 0; i < cols; i++) dx[i] = dy[i] - clas_expf(y[i]) * s;
        } else {
            for (int64_t i = 0; i < cols; i++) s += dy[i] * y[i];
            for (int64_t i = 0; i < cols; i++) dx[i] = y[i] * (dy[i] - s);
        }
    }
}

void clas_softmax_rows_backward(const float *y, const float *dy, float *dx, int64_t rows, int64_t cols, bool log) {
    softmax_bwd_job j = {y, dy, dx, cols, log};
    clas_parallel_for(rows, CLAS_MAX(1, CLAS_GRAIN / CLAS_MAX(cols, 1)), softmax_bwd_chunk, &j);
}

void clas_permute(const float *x, float *out, int rank, const int64_t *shape, const int64_t *perm) {
    if (rank <= 0) {
        out[0] = x[0];
        return;
    }
    int64_t in_strides[8], out_shape[8], src_stride[8], idx[8] = {0};
    in_strides[rank - 1] = 1;
    for (int d = rank - 2; d >= 0; d--) in_strides[d] = in_strides[d + 1] * shape[d + 1];
    int64_t total = 1;
    for (int d = 0; d < rank; d++) {
        out_shape[d] = shape[perm[d]];
        src_stride[d] = in_strides[perm[d]];
        total *= out_shape[d];
    }
    int64_t last = out_shape[rank - 1], ls = src_stride[rank - 1];
    for (int64_t o = 0; o < total; o += last) {
        int64_t src = 0;
        for (int d = 0; d < rank - 1; d++) src += idx[d] * src_stride[d];
        for (int64_t i = 0; i < last; i++) out[o + i] = x[src + i * ls];
        for (int d = rank - 2; d >= 0; d--) {
            if (++idx[d] < out_shape[d]) break;
            idx[d] = 0;
        }
    }
}
