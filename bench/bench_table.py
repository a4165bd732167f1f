#!/usr/bin/env python3
"""Side-by-side performance table: SwiftClas `tools benchmark` vs PyTorch eager (+timm) vs onnxruntime.

For every model and size, runs in one go (SwiftClas and the peer back to back, so machine drift hits both):
training images/s at batch 32 (--batch), inference batch-1 latency and batch-32 images/s, and the memory of the training
processes, twice: peak RSS of the whole process, and peak RSS minus the process's idle baseline (the peak RSS of the
same program doing nothing: `tools benchmark --help` for SwiftClas, the Python interpreter after `import torch, timm`
for PyTorch), so the interpreter and libraries are not counted as training memory. Prints a Markdown table (the
README's performance table, with the date, CPU and load average) and writes the raw figures as JSON.

With --amp, training runs in mixed precision on both sides (SwiftClas `--amp`, PyTorch bf16 autocast), and PyTorch's
float32 step is timed too, so the table gives SwiftClas AMP against PyTorch AMP and against PyTorch float32.

Usage: python3 bench/bench_table.py [--models ...] [--sizes 224 64] [--out bench.json] [--amp]
       [--peer-from EARLIER.json]   (reuse PyTorch's training figures of an earlier run on this machine and
                                     measure SwiftClas only: a PyTorch 224-px run takes long on a loaded machine)
Needs a release build (.build/release/tools) and the peer venv (`make bench-venv`, i.e. bench/setup-peers.sh;
PEERPY overrides, default .venv-bench/bin/python, then $TMPDIR/peervenv/bin/python).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = HERE
ROOT = os.path.dirname(HERE)
TOOLS = os.environ.get("TOOLS", os.path.join(ROOT, ".build", "release", "tools"))


def default_peer_python():
    for candidate in (os.path.join(ROOT, ".venv-bench", "bin", "python"),
                      os.path.join(os.environ.get("TMPDIR", "/tmp"), "peervenv", "bin", "python")):
        if os.path.exists(candidate):
            return candidate
    return os.path.join(ROOT, ".venv-bench", "bin", "python")


PEERPY = os.environ.get("PEERPY", default_peer_python())


def run(cmd):
    """Runs cmd under /usr/bin/time -v; returns (stdout, peak RSS MiB)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    if p.returncode != 0:
        sys.stderr.write(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}\n")
    return p.stdout, (int(rss.group(1)) / 1024 if rss else None)


def idle_baselines():
    """Peak RSS (MiB) of each side's process doing no work: SwiftClas's binary printing help, and Python with torch
    and timm imported (what peer_train.py loads before it builds a model)."""
    _, ours = run([TOOLS, "benchmark", "--help"])
    _, peer = run([PEERPY, "-c", "import torch, timm, torch.nn.functional"])
    return ours, peer


def minus(a, b):
    return a - b if a is not None and b is not None else None


TRAIN_BATCH = 32   # --batch
TRAIN_WARMUP, TRAIN_REPS = 2, 5   # --warmup, --reps (training steps, both sides)
AMP = False   # --amp


def ours_train(model, size):
    out, rss = run([TOOLS, "benchmark", "--model", model, "--size", str(size), "--batch", str(TRAIN_BATCH),
                    "--mode", "train", "--warmup", str(TRAIN_WARMUP), "--reps", str(TRAIN_REPS)] + (["--amp"] if AMP else []))
    m = re.findall(r"([0-9.]+) img/s", out)
    return (float(m[-1]) if m else None), rss


def ours_infer(model, size):
    out, _ = run([TOOLS, "benchmark", "--model", model, "--size", str(size), "--batch", "32", "--mode", "infer",
                  "--reps", "10"])
    lat = re.search(r"batch 1 latency: ([0-9.]+) ms", out)
    thr = re.findall(r"([0-9.]+) img/s", out)
    return (float(lat.group(1)) if lat else None), (float(thr[-1]) if thr else None)


def peer_train(model, size, amp=False):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "p.json")
        _, rss = run([PEERPY, os.path.join(BENCH, "peer_train.py"), "--models", model, "--res", str(size),
                      "--batch", str(TRAIN_BATCH), "--warmup", str(TRAIN_WARMUP), "--reps", str(TRAIN_REPS),
                      "--out", path] + (["--amp"] if amp else []))
        try:
            return json.load(open(path))["results"][0]["img_per_s_median"], rss
        except (OSError, KeyError, IndexError, ValueError):
            return None, rss


def peer_infer(model, size):
    """{'torch': (b1 ms, b32 img/s), 'ort': (b1 ms, b32 img/s)} (MobileOne: the fused form)."""
    with tempfile.TemporaryDirectory() as tmp:
        out, _ = run([PEERPY, os.path.join(BENCH, "peer_infer.py"), "--models", model, "--res", str(size),
                      "--onnx-dir", tmp, "--out", os.path.join(tmp, "i.json")])
    res = {}
    for line in out.splitlines():
        m = re.match(r"(.+?)\s+(torch|ort)\s+b=\s*(\d+)\s+([0-9.]+) ms\s+([0-9.]+) img/s", line)
        if not m or "multi-branch" in m.group(1):
            continue  # MobileOne: compare with the fused model, as SwiftClas infers
        kind, batch, ms, ips = m.group(2), int(m.group(3)), float(m.group(4)), float(m.group(5))
        entry = res.setdefault(kind, [None, None])
        if batch == 1:
            entry[0] = ms
        else:
            entry[1] = ips
    return res


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


def fmt(x, digits=1):
    return f"{x:.{digits}f}" if x is not None else "–"


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+",
                    default=["mobilenetv3_small_100", "mobilenetv3_large_100", "efficientnet_b0", "mobileone_s0"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[224, 64])
    ap.add_argument("--skip-infer", action="store_true")
    ap.add_argument("--out", default="bench_table.json")
    ap.add_argument("--batch", type=int, default=32, help="training batch (inference stays 1 and 32)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed training steps")
    ap.add_argument("--reps", type=int, default=5, help="timed training steps (median)")
    ap.add_argument("--peer-from", help="take PyTorch's training figures from this earlier --out file")
    ap.add_argument("--amp", action="store_true", help="mixed-precision training on both sides (bf16)")
    args = ap.parse_args()
    for path, what in ((TOOLS, "a release build: swift build -c release --product tools"),
                       (PEERPY, "the peer venv: make bench-venv (or PEERPY=...)")):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: needs {what}")
    global TRAIN_BATCH, TRAIN_WARMUP, TRAIN_REPS, AMP
    TRAIN_BATCH, TRAIN_WARMUP, TRAIN_REPS, AMP = args.batch, args.warmup, args.reps, args.amp
    ours_idle, peer_idle = idle_baselines()
    earlier = json.load(open(args.peer_from)) if args.peer_from else None
    peer_rows = {(r["model"], r["size"]): r for r in (earlier or {}).get("rows", [])}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    rows = []
    for model in args.models:
        for size in args.sizes:
            r = {"model": model, "size": size}
            r["ours_train"], r["ours_rss"] = ours_train(model, size)
            if earlier:
                old = peer_rows.get((model, size), {})
                r["torch_train"], r["torch_rss"] = old.get("torch_train"), old.get("torch_rss")
                peer_idle = old.get("torch_rss_idle")
            else:
                r["torch_train"], r["torch_rss"] = peer_train(model, size)
            if AMP:  # the table's PyTorch column is then its AMP step; its float32 step stays in the JSON
                r["torch_fp32_train"], r["torch_fp32_rss"] = r["torch_train"], r["torch_rss"]
                r["torch_train"], r["torch_rss"] = peer_train(model, size, amp=True)
            r["ours_rss_idle"], r["torch_rss_idle"] = ours_idle, peer_idle
            r["ours_rss_work"], r["torch_rss_work"] = minus(r["ours_rss"], ours_idle), minus(r["torch_rss"], peer_idle)
            if not args.skip_infer:
                r["ours_b1_ms"], r["ours_b32"] = ours_infer(model, size)
                p = peer_infer(model, size)
                r["torch_b1_ms"], r["torch_b32"] = p.get("torch", [None, None])
                r["ort_b1_ms"], r["ort_b32"] = p.get("ort", [None, None])
            rows.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    json.dump({"started": started, "load_average_at_start": load, "cpu": cpu_name(), "tools": TOOLS, "amp": AMP,
               "peer_python": PEERPY, "peer_from": args.peer_from, "train_batch": TRAIN_BATCH, "train_warmup": TRAIN_WARMUP,
               "train_reps": TRAIN_REPS, "rows": rows}, open(args.out, "w"), indent=1)
    print(f"Measured {started} on {cpu_name()} ({os.cpu_count()} CPUs), load average {load:.1f} at the start; "
          f"idle baselines: SwiftClas {fmt(ours_idle, 0)} MiB, PyTorch {fmt(peer_idle, 0)} MiB."
          + (f" PyTorch's training figures are from {args.peer_from} ({earlier.get('started')}, load average "
             f"{earlier.get('load_average_at_start', 0):.1f})." if earlier else "") + "\n")
    if AMP:
        print("Training in mixed precision on both sides (SwiftClas --amp, PyTorch bf16 autocast).\n")
        print("| model | size | AMP train img/s SwiftClas | PyTorch AMP | ratio | PyTorch float32 | ratio to it |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['model']} | {r['size']} | {fmt(r['ours_train'])} | {fmt(r['torch_train'])} | "
                  f"{ratio(r['ours_train'], r['torch_train'])} | {fmt(r.get('torch_fp32_train'))} | "
                  f"{ratio(r['ours_train'], r.get('torch_fp32_train'))} |")
        print()
    print("| model | size | train img/s SwiftClas | PyTorch | ratio | peak RSS MiB SwiftClas / PyTorch "
          "| peak − idle MiB SwiftClas / PyTorch "
          "| infer b1 ms SwiftClas | onnxruntime | ratio | infer b32 img/s SwiftClas | onnxruntime | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['size']} | {fmt(r['ours_train'])} | {fmt(r['torch_train'])} | "
              f"{ratio(r['ours_train'], r['torch_train'])} | {fmt(r['ours_rss'], 0)} / {fmt(r['torch_rss'], 0)} | "
              f"{fmt(r['ours_rss_work'], 0)} / {fmt(r['torch_rss_work'], 0)} | "
              f"{fmt(r.get('ours_b1_ms'), 2)} | {fmt(r.get('ort_b1_ms'), 2)} | "
              f"{ratio(r.get('ort_b1_ms'), r.get('ours_b1_ms'))} | {fmt(r.get('ours_b32'))} | "
              f"{fmt(r.get('ort_b32'))} | {ratio(r.get('ours_b32'), r.get('ort_b32'))} |")


if __name__ == "__main__":
    main()
