#!/usr/bin/env bash
# README's training-speed table: bench/side_by_side.sh (SwiftClas and PyTorch+timm alternating, ROUNDS rounds, median
# ratio) for each model/size pair at batch 32, printed as Markdown with the date, CPU, BLAS kernel and load.
# Usage: bench/train_table.sh [ROUNDS=3] [PAIRS...]   (a pair is MODEL:SIZE; default: the README's six plus
#        efficientnet_b0:224 and mobileone_s0:224). Needs a release build and the peer venv (`make bench-venv`).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
R=${1:-3}; shift || true
PAIRS=("$@")
[ ${#PAIRS[@]} -gt 0 ] || PAIRS=(mobilenetv3_small_100:64 mobilenetv3_small_100:224 mobilenetv3_large_100:224
                                 efficientnet_b0:64 efficientnet_b0:224 mobileone_s0:64 mobileone_s0:224 resnet18:224)
TOOLS=${TOOLS:-.build/release/tools}
env=$("$TOOLS" env --json --no-measure | python3 -c \
    "import json,sys; d=json.load(sys.stdin); print(f\"{d['cpu']}, {d['cores']} cores; {d['blas_library']} kernel {d['blas_kernel']}, {d['threads']} threads\")")
echo "Training, batch 32, images/s, median of $R alternating rounds; $(date -u '+%Y-%m-%d %H:%M UTC'); $env;" \
     "load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | size | SwiftClas img/s | PyTorch img/s | ratio |"
echo "|---|---|---|---|---|"
for pair in "${PAIRS[@]}"; do
  m=${pair%%:*}; s=${pair##*:}
  line=$(bash "$HERE/side_by_side.sh" "$m" "$s" 32 train "$R" | tail -1)
  a=$(echo "$line" | sed -nE 's/.*swiftclas ([0-9.]+) img\/s.*/\1/p')
  b=$(echo "$line" | sed -nE 's/.*pytorch ([0-9.]+) img\/s.*/\1/p')
  r=$(echo "$line" | sed -nE 's/.*ratio ([0-9.]+)x.*/\1/p')
  echo "| $m | $s | ${a:-?} | ${b:-?} | ${r:-?}× |"
done
