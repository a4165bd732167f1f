// The weight layout of the inference GEMM (packed_conv.c): output channels in panels, each panel's weights k-major
// with its bias after them, packed once when the inference plan is built.
#ifndef CLAS_PACKED_LAYOUT_H
#define CLAS_PACKED_LAYOUT_H
#include "internal.h"

/// Output channels per weight panel (NV 16-float vectors).
#ifndef NV
#define NV 2
#endif
#define NR (16 * NV)

/// Panels of n output channels: whole 32-wide ones (the last padded with zeros), except that a remainder of at most
/// 16 channels gets a 16-wide panel of its own, so 48 or 80 channels do not pay for 64 or 96.
static inline int64_t wide_panels(int64_t n) { return n % NR == 0 || n % NR > 16 ? (n + NR - 1) / NR : n / NR; }
static inline bool has_narrow_panel(int64_t n) { return n % NR != 0 && n % NR <= 16; }
static inline int64_t panel_count(int64_t n) { return wide_panels(n) + has_narrow_panel(n); }
/// Panel q: [k][width] weights then [width] bias (width 32, or 16 for the narrow last panel).
static inline int64_t panel_offset(int64_t q, int64_t k) { return q * (k * NR + NR); }
static inline int panel_width(int64_t q, int64_t n) { return q < wide_panels(n) ? NR : 16; }

#endif
