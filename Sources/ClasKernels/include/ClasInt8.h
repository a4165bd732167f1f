// ClasInt8: integer inference kernels (uint8 activations × int8 weights → int32), see docs/design.md "int8".
//
// Activations are uint8 with a per-tensor zero point (ONNX QuantizeLinear), weights int8 symmetric per output
// channel. Products accumulate exactly in int32 (AVX512-VNNI / AVX-VNNI `vpdpbusd`, or a portable loop), so every
// instruction set gives bit-identical accumulators. The epilogue writes float (`y = (acc − zx·Σw)·scale + bias`,
// the dequantised convolution), uint8 requantised the way onnxruntime's QLinearConv does it, or uint8 quantised from that
// float value (chained layers: the next layer's QuantizeLinear, with its activation, applied in the epilogue).
#ifndef CLAS_INT8_H
#define CLAS_INT8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction sets of the integer GEMM.
enum { CLAS_Q8_PORTABLE = 0, CLAS_Q8_AVXVNNI = 1, CLAS_Q8_AVX512VNNI = 2 };
/// The instruction set in use (the best this CPU has, unless `clas_q8_set_isa` chose another).
int clas_q8_isa(void);
/// Its name: "AVX512-VNNI", "AVX-VNNI" or "portable".
const char *clas_q8_isa_name(int isa);
/// Uses `isa` if this CPU has it (for tests and benchmarks); returns whether it did. -1 restores the default.
int clas_q8_set_isa(int isa);

/// Bytes of packed weights for an [n, k] int8 matrix: ⌈n/16⌉ panels of ⌈k/4⌉ groups of 16 × 4 bytes.
int64_t clas_q8_packed_size(int64_t n, int64_t k);
/// Packs row-major int8 weights `w` [n, k] (output channel × reduction) and writes each row's sum to `rowsum`.
void clas_q8_pack(const int8_t *w, int64_t n, int64_t k, int8_t *packed, int32_t *rowsum);

/// What happens to an int32 accumulator of output channel j.
typedef struct {
    int32_t a_zero;          ///< activation zero point (subtracted as a_zero · rowsum[j])
    const int32_t *rowsum;   ///< Σ_k w[j, k] (NULL when a_zero is applied by the caller, e.g. depthwise)
    int relu;                ///< float: CLAS_ACT_RELU or CLAS_ACT_HARDSWISH after bias and residual (0: none);
                             ///< uint8 requantisation: nonzero clamps at the output zero point
    // float output
    const float *scale;      ///< per channel: activation scale × weight scale
    const float *bias;       ///< per channel, or NULL
    const float *residual;   ///< float output-shaped values added before the ReLU (a fused residual `Add`), or NULL
    // uint8 output (onnxruntime's QLinearConv): clamp(nearbyint(float(acc + bias_q) · requant) + y_zero, 0, 255)
    const int32_t *bias_q;   ///< per channel: nearbyint(bias / scale), or NULL
    const float *requant;    ///< per channel: scale / output scale
    int32_t y_zero;          ///< output zero point
    // uint8 output through the float value, when `requant` is NULL: q = clamp(nearbyint(act(y) / q_scale) + y_zero,
    // 0, 255) with y the float output above: exactly `clas_q8_quantize` of it, without storing the float.
    float q_scale;           ///< output scale
    int q_act;               ///< `CLAS_ACT_*` (NONE, RELU or HARDSWISH) applied to y before quantising
} clas_q8_epilogue;

/// Y[m, n] = epilogue(A[m, k] · Wᵀ) with A uint8 rows of stride `lda` (≥ ⌈k/4⌉·4 readable bytes per row; bytes
/// past k are ignored), W packed. Writes float `yf` and/or uint8 `yq` (row stride `ldc`, either may be NULL; both
/// only when `e->requant` is NULL, the uint8 then being the quantised float).
/// Split over the thread pool.
void clas_q8_gemm(const uint8_t *a, int64_t lda, int64_t m, const int8_t *packed, int64_t n, int64_t k,
                  const clas_q8_epilogue *e, float *yf, uint8_t *yq, int64_t ldc);

/// Convolution geometry (NHWC input [n, h, w, c], kernel kh × kw, output [n, oh, ow, ·]).
typedef struct {
    int64_t n, h, w, c, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow;
} clas_q8_conv_geom;

/// Dense convolution of uint8 NHWC `x` (zero point e->a_zero) with packed OHWI weights [cout, kh·kw·c]: im2col in
/// uint8 row blocks (padding reads as the zero point) fused with the GEMM; output NHWC with row stride `cout`.
void clas_q8_conv(const uint8_t *x, const clas_q8_conv_geom *g, const int8_t *packed, int64_t cout,
                  const clas_q8_epilogue *e, float *yf, uint8_t *yq);

/// Depthwise convolution of uint8 NHWC `x` with int8 weights `wt` [kh·kw, c] (tap-major), output NHWC [.., c].
/// `e->rowsum` is ignored (padding contributes nothing: x − zero point is summed). `x` must be readable 16 bytes
/// past its end (channel blocks are read 16 at a time).
void clas_q8_depthwise(const uint8_t *x, const clas_q8_conv_geom *g, const int8_t *wt, const clas_q8_epilogue *e,
                       float *yf, uint8_t *yq);

/// ONNX QuantizeLinear to uint8 of act(x) (`CLAS_ACT_*`, NONE = 0; the activation a QuantizeLinear reads, fused):
/// q = clamp(nearbyint(act(x) / scale) + zero, 0, 255) (ties to even).
void clas_q8_quantize(const float *x, uint8_t *q, int64_t count, float scale, int32_t zero, int act);

/// ONNX QuantizeLinear to uint8 of the product x·s, x NHWC [n, hw, c] and s [n, c] broadcast over the pixels (a
/// squeeze-excite gate): the same values as a float Mul followed by `clas_q8_quantize`, without storing the product.
void clas_q8_quantize_scaled(const float *x, const float *s, uint8_t *q, int64_t n, int64_t hw, int64_t c,
                             float scale, int32_t zero);

#ifdef __cplusplus
}
#endif
#endif
