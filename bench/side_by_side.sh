#!/usr/bin/env bash
# Side-by-side training or inference throughput: SwiftClas `tools benchmark` vs PyTorch+timm, alternating
# A B A B in one run so machine drift hits both. Prints each figure and the median ratio SwiftClas/PyTorch.
# Usage: bench/side_by_side.sh MODEL SIZE [BATCH=32] [MODE=train|infer] [ROUNDS=3]
#   MODEL is a timm name (mobilenetv3_small_100, mobilenetv3_large_100, efficientnet_b0, mobileone_s0, resnet18).
# Needs: a release build (.build/release/tools) whose `tools benchmark --model M --size S --batch B --mode MODE`
# prints a last line ending in "<number> img/s", and the peer venv from setup-peers.sh (`make bench-venv`;
# PEER_VENV or PEERPY to override).
set -uo pipefail
M=$1; S=$2; B=${3:-32}; MODE=${4:-train}; R=${5:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
PEERPY=${PEERPY:-${PEER_VENV:-.venv-bench}/bin/python}
TOOLS=${TOOLS:-.build/release/tools}
[ -x "$TOOLS" ] || { echo "no $TOOLS: swift build -c release"; exit 2; }
[ -x "$PEERPY" ] || { echo "no peer venv: $HERE/setup-peers.sh"; exit 2; }
tmp=$(mktemp -d)
ours=(); theirs=()
for r in $(seq 1 "$R"); do
  a=$("$TOOLS" benchmark --model "$M" --size "$S" --batch "$B" --mode "$MODE" 2>&1 | grep -oE '[0-9.]+ img/s' | tail -1 | cut -d' ' -f1)
  if [ "$MODE" = train ]; then
    "$PEERPY" "$HERE/peer_train.py" --models "$M" --res "$S" --batch "$B" --warmup 2 --reps 5 --out "$tmp/p.json" >/dev/null 2>&1
    b=$("$PEERPY" -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['img_per_s_median'])" "$tmp/p.json")
  else
    b=$("$PEERPY" "$HERE/peer_torch_infer.py" "$M" "$S" "$B")
  fi
  echo "round $r: swiftclas ${a:-?} img/s, pytorch ${b:-?} img/s"
  ours+=("${a:-0}"); theirs+=("${b:-0}")
done
python3 - "${ours[*]}" "${theirs[*]}" "$M" "$S" "$B" "$MODE" <<'PY'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]; b = [float(x) for x in sys.argv[2].split()]
r = [x / y if y else 0 for x, y in zip(a, b)]
print(f"{sys.argv[3]} {sys.argv[6]} size {sys.argv[4]} batch {sys.argv[5]}: swiftclas {statistics.median(a):.1f} img/s, "
      f"pytorch {statistics.median(b):.1f} img/s, ratio {statistics.median(r):.2f}x")
PY
rm -rf "$tmp"
