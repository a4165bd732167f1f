// A size-class cache of aligned float buffers: a training step allocates the same shapes every time, so after the
// first step tensors come from here without malloc, page faults or zero-filling.
#include "internal.h"
#include <pthread.h>
#include <stdlib.h>

#define CLAS_CLASSES 256

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static void *g_free[CLAS_CLASSES];  // singly linked through the first word of each free buffer
static int64_t g_cached_bytes = 0;
static int64_t g_live_bytes = 0;

/// Size classes: 16 floats, then four steps per power of two (≤ 25 % waste).
static int size_class(int64_t count, int64_t *capacity) {
    if (count <= 16) {
        *capacity = 16;
        return 0;
    }
    int e = 63 - __builtin_clzll((unsigned long long)(count - 1));  // 2^e < count ≤ 2^(e+1)
    int64_t base = (int64_t)1 << e, step = base / 4;
    int64_t k = (count - base + step - 1) / step;  // 1 ... 4
    *capacity = base + k * step;
    return 1 + (e - 4) * 4 + (int)(k - 1);
}

float *clas_buffer_alloc(int64_t count, int64_t *capacity) {
    if (count < 1) count = 1;
    int cls = size_class(count, capacity);
    size_t bytes = (size_t)*capacity * sizeof(float);
    if (cls < CLAS_CLASSES) {
        pthread_mutex_lock(&g_lock);
        void *p = g_free[cls];
        if (p) {
            g_free[cls] = *(void **)p;
            g_cached_bytes -= (int64_t)bytes;
            g_live_bytes += (int64_t)bytes;
            pthread_mutex_unlock(&g_lock);
            return (float *)p;
        }
        g_live_bytes += (int64_t)bytes;
        pthread_mutex_unlock(&g_lock);
    }
    float *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    return p;
}

void clas_buffer_free(float *p, int64_t capacity) {
    if (!p) return;
    int64_t check;
    int cls = size_class(capacity, &check);
    size_t bytes = (size_t)capacity * sizeof(float);
    if (cls >= CLAS_CLASSES || check != capacity) {
        free(p);
        return;
    }
    pthread_mutex_lock(&g_lock);
    *(void **)p = g_free[cls];
    g_free[cls] = p;
    g_cached_bytes += (int64_t)bytes;
    g_live_bytes -= (int64_t)bytes;
    pthread_mutex_unlock(&g_lock);
}

void clas_buffer_trim(void) {
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < CLAS_CLASSES; i++) {
        void *p = g_free[i];
        while (p) {
            void *next = *(void **)p;
            free(p);
            p = next;
        }
        g_free[i] = NULL;
    }
    g_cached_bytes = 0;
    pthread_mutex_unlock(&g_lock);
}

int64_t clas_buffer_cached_bytes(void) {
    pthread_mutex_lock(&g_lock);
    int64_t b = g_cached_bytes;
    pthread_mutex_unlock(&g_lock);
    return b;
}

int64_t clas_buffer_live_bytes(void) {
    pthread_mutex_lock(&g_lock);
    int64_t b = g_live_bytes;
    pthread_mutex_unlock(&g_lock);
    return b;
}
