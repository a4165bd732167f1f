// A persistent thread pool with fixed work splits (deterministic reductions); the BLAS is kept single-threaded.
#include "internal.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CLAS_PAUSE() _mm_pause()
#else
#define CLAS_PAUSE() ((void)0)
#endif

#define CLAS_MAX_THREADS 64
/// Spin this many pause loops before a worker sleeps (≈100 µs): steps issue kernels back to back.
#define CLAS_SPIN 20000
/// Chunks per thread of `clas_parallel_for_fine`: a core that the OS shares with another process (or a worker that
/// wakes late) takes fewer chunks instead of holding up the layer with half of it.
#define CLAS_FINE_CHUNKS 4

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_threads = 1;          // total threads including the caller
static int g_started = 0;          // worker threads created
static pthread_mutex_t g_submit = PTHREAD_MUTEX_INITIALIZER;  // one job at a time; other callers run serially
static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static _Atomic uint64_t g_generation = 0;
/// The current job's chunk dispenser: generation << 16 | chunks << 8 | next unclaimed chunk.
static _Atomic uint64_t g_claim = 0;
static _Atomic int g_done = 0;     // chunks of the current job finished
static _Atomic int g_sleepers = 0;
static _Thread_local int t_in_pool = 0;

static struct {
    clas_range_fn fn;
    void *ctx;
    int64_t n;
    int chunks;
} g_job;

static void run_chunk(int index) {
    int64_t n = g_job.n, chunks = g_job.chunks;
    int64_t begin = n * index / chunks, end = n * (index + 1) / chunks;
    if (begin < end) g_job.fn(g_job.ctx, begin, end, index);
}

/// Runs unclaimed chunks of job `gen` until none is left. Chunks are claimed, not assigned: a thread that the OS
/// has descheduled (a busy machine) leaves its share to the others. A chunk's work and its index (which selects
/// its partial-sum slot) do not depend on which thread runs it, so results stay deterministic.
static void claim_chunks(uint64_t gen) {
    uint64_t v = atomic_load_explicit(&g_claim, memory_order_acquire);
    for (;;) {
        if ((v >> 16) != (gen & 0xFFFFFFFFFFFFull)) return;
        int chunks = (int)((v >> 8) & 0xFF), next = (int)(v & 0xFF);
        if (next >= chunks) return;
        if (atomic_compare_exchange_weak_explicit(&g_claim, &v, v + 1, memory_order_acq_rel, memory_order_acquire)) {
            run_chunk(next);
            atomic_fetch_add_explicit(&g_done, 1, memory_order_acq_rel);
            v = atomic_load_explicit(&g_claim, memory_order_acquire);
        }
    }
}

static void *worker_main(void *arg) {
    (void)arg;
    t_in_pool = 1;
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen = atomic_load_explicit(&g_generation, memory_order_acquire);
        for (int spin = 0; gen == seen && spin < CLAS_SPIN; spin++) {
            CLAS_PAUSE();
            gen = atomic_load_explicit(&g_generation, memory_order_acquire);
        }
        if (gen == seen) {
            pthread_mutex_lock(&g_mutex);
            atomic_fetch_add(&g_sleepers, 1);
            while ((gen = atomic_load(&g_generation)) == seen) pthread_cond_wait(&g_cond, &g_mutex);
            atomic_fetch_sub(&g_sleepers, 1);
            pthread_mutex_unlock(&g_mutex);
        }
        seen = gen;
        claim_chunks(gen);
    }
    return NULL;
}

static int default_threads(void) {
    const char *env = getenv("CLAS_NUM_THREADS");
    long n = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > CLAS_MAX_THREADS) n = CLAS_MAX_THREADS;
    return (int)n;
}

static void init_once(void) {
    g_threads = default_threads();
}

static void ensure_workers(void) {
    while (g_started < g_threads - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, worker_main, (void *)(intptr_t)(g_started + 1)) != 0) {
            pthread_attr_destroy(&attr);
            g_threads = g_started + 1;
            return;
        }
        pthread_attr_destroy(&attr);
        g_started++;
    }
}

void clas_set_num_threads(int n) {
    pthread_once(&g_once, init_once);
    if (n < 1) n = 1;
    if (n > CLAS_MAX_THREADS) n = CLAS_MAX_THREADS;
    pthread_mutex_lock(&g_submit);
    g_threads = n;
    pthread_mutex_unlock(&g_submit);
}

int clas_num_threads(void) {
    pthread_once(&g_once, init_once);
    return g_threads;
}

/// Runs fn over [0, n) in `per_thread` chunks per thread (at most 255 chunks).
static void parallel(int64_t n, int64_t grain, int per_thread, clas_range_fn fn, void *ctx) {
    if (n <= 0) return;
    pthread_once(&g_once, init_once);
    int threads = g_threads;
    if (threads <= 1 || n < grain || n < 2 || t_in_pool || pthread_mutex_trylock(&g_submit) != 0) {
        fn(ctx, 0, n, 0);
        return;
    }
    threads = g_threads;  // may have changed before we got the lock
    ensure_workers();
    int64_t want = CLAS_MIN((int64_t)threads * per_thread, 255);
    int chunks = (int)(n < want ? n : want);
    if (chunks <= 1) {
        pthread_mutex_unlock(&g_submit);
        fn(ctx, 0, n, 0);
        return;
    }
    g_job.fn = fn;
    g_job.ctx = ctx;
    g_job.n = n;
    g_job.chunks = chunks;
    uint64_t gen = atomic_load(&g_generation) + 1;
    atomic_store_explicit(&g_done, 0, memory_order_relaxed);
    atomic_store_explicit(&g_claim, ((gen & 0xFFFFFFFFFFFFull) << 16) | ((uint64_t)chunks << 8), memory_order_release);
    atomic_store(&g_generation, gen);
    if (atomic_load(&g_sleepers) > 0) {
        pthread_mutex_lock(&g_mutex);
        pthread_cond_broadcast(&g_cond);
        pthread_mutex_unlock(&g_mutex);
    }
    t_in_pool = 1;
    claim_chunks(gen);
    t_in_pool = 0;
    // Wait for chunks other threads claimed; yield now and then so a worker sharing this core can finish.
    for (int spin = 0; atomic_load_explicit(&g_done, memory_order_acquire) < chunks; spin++) {
        if (spin < 4096) CLAS_PAUSE();
        else sched_yield();
    }
    pthread_mutex_unlock(&g_submit);
}

void clas_parallel_for(int64_t n, int64_t grain, clas_range_fn fn, void *ctx) {
    parallel(n, grain, 1, fn, ctx);
}

void clas_parallel_for_fine(int64_t n, int64_t grain, clas_range_fn fn, void *ctx) {
    parallel(n, grain, CLAS_FINE_CHUNKS, fn, ctx);
}

// MARK: scratch

static _Thread_local void *t_scratch;
static _Thread_local size_t t_scratch_size;

void *clas_scratch(int tid, size_t bytes) {
    (void)tid;
    if (t_scratch_size < bytes) {
        free(t_scratch);
        size_t size = bytes < 4096 ? 4096 : bytes * 2;
        t_scratch = aligned_alloc(64, (size + 63) / 64 * 64);
        t_scratch_size = t_scratch ? size : 0;
    }
    return t_scratch;
}
