// ClasKernels: SwiftClas's hand-written CPU kernels, thread pool and buffer cache.
//
// Layout conventions (see docs/design.md): activations are NHWC (channels last), contiguous, float32; dense conv
// weights are OHWI ([Cout, KH, KW, Cin/groups]); depthwise weights are [C, KH, KW]. Every kernel is compiled for
// AVX-512, AVX2+FMA and baseline x86-64 (`target_clones`) and the loader picks the best one at run time.
// Kernels are deterministic for a fixed thread count: work is split at fixed points and reduced in a fixed order.
#ifndef CLAS_KERNELS_H
#define CLAS_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Threads

/// Sets the number of threads the kernels use (1 ... 64). The BLAS is kept single-threaded; GEMMs are split here.
void clas_set_num_threads(int n);
/// The number of threads the kernels use.
int clas_num_threads(void);
/// A unit of parallel work over [begin, end); `tid` is the worker index (0 = calling thread).
typedef void (*clas_range_fn)(void *ctx, int64_t begin, int64_t end, int tid);
/// Splits [0, n) into `clas_num_threads()` equal chunks (serially when n < grain) and runs them in parallel.
void clas_parallel_for(int64_t n, int64_t grain, clas_range_fn fn, void *ctx);
/// `clas_parallel_for` cut into several chunks per thread, claimed as threads get free (for kernels whose chunks
/// write disjoint outputs and keep no per-chunk partial sums; chunk indices then exceed the thread count).
void clas_parallel_for_fine(int64_t n, int64_t grain, clas_range_fn fn, void *ctx);

// MARK: - Buffers

/// A 64-byte aligned float buffer of at least `count` floats from a size-class cache; `*capacity` receives its size.
float *clas_buffer_alloc(int64_t count, int64_t *capacity);
/// Returns a buffer from `clas_buffer_alloc` to the cache.
void clas_buffer_free(float *p, int64_t capacity);
/// Frees every cached buffer.
void clas_buffer_trim(void);
/// Bytes currently held in the cache (not in use).
int64_t clas_buffer_cached_bytes(void);
/// Bytes currently handed out.
int64_t clas_buffer_live_bytes(void);

// MARK: - BLAS backend (chosen at run time from CPU features, see blas.c)

/// CPU features that decide the BLAS kernel (a bit set; checked together with the OS's saved vector state).
enum {
    CLAS_CPU_SSE3 = 1u << 0,
    CLAS_CPU_AVX = 1u << 1,
    CLAS_CPU_AVX2 = 1u << 2,
    CLAS_CPU_FMA = 1u << 3,
    CLAS_CPU_AVX512F = 1u << 4,
    CLAS_CPU_AVX512BW = 1u << 5,
    CLAS_CPU_AVX512VL = 1u << 6,
    CLAS_CPU_AVX512DQ = 1u << 7,
    CLAS_CPU_AVX512VNNI = 1u << 8,
    CLAS_CPU_AVX512BF16 = 1u << 9,
    CLAS_CPU_AVX512FP16 = 1u << 10,
    CLAS_CPU_AVXVNNI = 1u << 11,
    CLAS_CPU_VENDOR_AMD = 1u << 16,
};
enum { CLAS_BLAS_ROW_MAJOR = 101, CLAS_BLAS_NO_TRANS = 111, CLAS_BLAS_TRANS = 112 };
/// The features of this CPU (CPUID), counting only vector state the OS enables (XGETBV).
uint32_t clas_cpu_features(void);
/// The OpenBLAS core type for a feature set (SKYLAKEX, COOPERLAKE, HASWELL, ZEN, SANDYBRIDGE), or NULL for
/// OpenBLAS's own choice. Pure: tests feed it made-up feature sets.
const char *clas_blas_core_for_features(uint32_t features);
/// Whether a kernel name is a generic, pre-AVX one (Prescott, Core2, Nehalem, the portable reference ...).
bool clas_blas_kernel_is_generic(const char *kernel);
/// What the engine multiplies matrices with.
typedef struct {
    const char *library;    ///< "OpenBLAS", "BLIS" or "reference"
    const char *path;       ///< the shared library file loaded
    const char *version;    ///< the library's build configuration string
    const char *kernel;     ///< the kernel in use, as the library names it (e.g. "SkylakeX", "zen3")
    const char *requested;  ///< the core type asked for and why ("COOPERLAKE (from CPU features)"), or ""
    bool generic;           ///< a generic kernel far below the machine's speed
} clas_blas_info;
/// Loads the backend on first use (CLAS_BLAS=openblas|openblas:CORE|blis|reference overrides the choice).
const clas_blas_info *clas_blas(void);
/// One single-threaded row-major sgemm call on the backend.
void clas_blas_sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
/// Whether this CPU can run the bf16 GEMM (AVX512_BF16 with AVX512 F/BW/VL).
bool clas_bf16_gemm_supported(void);
/// AMP: while on, clas_blas_sgemm (and so every GEMM of the training ops) rounds its inputs to bfloat16 and sums in
/// float32. Returns false (and stays off) when asked for on a CPU without AVX512_BF16.
bool clas_set_bf16_gemm(bool on);
bool clas_bf16_gemm_enabled(void);
/// Whether clas_blas_sgemm sends an M × N × K product to the bf16 GEMM now (AMP on, and large enough to pay for
/// packing): its inputs then count only through their bfloat16 roundings.
bool clas_bf16_routes(int64_t M, int64_t N, int64_t K);
/// The bf16 GEMM itself (single-threaded, same arguments as clas_blas_sgemm); only on a supported CPU.
void clas_bf16_sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
/// The portable reference GEMM (same arguments), for checking the backends against each other.
void clas_reference_sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                          int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

// MARK: - GEMM (row-major)

/// Whether `clas_gemm_rows` (with op(A) = Aᵀ when transA) has its own kernel for N columns and depth K: N a multiple
/// of 8, AMP off, and AVX-512, or AVX2 + FMA without Aᵀ where K ≤ 96 or N ≤ 64 (gemm_rows.c).
bool clas_gemm_rows_supported(bool transA, int64_t n, int64_t k);
/// C = A·B (+ C when accumulating) for row-major A [M, K], B [K, N]; single-threaded. Its own unpacked kernel where
/// `clas_gemm_rows_supported(false, N, K)` (narrow products: the fused MLP's, attention's), otherwise the BLAS.
void clas_gemm_rows(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc, bool accumulate);

/// C = alpha * op(A) * op(B) + beta * C, with op = transpose when the flag is set; split over threads.
void clas_sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/// C_i = alpha·op(A_i)·op(B_i) + beta·C_i for i < batch, X_i = X + i·strideX: the matrices split over the pool
/// (one single-threaded BLAS call each), or each matrix split when there are fewer matrices than threads.
void clas_sgemm_strided_batched(bool transA, bool transB, int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                                const float *A, int64_t lda, int64_t strideA, const float *B, int64_t ldb,
                                int64_t strideB, float beta, float *C, int64_t ldc, int64_t strideC);

// MARK: - Attention

/// Multi-head self-attention on packed projections: qkv [batch, n, 3, heads, d] (timm's `qkv` output), out
/// [batch, n, heads, d] = softmax(scale·Q·Kᵀ + bias)·V per (batch, head). `bias` (may be NULL) is
/// [bias_groups, heads, n, n], sample b using group b % bias_groups. `lse` (may be NULL) receives each score row's
/// log-sum-exp [batch, heads, n], all the backward keeps besides qkv (or `qkv16`, qkv rounded to bfloat16, written
/// when not NULL: what AMP keeps when clas_bf16_routes(n, n, d), every product then reading only that rounding).
/// `drop_p` > 0: attention dropout on the probabilities (kept ones scaled by 1/(1 − p)), its mask a pure function of
/// (`drop_seed`, element index) (``clas_attention_dropout_mask``), so the backward regenerates it from the same seed.
void clas_attention_forward(const float *qkv, const float *bias, int64_t bias_groups, float *out, float *lse,
                            uint16_t *qkv16, int64_t batch, int64_t n, int64_t heads, int64_t d, float scale,
                            float drop_p, uint64_t drop_seed);
/// dqkv from dout [batch, n, heads, d] and qkv (float32 `qkv`, or bfloat16 `qkv16`), recomputing the probabilities
/// (and the dropout mask of the same `drop_p`, `drop_seed`); `dscores` (may be NULL) receives the gradient of the
/// scores [batch, heads, n, n] (for the bias).
void clas_attention_backward(const float *qkv, const uint16_t *qkv16, const float *bias, int64_t bias_groups,
                             const float *lse, const float *dout, float *dqkv, float *dscores, int64_t batch, int64_t n,
                             int64_t heads, int64_t d, float scale, float drop_p, uint64_t drop_seed);
/// The attention-dropout mask values (0 or 1/(1 − p)) of `count` consecutive score elements starting at flat index
/// `first` of the [batch, heads, n, n] probabilities, as the forward and backward apply them.
void clas_attention_dropout_mask(float *mask, int64_t count, uint64_t first, uint64_t seed, float p);
/// ⌊p·2³²⌋ (capped): an element is dropped when its 32-bit hash is below it; 0 for p ≤ 0.
uint32_t clas_attention_drop_threshold(float p);

// MARK: - Elementwise

enum {
    CLAS_ACT_NONE = 0,
    CLAS_ACT_RELU = 1,
    CLAS_ACT_RELU6 = 2,
    CLAS_ACT_HARDSWISH = 3,
    CLAS_ACT_HARDSIGMOID = 4,
    CLAS_ACT_SIGMOID = 5,
    CLAS_ACT_SILU = 6,
    CLAS_ACT_TANH = 7,
    CLAS_ACT_GELU = 8,
    CLAS_ACT_GELU_TANH = 9,
};

/// y = act(x).
void clas_act_forward(int act, const float *x, float *y, int64_t n);
/// dx = act'(x) * dy (or dx += … when accumulate).
void clas_act_backward(int act, const float *x, const float *dy, float *dx, int64_t n, bool accumulate);

enum { CLAS_BIN_ADD = 0, CLAS_BIN_SUB = 1, CLAS_BIN_MUL = 2, CLAS_BIN_DIV = 3 };
/// z = a op b, elementwise over n.
void clas_binary(int op, const float *a, const float *b, float *z, int64_t n);
/// z[o, m, i] = a[o, m, i] op b[o, 0, i] for o < outer, m < mid, i < inner: covers bias ([M,C] op [C]) and
/// squeeze-and-excitation ([N,HW,C] op [N,1,C]) broadcasts.
void clas_binary_bcast_mid(int op, const float *a, const float *b, float *z, int64_t outer, int64_t mid, int64_t inner);
/// z = a * alpha + beta.
void clas_affine(const float *a, float alpha, float beta, float *z, int64_t n);
/// y += alpha * x.
void clas_axpy(int64_t n, float alpha, const float *x, float *y);
/// z[i] = value.
void clas_fill(float *z, float value, int64_t n);

enum {
    CLAS_UN_EXP = 0, CLAS_UN_LOG = 1, CLAS_UN_SQRT = 2, CLAS_UN_RSQRT = 3, CLAS_UN_NEG = 4, CLAS_UN_ABS = 5,
    CLAS_UN_SQUARE = 6, CLAS_UN_RECIP = 7,
};
/// y = f(x) for the unary functions above.
void clas_unary(int fn, const float *x, float *y, int64_t n);

// MARK: - Reductions

/// out[o, i] = sum over m of x[o, m, i] (or += when accumulate); deterministic.
void clas_sum_mid(const float *x, float *out, int64_t outer, int64_t mid, int64_t inner, bool accumulate);
/// Sum of all n elements (double accumulation, fixed order).
double clas_sum_all(const float *x, int64_t n);
/// Sum of squares of n elements (double accumulation).
double clas_sum_squares(const float *x, int64_t n);
/// Row-wise softmax (log_softmax when `log`) over [rows, cols].
void clas_softmax_rows(const float *x, float *y, int64_t rows, int64_t cols, bool log);
/// Backward of row-wise softmax given its output y: dx = y * (dy - sum(dy * y)); for log-softmax dx = dy - exp(y)·sum(dy).
void clas_softmax_rows_backward(const float *y, const float *dy, float *dx, int64_t rows, int64_t cols, bool log);
/// Permutes a contiguous tensor of rank ≤ 8: out[idx permuted] = x[idx].
void clas_permute(const float *x, float *out, int rank, const int64_t *shape, const int64_t *perm);

// MARK: - Layer normalisation (over the last dimension of [rows, c])

/// y = (x − mean)·rstd·γ + β per row (γ, β may be NULL); the row statistics go to mean, rstd (may be NULL).
void clas_layernorm_forward(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                            float *rstd, int64_t rows, int64_t c, float eps);
/// dx from the saved row statistics; γ's and β's gradients (Σ over rows of x̂·dy and of dy) into dgamma and dbeta
/// when they are not NULL (overwritten).
void clas_layernorm_backward(const float *x, const float *mean, const float *rstd, const float *gamma,
                             const float *dy, float *dx, float *dgamma, float *dbeta, int64_t rows, int64_t c);

// MARK: - Fused MLP branch (Tensor.normMlp, mlp.c)

/// out = act(LN(x)·W1ᵀ + b1)·W2ᵀ + b2 over x [rows, c] with W1 [hidden, c], W2 [c, hidden]; LN only with `norm`
/// (its γ, β may be NULL). Keeps h = LN(x)·W1ᵀ + b1 [rows, hidden] (in float32 in h, or rounded to bfloat16 in h16,
/// at most one of them) and the row statistics when mean, rstd are not NULL (training); b1, b2 may be NULL.
void clas_norm_mlp_forward(int act, const float *x, int64_t rows, int64_t c, int64_t hidden, bool norm,
                           const float *norm_w, const float *norm_b, float eps, const float *w1, const float *b1,
                           const float *w2, const float *b2, float *h, uint16_t *h16, float *mean, float *rstd,
                           float *out);
/// The backward pass from what the forward kept (h or h16): dx, p = dyᵀ·act(h) (W2's gradient), dw1, and the row
/// sums db1, Σ dy and the norm's dγ, dβ (these four may be NULL).
void clas_norm_mlp_backward(int act, const float *x, int64_t rows, int64_t c, int64_t hidden, bool norm,
                            const float *norm_w, const float *norm_b, const float *mean, const float *rstd,
                            const float *w1, const float *w2, const float *h, const uint16_t *h16, const float *dy,
                            float *dx, float *p, float *dw1, float *db1, float *sum_dy, float *dnorm_w,
                            float *dnorm_b);

// MARK: - Batch normalisation (NHWC: rows = N·H·W, channels contiguous)

/// Per-channel mean and biased variance over `rows` rows of `c` channels.
void clas_bn_stats(const float *x, int64_t rows, int64_t c, float *mean, float *var);
/// y = act((x - mean) * rsqrt(var + eps) * gamma + beta), per channel.
void clas_bn_apply(const float *x, int64_t rows, int64_t c, const float *mean, const float *var, float eps,
                   const float *gamma, const float *beta, int act, float *y);
/// Backward of `clas_bn_apply` with batch statistics (training) or fixed statistics (`batch_stats` false).
/// Writes dx (when non-null), dgamma and dbeta (when non-null, overwritten).
void clas_bn_backward(const float *x, const float *dy, int64_t rows, int64_t c, const float *mean, const float *var,
                      float eps, const float *gamma, const float *beta, int act, bool batch_stats, float *dx,
                      float *dgamma, float *dbeta);
/// Synchronised (cross-process) batch norm: Σ(x−K) into sums[0, c) and Σ(x−K)² into sums[c, 2c) around a
/// per-channel shift K (e.g. the first row), in double precision; deterministic for a thread count.
void clas_bn_partial_sums(const float *x, int64_t rows, int64_t c, const float *shift, double *sums);
/// Synchronised backward, pass 1: Σg into sums[0, c) and Σg·x̂ into sums[c, 2c) (g = dy·act'), i.e. this process's
/// dbeta and dgamma.
void clas_bn_backward_sums(const float *x, const float *dy, int64_t rows, int64_t c, const float *mean,
                           const float *var, float eps, const float *gamma, const float *beta, int act, double *sums);
/// Synchronised backward, pass 2: dx from the sums of every process over `count` rows in all.
void clas_bn_backward_dx(const float *x, const float *dy, int64_t rows, int64_t c, const float *mean, const float *var,
                         float eps, const float *gamma, const float *beta, int act, const double *sums, double count,
                         float *dx);

// MARK: - Convolution helpers (NHWC)

/// Geometry of a 2-D convolution or pooling window over an NHWC tensor.
typedef struct {
    int64_t n, h, w, c;          ///< input batch, height, width, channels
    int64_t oh, ow;              ///< output height and width
    int64_t kh, kw;              ///< window
    int64_t sh, sw;              ///< stride
    int64_t pt, pl;              ///< top and left padding (bottom/right are implied by oh, ow)
    int64_t dh, dw;              ///< dilation
} clas_conv_geom;

/// Dense convolution y [n·oh·ow, cout] = bias + conv(x, w) with OHWI weights [cout, kh, kw, c/groups] (bias may be
/// NULL), as im2col + GEMM in cache-sized blocks of output pixels (conv_gemm.c).
void clas_conv_gemm_forward(const clas_conv_geom *g, int64_t groups, const float *x, const float *w,
                            const float *bias, int64_t cout, float *y);
/// Its gradients from dy: dx (overwritten) and dw (overwritten), either may be NULL (also those of
/// clas_conv_direct_forward, which computes the same convolution). False when out of memory.
bool clas_conv_gemm_backward(const clas_conv_geom *g, int64_t groups, const float *x, const float *w,
                             const float *dy, int64_t cout, float *dx, float *dw);
/// Direct convolution (groups = 1) for few input channels, e.g. an RGB stem: y[n,oh,ow,:cout] = bias +
/// Σ x·w with OHWI weights w[cout, kh, kw, c] (bias may be null).
void clas_conv_direct_forward(const clas_conv_geom *g, const float *x, const float *w, const float *bias,
                              int64_t cout, float *y);
/// Depthwise conv forward: y[n,oh,ow,c] = bias[c] + Σ x[n,ih,iw,c] * w[c,kh,kw] (bias may be null).
void clas_dwconv_forward(const clas_conv_geom *g, const float *x, const float *w, const float *bias, float *y);
/// Depthwise conv backward: dx (overwritten, may be null), dw (overwritten, may be null), dbias (may be null).
void clas_dwconv_backward(const clas_conv_geom *g, const float *x, const float *w, const float *dy, float *dx,
                          float *dw, float *dbias);

/// Max pooling forward; records the flat input index of each maximum in `argmax` (may be null in eval).
void clas_maxpool_forward(const clas_conv_geom *g, const float *x, float *y, int32_t *argmax);
/// Max pooling backward: dx (zeroed here) receives dy at the recorded maxima.
void clas_maxpool_backward(const clas_conv_geom *g, const float *dy, const int32_t *argmax, float *dx);
/// Average pooling forward (divisor counts padding when count_include_pad).
void clas_avgpool_forward(const clas_conv_geom *g, const float *x, float *y, bool count_include_pad);
/// Global average pooling: y[n][c] = mean of x[n][pixels][c] (NHWC); each output summed in one fixed order.
void clas_global_avg_pool(const float *x, float *y, int64_t n, int64_t pixels, int64_t c);
/// Average pooling backward (dx zeroed here).
void clas_avgpool_backward(const clas_conv_geom *g, const float *dy, float *dx, bool count_include_pad);

// MARK: - Inference convolutions over pre-packed weights (fused epilogue: y = act(conv + bias [+ residual]))

/// Floats needed by `clas_pack_weights` for n output channels of k inputs.
int64_t clas_packed_weights_size(int64_t n, int64_t k);
/// Packs weights w[n][k] and bias[n] (may be null) into 32-channel panels (a last one of ≤ 16 channels 16 wide) for `clas_gemm_packed`/`clas_conv_packed`.
void clas_pack_weights(const float *w, const float *bias, int64_t n, int64_t k, float *packed);
/// y[M, N] = act(A[M, K]·Wᵀ + bias (+ res[M, N] when non-null)) with packed W; split over threads.
void clas_gemm_packed(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *packed,
                      const float *res, int act, float *y);
/// `clas_gemm_packed` of A ⊙ scale: row r of A [M, K] multiplied channel-wise by scale[r / scale_rows] (a
/// squeeze-excite gate [images, K] broadcast over each image's scale_rows pixels) before the product.
void clas_gemm_packed_scaled(int64_t M, int64_t N, int64_t K, const float *A, const float *scale, int64_t scale_rows,
                             const float *packed, const float *res, int act, float *y);
/// Dense convolution (groups = 1) over packed OHWI weights: 1×1 stride 1 reads x directly, others im2col per block
/// of rows; y[n, oh, ow, cout] = act(conv + bias (+ res)).
void clas_conv_packed(const clas_conv_geom *g, const float *x, const float *packed, int64_t cout, const float *res,
                      int act, float *y);
/// Floats needed by `clas_winograd_pack` for a 3×3 convolution of cin → cout channels.
int64_t clas_winograd_packed_size(int64_t cout, int64_t cin);
/// Transforms OHWI 3×3 weights w[cout][3][3][cin] to Winograd F(4×4, 3×3) form (G g Gᵀ, in double) and packs them
/// with bias[cout] (may be null) for `clas_conv_winograd`.
void clas_winograd_pack(const float *w, const float *bias, int64_t cout, int64_t cin, float *packed);
/// 3×3 stride-1 dense convolution by Winograd F(4×4, 3×3) over `clas_winograd_pack`ed weights:
/// y[n, oh, ow, cout] = act(conv + bias (+ res)); split over threads.
void clas_conv_winograd(const clas_conv_geom *g, const float *x, const float *packed, int64_t cout,
                        const float *res, int act, float *y);
/// Whether a training convolution takes the Winograd path: 3×3, stride 1, dilation 1, groups 1, at least 32 input
/// and output channels and outputs of at least 14×14.
bool clas_winograd_trainable(const clas_conv_geom *g, int64_t groups, int64_t cout);
/// y = conv(x, w) (+ bias) for OHWI weights w[cout][3][3][c] by Winograd F(4×4, 3×3), the weights transformed on
/// each call (training: they change every step).
void clas_conv_winograd_forward(const clas_conv_geom *g, const float *x, const float *w, const float *bias,
                                int64_t cout, float *y);
/// Its input gradient dx [n, h, w, c] (overwritten) from dy [n, oh, ow, cout], as the Winograd convolution of dy with
/// the spatially flipped, channel-transposed weights.
void clas_conv_winograd_input_grad(const clas_conv_geom *g, const float *dy, const float *w, int64_t cout,
                                   float *dx);
/// Depthwise weights [c][taps] → the tap-major layout of `clas_dwconv_forward_packed` ([taps][c]).
void clas_dw_pack_weights(const float *w, int64_t c, int64_t taps, float *packed);
/// Depthwise convolution over packed weights with the activation fused: y = act(bias + Σ x·w).
void clas_dwconv_forward_packed(const clas_conv_geom *g, const float *x, const float *packed, const float *bias,
                                int act, float *y);
/// Floats needed by `clas_conv_direct_pack`.
int64_t clas_conv_direct_packed_size(int64_t cout, int64_t k);
/// Packs OHWI weights w[cout][k] for `clas_conv_direct_forward_packed`.
void clas_conv_direct_pack(const float *w, int64_t cout, int64_t k, float *packed);
/// The direct few-input-channel convolution (an RGB stem) over packed weights with the activation fused.
void clas_conv_direct_forward_packed(const clas_conv_geom *g, const float *x, const float *packed, const float *bias,
                                     int64_t cout, int act, float *y);

// MARK: - Optimizer updates (fused, one pass)

/// SGD with momentum: g' = g*gscale + wd*p; v = mu*v + g'; p -= lr * (nesterov ? g' + mu*v : v).
void clas_sgd_update(float *p, const float *g, float *v, int64_t n, float lr, float mu, float wd, bool nesterov,
                     float gscale);
/// Adam / AdamW: decoupled weight decay when `decoupled`, else L2 added to the gradient. bc1, bc2 = bias corrections.
void clas_adam_update(float *p, const float *g, float *m, float *v, int64_t n, float lr, float b1, float b2, float eps,
                      float wd, bool decoupled, float bc1, float bc2, float gscale);
/// RMSProp (PaddlePaddle's form): ms = rho*ms + (1-rho)*g²; mom = mu*mom + lr*g/sqrt(ms+eps); p -= mom.
void clas_rmsprop_update(float *p, const float *g, float *ms, float *mom, int64_t n, float lr, float rho, float mu,
                         float eps, float wd, float gscale);
/// EMA: e = decay*e + (1-decay)*p.
void clas_ema_update(float *e, const float *p, int64_t n, float decay);

#ifdef __cplusplus
}
#endif

// Integer (int8) inference kernels.
#include "ClasInt8.h"
#endif
