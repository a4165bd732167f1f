#!/usr/bin/env bash
# sgemm 2048³ side by side: SwiftClas (`tools env`, the BLAS and kernel it chose) and numpy on the same machine,
# alternating R rounds so machine drift hits both. Prints each round and the median ratio.
# Usage: bench/bench_sgemm.sh [ROUNDS=5]    (PYTHON: a python with numpy, default python3;
#        TOOLS: the binary, default .build/release/tools; extra CLAS_BLAS=... is passed through to SwiftClas)
# Both run with the machine's defaults: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which some hosts set for old
# OpenBLAS builds, are unset for both so each library chooses for itself.
set -euo pipefail
R=${1:-5}
TOOLS=${TOOLS:-.build/release/tools}
PYTHON=${PYTHON:-python3}
[ -x "$TOOLS" ] || { echo "no $TOOLS: swift build -c release --product tools"; exit 2; }
"$PYTHON" -c "import numpy" 2>/dev/null || { echo "no numpy for $PYTHON (pip install numpy)"; exit 2; }
clean=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
ours=(); theirs=()
kernel=$("${clean[@]}" "$TOOLS" env --json --no-measure | "$PYTHON" -c \
    "import json,sys; d=json.load(sys.stdin); print(d['blas_library'], d['blas_kernel'], '|', d['cpu'])")
npinfo=$("${clean[@]}" "$PYTHON" - <<'PY'
import numpy as np
try:
    from threadpoolctl import threadpool_info
    i = [x for x in threadpool_info() if x.get("user_api") == "blas"][0]
    print(f"numpy {np.__version__}: {i.get('internal_api')} {i.get('version')} {i.get('architecture')}, {i.get('num_threads')} threads")
except Exception:
    print(f"numpy {np.__version__} (install threadpoolctl to see its BLAS kernel)")
PY
)
echo "SwiftClas: $kernel"
echo "$npinfo"
for r in $(seq 1 "$R"); do
  a=$("${clean[@]}" "$TOOLS" env --json | "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)['sgemm_gflops'])")
  b=$("${clean[@]}" "$PYTHON" - <<'PY'
import time, numpy as np
n = 2048
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32); b = rng.standard_normal((n, n), dtype=np.float32)
a @ b
t = []
for _ in range(5):
    s = time.perf_counter(); a @ b; t.append(time.perf_counter() - s)
print(round(2 * n ** 3 / sorted(t)[2] / 1e9, 1))
PY
)
  echo "round $r: swiftclas $a GFLOP/s, numpy $b GFLOP/s"
  ours+=("$a"); theirs+=("$b")
done
"$PYTHON" - "${ours[*]}" "${theirs[*]}" <<'PY'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]; b = [float(x) for x in sys.argv[2].split()]
print(f"sgemm 2048³: swiftclas {statistics.median(a):.1f} GFLOP/s, numpy {statistics.median(b):.1f} GFLOP/s, "
      f"ratio {statistics.median([x / y for x, y in zip(a, b)]):.2f}x")
PY
