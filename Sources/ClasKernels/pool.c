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
/// Per thread, the current job's chunks that thread owns: generation << 16 | next << 8 | end (next ≤ end ≤ 255).
/// Each on its own cache line, so an owner taking its own chunks touches no line another core is using.
static struct {
    _Alignas(64) _Atomic uint64_t claim;
} g_slots[CLAS_MAX_THREADS];
static _Alignas(64) _Atomic int g_done = 0;   // chunks of the current job finished (added once per thread)
static _Alignas(64) _Atomic int g_sleepers = 0;
static _Thread_local int t_in_pool = 0;

static struct {
    _Alignas(64) clas_range_fn fn;
    void *ctx;
    int64_t n;
    int chunks;
    int slots;                     // threads that own chunks in this job
} g_job;

static void run_chunk(int index) {
    int64_t n = g_job.n, chunks = g_job.chunks;
    int64_t begin = n * index / chunks, end = n * (index + 1) / chunks;
    if (begin < end) g_job.fn(g_job.ctx, begin, end, index);
}

/// Takes one chunk of job `gen` from slot `s`: the owner from the front, others from the back (so the owner keeps
/// the chunks next to the ones it has run). Returns the chunk index, or -1 when the slot has none left (or belongs to
/// another job).
static int take(int s, uint64_t gen, bool front) {
    uint64_t v = atomic_load_explicit(&g_slots[s].claim, memory_order_acquire);
    for (;;) {
        if ((v >> 16) != (gen & 0xFFFFFFFFFFFFull)) return -1;
        int next = (int)((v >> 8) & 0xFF), end = (int)(v & 0xFF);
        if (next >= end) return -1;
        uint64_t taken = front ? v + (1u << 8) : v - 1;
        if (atomic_compare_exchange_weak_explicit(&g_slots[s].claim, &v, taken, memory_order_acq_rel,
                                                  memory_order_acquire))
            return front ? next : end - 1;
    }
}

/// Runs chunks of job `gen` as thread `self` until none is left: first the chunks this thread owns (in order; a
/// thread runs the same part of every layer, so a layer's input is mostly in its own cache), then the others'
/// from the back. A chunk's work and its index (which selects its partial-sum slot) do not depend on which thread
/// runs it, so results stay deterministic; a thread that the OS has descheduled (a busy machine) leaves its chunks to
/// the others. Returns the number of chunks run.
static int claim_chunks(uint64_t gen, int self) {
    int ran = 0, slots = g_job.slots, c;
    if (self < slots)
        while ((c = take(self, gen, true)) >= 0) run_chunk(c), ran++;
    for (int k = 1; k <= slots; k++) {
        int s = (self + k) % slots;
        if (s == self) continue;
        while ((c = take(s, gen, false)) >= 0) run_chunk(c), ran++;
    }
    return ran;
}

static void *worker_main(void *arg) {
    const int self = (int)(intptr_t)arg;
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
        int ran = claim_chunks(gen, self);
        // Only a thread that ran chunks reports (before the caller can finish the job), so a late report never
        // reaches the next job's count.
        if (ran) atomic_fetch_add_explicit(&g_done, ran, memory_order_acq_rel);
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
    threads = CLAS_MIN(threads, g_started + 1);  // a worker that could not be started owns no chunks
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
    g_job.slots = threads;
    uint64_t gen = atomic_load(&g_generation) + 1;
    atomic_store_explicit(&g_done, 0, memory_order_relaxed);
    // Thread t owns chunks [t·chunks/threads, (t+1)·chunks/threads).
    for (int t = 0; t < threads; t++) {
        uint64_t begin = (uint64_t)(chunks * t / threads), end = (uint64_t)(chunks * (t + 1) / threads);
        atomic_store_explicit(&g_slots[t].claim, ((gen & 0xFFFFFFFFFFFFull) << 16) | begin << 8 | end,
                              memory_order_release);
    }
    atomic_store(&g_generation, gen);
    if (atomic_load(&g_sleepers) > 0) {
        pthread_mutex_lock(&g_mutex);
        pthread_cond_broadcast(&g_cond);
        pthread_mutex_unlock(&g_mutex);
    }
    t_in_pool = 1;
    int mine = claim_chunks(gen, 0);
    t_in_pool = 0;
    // Wait for chunks other threads claimed; yield now and then so a worker sharing this core can finish.
    for (int spin = 0; atomic_load_explicit(&g_done, memory_order_acquire) < chunks - mine; spin++) {
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
