// Fused optimizer updates: one pass over parameter, gradient and state.
#include "internal.h"

typedef struct {
    float *p, *s1, *s2;
    const float *g;
    float lr, a, b, eps, wd, bc1, bc2, gscale;
    bool flag;
} opt_job;

static CLAS_MV void sgd_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const opt_job *j = ctx;
    float *restrict p = j->p, *restrict v = j->s1;
    const float *restrict g = j->g;
    float lr = j->lr, mu = j->a, wd = j->wd, gs = j->gscale;
    if (j->flag) {
        for (int64_t i = begin; i < end; i++) {
            float d = g[i] * gs + wd * p[i];
            float vi = mu * v[i] + d;
            v[i] = vi;
            p[i] -= lr * (d + mu * vi);
        }
    } else {
        for (int64_t i = begin; i < end; i++) {
            float d = g[i] * gs + wd * p[i];
            float vi = mu * v[i] + d;
            v[i] = vi;
            p[i] -= lr * vi;
        }
    }
}

void clas_sgd_update(float *p, const float *g, float *v, int64_t n, float lr, float mu, float wd, bool nesterov,
                     float gscale) {
    opt_job j = {.p = p, .s1 = v, .g = g, .lr = lr, .a = mu, .wd = wd, .flag = nesterov, .gscale = gscale};
    clas_parallel_for(n, CLAS_GRAIN, sgd_chunk, &j);
}

static CLAS_MV void adam_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const opt_job *j = ctx;
    float *restrict p = j->p, *restrict m = j->s1, *restrict v = j->s2;
    const float *restrict g = j->g;
    float lr = j->lr, b1 = j->a, b2 = j->b, eps = j->eps, wd = j->wd, gs = j->gscale;
    float step = lr / j->bc1, inv_bc2 = 1.0f / j->bc2;
    for (int64_t i = begin; i < end; i++) {
        float d = g[i] * gs;
        if (j->flag)
            p[i] -= lr * wd * p[i];
        else
            d += wd * p[i];
        float mi = b1 * m[i] + (1.0f - b1) * d;
        float vi = b2 * v[i] + (1.0f - b2) * d * d;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * mi / (sqrtf(vi * inv_bc2) + eps);
    }
}

void clas_adam_update(float *p, const float *g, float *m, float *v, int64_t n, float lr, float b1, float b2, float eps,
                      float wd, bool decoupled, float bc1, float bc2, float gscale) {
    opt_job j = {.p = p, .s1 = m, .s2 = v, .g = g, .lr = lr, .a = b1, .b = b2, .eps = eps, .wd = wd, .flag = decoupled,
                 .bc1 = bc1, .bc2 = bc2, .gscale = gscale};
    clas_parallel_for(n, CLAS_GRAIN, adam_chunk, &j);
}

static CLAS_MV void rmsprop_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const opt_job *j = ctx;
    float *restrict p = j->p, *restrict ms = j->s1, *restrict mom = j->s2;
    const float *restrict g = j->g;
    float lr = j->lr, rho = j->a, mu = j->b, eps = j->eps, wd = j->wd, gs = j->gscale;
    for (int64_t i = begin; i < end; i++) {
        float d = g[i] * gs + wd * p[i];
        float s = rho * ms[i] + (1.0f - rho) * d * d;
        ms[i] = s;
        float m = mu * mom[i] + lr * d / sqrtf(s + eps);
        mom[i] = m;
        p[i] -= m;
    }
}

void clas_rmsprop_update(float *p, const float *g, float *ms, float *mom, int64_t n, float lr, float rho, float mu,
                         float eps, float wd, float gscale) {
    opt_job j = {.p = p, .s1 = ms, .s2 = mom, .g = g, .lr = lr, .a = rho, .b = mu, .eps = eps, .wd = wd,
                 .gscale = gscale};
    clas_parallel_for(n, CLAS_GRAIN, rmsprop_chunk, &j);
}

static CLAS_MV void ema_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const opt_job *j = ctx;
    float *restrict e = j->p;
    const float *restrict p = j->g;
    float d = j->a, om = 1.0f - j->a;
    for (int64_t i = begin; i < end; i++) e[i] = d * e[i] + om * p[i];
}

void clas_ema_update(float *e, const float *p, int64_t n, float decay) {
    opt_job j = {.p = e, .g = p, .a = decay};
    clas_parallel_for(n, CLAS_GRAIN, ema_chunk, &j);
}
