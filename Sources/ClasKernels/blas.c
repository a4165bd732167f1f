// The BLAS backend, chosen at run time from what the CPU can do (CPUID feature bits), never from its model name.
//
// Debian's OpenBLAS picks its kernels from the CPU *model*; on a CPU it does not know (a cloud VM reporting only
// "Intel(R) Xeon(R) Processor") it falls back to its SSE3 "Prescott" kernels at a fifth of the machine. OpenBLAS
// reads OPENBLAS_CORETYPE once, when it is loaded, so the library is not linked: it is `dlopen`ed on first use after
// the core type has been chosen here from the feature bits. CLAS_BLAS and OPENBLAS_CORETYPE, when set, win.
#define _GNU_SOURCE  // dladdr
#include "internal.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

typedef void (*cblas_sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                               const float *B, int ldb, float beta, float *C, int ldc);

static struct {
    cblas_sgemm_fn sgemm;
    clas_blas_info info;
    char library[32], path[512], version[160], kernel[48], requested[48], reason[200];
} g_blas;
static pthread_once_t g_blas_once = PTHREAD_ONCE_INIT;

// MARK: - CPU features

#if defined(__x86_64__)
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

uint32_t clas_cpu_features(void) {
    uint32_t f = 0;
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (c & bit_SSE3) f |= CLAS_CPU_SSE3;
    bool osxsave = (c & bit_OSXSAVE) != 0, fma = (c & bit_FMA) != 0, avx = (c & bit_AVX) != 0;
    // Vector state the OS saves on a context switch: YMM (bits 1-2) for AVX, plus opmask/ZMM (5-7) for AVX-512.
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xE0) == 0xE0;
    if (avx && ymm) f |= CLAS_CPU_AVX;
    if (fma && ymm) f |= CLAS_CPU_FMA;
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if ((b & bit_AVX2) && ymm) f |= CLAS_CPU_AVX2;
        if (zmm) {
            if (b & bit_AVX512F) f |= CLAS_CPU_AVX512F;
            if (b & bit_AVX512BW) f |= CLAS_CPU_AVX512BW;
            if (b & bit_AVX512VL) f |= CLAS_CPU_AVX512VL;
            if (b & bit_AVX512DQ) f |= CLAS_CPU_AVX512DQ;
            if (c & bit_AVX512VNNI) f |= CLAS_CPU_AVX512VNNI;
            if (d & (1u << 23)) f |= CLAS_CPU_AVX512FP16;
        }
        unsigned a1, b1, c1, d1;
        __cpuid_count(7, 1, a1, b1, c1, d1);
        if ((a1 & (1u << 4)) && ymm) f |= CLAS_CPU_AVXVNNI;
        if ((a1 & (1u << 5)) && zmm) f |= CLAS_CPU_AVX512BF16;
    }
    unsigned v[4] = {0};
    __get_cpuid(0, &a, &v[0], &v[2], &v[1]);  // vendor string in ebx, edx, ecx order
    if (v[0] == 0x68747541u) f |= CLAS_CPU_VENDOR_AMD;  // "Auth"enticAMD
#endif
    return f;
}

const char *clas_blas_core_for_features(uint32_t f) {
    const uint32_t avx512 = CLAS_CPU_AVX512F | CLAS_CPU_AVX512BW | CLAS_CPU_AVX512VL | CLAS_CPU_AVX512DQ;
    // SkylakeX's AVX-512 sgemm kernel; Cooperlake is the same plus bf16 routines, so prefer it where bf16 exists
    // (OpenBLAS itself picks Cooperlake on the Zen 4 and Sapphire Rapids models it knows).
    if ((f & avx512) == avx512) return (f & CLAS_CPU_AVX512BF16) ? "COOPERLAKE" : "SKYLAKEX";
    if ((f & (CLAS_CPU_AVX2 | CLAS_CPU_FMA)) == (CLAS_CPU_AVX2 | CLAS_CPU_FMA))
        return (f & CLAS_CPU_VENDOR_AMD) ? "ZEN" : "HASWELL";
    if (f & CLAS_CPU_AVX) return "SANDYBRIDGE";
    return NULL;  // SSE-only: OpenBLAS's own choice is as good as any
}

bool clas_blas_kernel_is_generic(const char *kernel) {
    if (!kernel || !*kernel) return true;
    static const char *const generic[] = {"prescott", "katmai", "coppermine", "northwood", "core2", "penryn",
                                          "dunnington", "nehalem", "atom", "generic", "reference"};
    char low[48] = {0};
    for (size_t i = 0; i + 1 < sizeof low && kernel[i]; i++) low[i] = (char)(kernel[i] | 0x20);
    for (size_t i = 0; i < sizeof generic / sizeof *generic; i++)
        if (strcmp(low, generic[i]) == 0) return true;
    return false;
}

// MARK: - The portable reference GEMM (used when no BLAS library can be loaded, and to check the others)

/// Row-major C = alpha·op(A)·op(B) + beta·C; op(B) is packed into K×NB column panels so the inner loop streams.
static CLAS_MV void reference_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                                    int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    (void)order;
    enum { NB = 256 };
    float *panel = malloc((size_t)K * NB * sizeof(float));
    if (!panel) abort();
    for (int j0 = 0; j0 < N; j0 += NB) {
        int nb = CLAS_MIN(NB, N - j0);
        for (int k = 0; k < K; k++)
            for (int j = 0; j < nb; j++)
                panel[(size_t)k * nb + j] = tb == CLAS_BLAS_TRANS ? B[(size_t)(j0 + j) * ldb + k] : B[(size_t)k * ldb + j0 + j];
        for (int i = 0; i < M; i++) {
            float acc[NB];
            for (int j = 0; j < nb; j++) acc[j] = 0;
            for (int k = 0; k < K; k++) {
                float a = ta == CLAS_BLAS_TRANS ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                const float *p = panel + (size_t)k * nb;
                for (int j = 0; j < nb; j++) acc[j] += a * p[j];
            }
            float *c = C + (size_t)i * ldc + j0;
            for (int j = 0; j < nb; j++) c[j] = beta == 0 ? alpha * acc[j] : alpha * acc[j] + beta * c[j];
        }
    }
    free(panel);
}

// MARK: - Loading

static void set_reason(const char *fmt, const char *arg) { snprintf(g_blas.reason, sizeof g_blas.reason, fmt, arg); }

static void use_reference(void) {
    g_blas.sgemm = reference_sgemm;
    snprintf(g_blas.library, sizeof g_blas.library, "reference");
    snprintf(g_blas.kernel, sizeof g_blas.kernel, "reference");
    snprintf(g_blas.version, sizeof g_blas.version, "SwiftClas portable GEMM");
    g_blas.path[0] = 0;
}

static bool record_path(void *sym) {
    Dl_info di;
    if (sym && dladdr(sym, &di) && di.dli_fname) {
        // The real file behind Debian's alternatives symlinks (openblas-pthread/…, blis-pthread/…).
        char *real = realpath(di.dli_fname, NULL);
        snprintf(g_blas.path, sizeof g_blas.path, "%s", real ? real : di.dli_fname);
        free(real);
    }
    return sym != NULL;
}

/// OpenBLAS with its core type chosen from the CPU features (unless OPENBLAS_CORETYPE or `core` says otherwise).
static bool load_openblas(const char *core) {
    const char *user = getenv("OPENBLAS_CORETYPE");
    if (core && *core) {
        setenv("OPENBLAS_CORETYPE", core, 1);
        snprintf(g_blas.requested, sizeof g_blas.requested, "%s (CLAS_BLAS)", core);
    } else if (user && *user) {
        snprintf(g_blas.requested, sizeof g_blas.requested, "%s (OPENBLAS_CORETYPE)", user);
    } else if ((core = clas_blas_core_for_features(clas_cpu_features()))) {
        setenv("OPENBLAS_CORETYPE", core, 1);
        snprintf(g_blas.requested, sizeof g_blas.requested, "%s (from CPU features)", core);
    }
    // The engine splits GEMMs over its own pool; OpenBLAS starting its own threads would only compete.
    if (!getenv("OPENBLAS_NUM_THREADS")) setenv("OPENBLAS_NUM_THREADS", "1", 1);
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"};
    void *h = NULL;
    for (size_t i = 0; !h && i < sizeof names / sizeof *names; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) { set_reason("libopenblas.so.0 not found (%s)", "apt-get install libopenblas0-pthread"); return false; }
    cblas_sgemm_fn f = (cblas_sgemm_fn)dlsym(h, "cblas_sgemm");
    if (!record_path((void *)f)) { set_reason("%s has no cblas_sgemm", "libopenblas"); return false; }
    void (*set_threads)(int) = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    if (set_threads) set_threads(1);
    char *(*corename)(void) = (char *(*)(void))dlsym(h, "openblas_get_corename");
    char *(*config)(void) = (char *(*)(void))dlsym(h, "openblas_get_config");
    snprintf(g_blas.library, sizeof g_blas.library, "OpenBLAS");
    snprintf(g_blas.kernel, sizeof g_blas.kernel, "%s", corename ? corename() : "unknown");
    snprintf(g_blas.version, sizeof g_blas.version, "%s", config ? config() : "");
    g_blas.sgemm = f;
    return true;
}

/// BLIS (Debian's libblis4), which dispatches on CPU features itself; single-threaded unless BLIS_NUM_THREADS says.
static bool load_blis(void) {
    static const char *const names[] = {"libblis.so.4", "libblis.so", "libblis.dylib"};
    void *h = NULL;
    for (size_t i = 0; !h && i < sizeof names / sizeof *names; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) { set_reason("libblis.so.4 not found (%s)", "apt-get install libblis4-pthread"); return false; }
    cblas_sgemm_fn f = (cblas_sgemm_fn)dlsym(h, "cblas_sgemm");
    if (!record_path((void *)f)) { set_reason("%s has no cblas_sgemm", "libblis"); return false; }
    int (*arch_id)(void) = (int (*)(void))dlsym(h, "bli_arch_query_id");
    const char *(*arch_name)(int) = (const char *(*)(int))dlsym(h, "bli_arch_string");
    const char *(*version)(void) = (const char *(*)(void))dlsym(h, "bli_info_get_version_str");
    snprintf(g_blas.library, sizeof g_blas.library, "BLIS");
    if (arch_id && arch_name) snprintf(g_blas.kernel, sizeof g_blas.kernel, "%s", arch_name(arch_id()));
    else snprintf(g_blas.kernel, sizeof g_blas.kernel, "unknown");
    snprintf(g_blas.version, sizeof g_blas.version, "%s", version ? version() : "");
    g_blas.sgemm = f;
    return true;
}

/// Whether the loaded sgemm agrees with the reference on a few odd shapes (all transpositions): some library
/// builds compute wrong results with kernels for CPUs newer than themselves, so a wrong library is never used.
static bool backend_agrees_with_reference(void) {
    static const int shapes[][3] = {{37, 61, 53}, {130, 97, 211}, {5, 300, 17}};
    bool ok = true;
    for (size_t s = 0; ok && s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        size_t big = (size_t)(M > N ? M : N) * (size_t)K;
        float *a = malloc(big * sizeof(float)), *b = malloc(big * sizeof(float));
        float *c = malloc((size_t)M * N * sizeof(float)), *r = malloc((size_t)M * N * sizeof(float));
        if (!a || !b || !c || !r) abort();
        for (size_t i = 0; i < big; i++) {
            a[i] = (float)((i * 7919u) % 211u) / 211.0f - 0.4f;
            b[i] = (float)((i * 104729u) % 197u) / 197.0f - 0.6f;
        }
        for (int t = 0; ok && t < 4; t++) {
            int ta = t & 1 ? CLAS_BLAS_TRANS : CLAS_BLAS_NO_TRANS, tb = t & 2 ? CLAS_BLAS_TRANS : CLAS_BLAS_NO_TRANS;
            int lda = ta == CLAS_BLAS_TRANS ? M : K, ldb = tb == CLAS_BLAS_TRANS ? K : N;
            g_blas.sgemm(CLAS_BLAS_ROW_MAJOR, ta, tb, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, N);
            reference_sgemm(CLAS_BLAS_ROW_MAJOR, ta, tb, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, r, N);
            float scale = 0, err = 0;
            for (int i = 0; i < M * N; i++) {
                scale = fmaxf(scale, fabsf(r[i]));
                err = fmaxf(err, fabsf(c[i] - r[i]));
            }
            ok = err <= 1e-4f * scale && err == err;
        }
        free(a); free(b); free(c); free(r);
    }
    return ok;
}

static void blas_init(void) {
    const char *spec = getenv("CLAS_BLAS");
    bool ok = false;
    if (spec && *spec) {
        snprintf(g_blas.requested, sizeof g_blas.requested, "%s (CLAS_BLAS)", spec);
        if (strncmp(spec, "openblas", 8) == 0) ok = load_openblas(spec[8] == ':' ? spec + 9 : NULL);
        else if (strcmp(spec, "blis") == 0) ok = load_blis();
        else if (strcmp(spec, "reference") == 0) { use_reference(); ok = true; }
        else set_reason("CLAS_BLAS=%s is not one of openblas, openblas:CORE, blis, reference", spec);
        if (!ok) fprintf(stderr, "warning: %s; trying the default BLAS\n", g_blas.reason);
    }
    if (!ok) ok = load_openblas(NULL);
    if (!ok) ok = load_blis();
    if (ok && !backend_agrees_with_reference()) {
        fprintf(stderr, "warning: %s with kernel %s computes wrong matrix products on this CPU; ", g_blas.library,
                g_blas.kernel);
        bool was_blis = strcmp(g_blas.library, "BLIS") == 0;
        ok = !was_blis && load_blis() && backend_agrees_with_reference();
        fprintf(stderr, "using %s instead (set CLAS_BLAS or OPENBLAS_CORETYPE to choose another)\n",
                ok ? "BLIS" : "SwiftClas's portable GEMM");
        if (!ok) use_reference();
        ok = true;
    }
    if (!ok) {
        fprintf(stderr, "warning: no BLAS library could be loaded (%s); using SwiftClas's portable GEMM, which is "
                        "several times slower\n", g_blas.reason);
        use_reference();
    }
    g_blas.info = (clas_blas_info){g_blas.library, g_blas.path, g_blas.version, g_blas.kernel, g_blas.requested,
                                   clas_blas_kernel_is_generic(g_blas.kernel)};
}

const clas_blas_info *clas_blas(void) {
    pthread_once(&g_blas_once, blas_init);
    return &g_blas.info;
}

bool clas_bf16_routes(int64_t M, int64_t N, int64_t K) {
    return clas_bf16_gemm_enabled() && K >= 16 && M * N * K >= (1 << 17);
}

void clas_blas_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    // AMP: products large enough to pay for packing go to the bf16 kernel (gemm_bf16.c)
    if (clas_bf16_routes(M, N, K)) {
        clas_bf16_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    pthread_once(&g_blas_once, blas_init);
    g_blas.sgemm(CLAS_BLAS_ROW_MAJOR, ta ? CLAS_BLAS_TRANS : CLAS_BLAS_NO_TRANS, tb ? CLAS_BLAS_TRANS : CLAS_BLAS_NO_TRANS,
                 (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

void clas_reference_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                          const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    reference_sgemm(CLAS_BLAS_ROW_MAJOR, ta ? CLAS_BLAS_TRANS : CLAS_BLAS_NO_TRANS, tb ? CLAS_BLAS_TRANS : CLAS_BLAS_NO_TRANS,
                    (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}
