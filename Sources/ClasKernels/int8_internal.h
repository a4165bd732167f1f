// Shared between the int8 kernel files (int8_gemm.c, int8_epilogue.c, int8_conv.c, int8_depthwise.c); not public.
#ifndef CLAS_INT8_INTERNAL_H
#define CLAS_INT8_INTERNAL_H

#include "ClasInt8.h"

/// Output channels of one microkernel call (two 16-channel panels); accumulator rows hold this many int32.
#define CLAS_Q8_NRMAX 32

/// The epilogue on int32 accumulators acc[rows][·] (row stride `acc_stride`) for columns j0 ..< j0 + nc, writing
/// output rows of stride `ldc` (float `yf` and/or uint8 `yq`; `res`: residual rows of stride `ldc`, or NULL).
void clas_q8_epilogue_strided(const int32_t *acc, int64_t acc_stride, int64_t rows, int64_t j0, int64_t nc,
                              const clas_q8_epilogue *e, float *yf, uint8_t *yq, const float *res, int64_t ldc);
/// The epilogue on dense accumulators [rows, n] (depthwise).
void clas_q8_epilogue_rows(const int32_t *acc, int64_t rows, int64_t n, const clas_q8_epilogue *e, float *yf,
                           uint8_t *yq, const float *res);
/// Rows [0, rows) of A (already offset) times the packed panels covering columns [j0, j1), into output rows at yf/yq.
void clas_q8_block(const uint8_t *a, int64_t lda, int64_t rows, const int8_t *packed, int64_t k, int64_t j0,
                   int64_t j1, const clas_q8_epilogue *e, float *yf, uint8_t *yq, const float *res, int64_t ldc);
/// Row and column block sizes of the parallel GEMM for an [m, ·] × [·, n] product.
void clas_q8_tiling(int64_t m, int64_t n, int64_t *rb, int64_t *cb);

#endif
