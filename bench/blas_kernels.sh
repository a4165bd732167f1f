#!/usr/bin/env bash
# sgemm 2048³ GFLOP/s under each BLAS backend SwiftClas can use on this machine (`tools env` with CLAS_BLAS=...):
# the default choice from CPU features, OpenBLAS with other core types (PRESCOTT is what Debian's OpenBLAS falls back
# to on a CPU model it does not know), BLIS, and the portable reference GEMM. ROUNDS alternating rounds, median.
# Usage: bench/blas_kernels.sh [ROUNDS=3]   (TOOLS: the binary, default .build/release/tools)
set -euo pipefail
R=${1:-3}
TOOLS=${TOOLS:-.build/release/tools}
SETTINGS=(default openblas:COOPERLAKE openblas:SKYLAKEX openblas:HASWELL openblas:ZEN openblas:SANDYBRIDGE
          openblas:PRESCOTT blis reference)
declare -A runs kernel
for r in $(seq 1 "$R"); do
  for s in "${SETTINGS[@]}"; do
    if [ "$s" = default ]; then out=$(env -u CLAS_BLAS -u OPENBLAS_CORETYPE "$TOOLS" env --json)
    else out=$(env -u OPENBLAS_CORETYPE CLAS_BLAS="$s" "$TOOLS" env --json 2>/dev/null); fi
    read -r k g < <(echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['blas_library']+'/'+d['blas_kernel'], d['sgemm_gflops'])")
    kernel[$s]=$k; runs[$s]="${runs[$s]:-} $g"
  done
done
echo "sgemm 2048³, $("$TOOLS" env --json --no-measure | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['cpu'], '-', d['threads'], 'threads')"), $(date -u '+%Y-%m-%d %H:%M UTC'), median of $R"
echo
echo "| CLAS_BLAS | library / kernel | GFLOP/s |"
echo "|---|---|---|"
for s in "${SETTINGS[@]}"; do
  med=$(python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" ${runs[$s]})
  echo "| $s | ${kernel[$s]} | $med |"
done
