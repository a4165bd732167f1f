// Packing weights [n, k] (and a bias) into the inference GEMM's panels (packed_layout.h).
#include "packed_layout.h"

int64_t clas_packed_weights_size(int64_t n, int64_t k) {
    return panel_offset(wide_panels(n), k) + (has_narrow_panel(n) ? k * 16 + 16 : 0);
}

void clas_pack_weights(const float *w, const float *bias, int64_t n, int64_t k, float *packed) {
    for (int64_t q = 0; q < panel_count(n); q++) {
        float *p = packed + panel_offset(q, k);
        const int width = panel_width(q, n);
        for (int64_t kk = 0; kk < k; kk++)
            for (int64_t c = 0; c < width; c++) {
                int64_t col = q * NR + c;
                p[kk * width + c] = col < n ? w[col * k + kk] : 0.0f;
            }
        for (int64_t c = 0; c < width; c++) p[k * width + c] = (bias && q * NR + c < n) ? bias[q * NR + c] : 0.0f;
    }
}
