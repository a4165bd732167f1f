#!/usr/bin/env python3
"""Float inference side by side: SwiftClas's inference mode against onnxruntime on the same exported model.

For every model and size, `tools benchmark --mode infer --export-onnx` writes the model it benchmarks (same random
weights, MobileOne fused, batch norms folded) as ONNX; then, for ROUNDS rounds, SwiftClas and onnxruntime are run
alternately (interleaved, so load changes on a shared machine hit both), each timing batch-1 latency and batch-32
throughput with the same warm-up and repetitions and reporting the median. Both sides use THREADS threads
(SwiftClas's pool via --threads; onnxruntime intra_op_num_threads, inter_op 1, sequential, all graph optimisations).
Per pair the median over rounds is kept and the ratio computed (latency: ort ms / SwiftClas ms; throughput:
SwiftClas img/s / ort img/s, so > 1 means SwiftClas is faster).

Usage: python3 bench/infer_side_by_side.py [--models ...] [--sizes 224 64] [--rounds 3] [--out bench/results/X.json]
Needs a release build (.build/release/tools) and Python with onnxruntime and numpy (PEERPY, default as bench_table.py).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_table import PEERPY, TOOLS, cpu_name  # noqa: E402

ORT_SNIPPET = r"""
import sys, time, numpy as np, onnxruntime as ort
path, size, threads, warmup, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
name = s.get_inputs()[0].name
for batch in (1, 32):
    x = np.random.default_rng(1).standard_normal((batch, 3, size, size)).astype(np.float32)
    for _ in range(warmup): s.run(None, {name: x})
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); s.run(None, {name: x}); ts.append(time.perf_counter() - t)
    m = sorted(ts)[len(ts) // 2]
    print(f"batch {batch}: {m * 1e3:.3f} ms {batch / m:.2f} img/s", flush=True)
"""


def ours(model, size, threads, warmup, reps, onnx_path=None):
    cmd = [TOOLS, "benchmark", "--model", model, "--size", str(size), "--batch", "32", "--mode", "infer",
           "--threads", str(threads), "--warmup", str(warmup), "--reps", str(reps)]
    if onnx_path:
        cmd += ["--export-onnx", onnx_path]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    lat = re.search(r"batch 1 latency: ([0-9.]+) ms", out.stdout)
    thr = re.findall(r"([0-9.]+) img/s", out.stdout)
    plan = re.search(r"inference plan: .*", out.stdout)
    return float(lat.group(1)), float(thr[-1]), plan.group(0) if plan else None


def peer(onnx_path, size, threads, warmup, reps):
    out = subprocess.run([PEERPY, "-c", ORT_SNIPPET, onnx_path, str(size), str(threads), str(warmup), str(reps)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"onnxruntime failed on {onnx_path}:\n{out.stderr[-2000:]}")
    b1 = re.search(r"batch 1: ([0-9.]+) ms", out.stdout)
    b32 = re.search(r"batch 32: [0-9.]+ ms ([0-9.]+) img/s", out.stdout)
    return float(b1.group(1)), float(b32.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["mobilenetv3_small_100", "mobilenetv3_large_100",
                                                     "efficientnet_b0", "mobileone_s0", "resnet18"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[224, 64])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--out", default=os.path.join(HERE, "results", time.strftime("%Y-%m-%d_infer_side_by_side.json")))
    a = ap.parse_args()
    for path in (TOOLS, PEERPY):
        if not os.path.exists(path):
            sys.exit(f"missing {path}")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    loads = [os.getloadavg()[0]]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in a.models:
            for size in a.sizes:
                onnx_path = os.path.join(tmp, f"{model}_{size}.onnx")
                ours_runs, peer_runs, plan = [], [], None
                for r in range(a.rounds):
                    b1, b32, plan = ours(model, size, a.threads, a.warmup, a.reps, onnx_path if r == 0 else None)
                    ours_runs.append((b1, b32))
                    peer_runs.append(peer(onnx_path, size, a.threads, a.warmup, a.reps))
                    loads.append(os.getloadavg()[0])
                row = {"model": model, "size": size, "plan": plan,
                       "ours_b1_ms": statistics.median(x[0] for x in ours_runs),
                       "ours_b32_img_s": statistics.median(x[1] for x in ours_runs),
                       "ort_b1_ms": statistics.median(x[0] for x in peer_runs),
                       "ort_b32_img_s": statistics.median(x[1] for x in peer_runs),
                       "rounds": {"ours": ours_runs, "ort": peer_runs}}
                row["b1_ratio"] = row["ort_b1_ms"] / row["ours_b1_ms"]
                row["b32_ratio"] = row["ours_b32_img_s"] / row["ort_b32_img_s"]
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "rounds"}), file=sys.stderr, flush=True)
    result = {"started": started, "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu_name(),
              "threads": a.threads, "rounds": a.rounds, "warmup": a.warmup, "reps": a.reps,
              "load_average": {"min": min(loads), "max": max(loads), "samples": loads}, "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    json.dump(result, open(a.out, "w"), indent=1)
    print(f"Measured {started} on {cpu_name()}, {a.threads} threads each, {a.rounds} interleaved rounds, median of "
          f"{a.reps} runs after {a.warmup} warm-up; load average {min(loads):.1f}–{max(loads):.1f}.\n")
    print("| model | size | b1 ms SwiftClas | onnxruntime | ratio | b32 img/s SwiftClas | onnxruntime | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['size']} | {r['ours_b1_ms']:.2f} | {r['ort_b1_ms']:.2f} | {r['b1_ratio']:.2f}× | "
              f"{r['ours_b32_img_s']:.1f} | {r['ort_b32_img_s']:.1f} | {r['b32_ratio']:.2f}× |")


if __name__ == "__main__":
    main()
