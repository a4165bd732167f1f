"""int8 inference side by side (issue 20): SwiftClas float, SwiftClas native int8 and onnxruntime int8 on the same
QDQ file, batch 32 throughput and batch 1 latency, same threads, warm-up, median of runs.

SwiftClas: `tools benchmark --mode infer` (float) and `--int8 --save-onnx F` (the model quantised as `tools quantize`
does, min/max ranges from the random batch, exported as QDQ ONNX and run by SwiftClas's interpreter on its integer
kernels). onnxruntime runs F (ORT_ENABLE_ALL, which fuses the QDQ pairs into QLinearConv/QGemm), intra_op threads =
--threads, inter_op 1, sequential. Random weights and inputs (speed only).

--cpu-time (with --threads 1) measures the calling thread's CPU time on both sides instead of wall time: robust
when other processes share the cores (onnxruntime with one intra-op thread runs on the calling thread).

Usage: python bench/int8_infer.py [--models MobileNetV3_large_x1_0 ResNet18] [--threads 2] [--cpu-time]
                                  [--out bench/results/int8_infer.json]
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np
import onnxruntime as ort


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def swiftclas(tools, model, args, extra):
    cmd = [tools, "benchmark", "--model", model, "--mode", "infer", "--batch", str(args.batch), "--size",
           str(args.size), "--threads", str(args.threads), "--reps", str(args.reps), "--warmup", str(args.warmup)] + extra
    if args.cpu_time:
        cmd.append("--cpu-time")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = {"command": " ".join(cmd)}
    if m := re.search(r"batch 1 latency: ([\d.]+) ms", out):
        result["batch1_ms"] = float(m.group(1))
    if m := re.search(r"batch \d+: ([\d.]+) ms/step, ([\d.]+) img/s", out):
        result["batch_ms"], result["img_per_s"] = float(m.group(1)), float(m.group(2))
    if m := re.search(r"int8: (\d+) of (\d+) .*\((.*)\)", out):
        result["int8_layers"], result["layers"], result["int8_isa"] = int(m.group(1)), int(m.group(2)), m.group(3)
    result["backend"] = out.splitlines()[0]
    return result


def onnxruntime_int8(path, args):
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    rng = np.random.default_rng(1)
    result = {"version": ort.__version__}
    for batch, key in ((1, "batch1_ms"), (args.batch, "batch_ms")):
        x = rng.standard_normal((batch, 3, args.size, args.size), dtype=np.float32)
        for _ in range(args.warmup):
            s.run(None, {name: x})
        times = []
        clock = time.thread_time if args.cpu_time else time.perf_counter
        for _ in range(args.reps):
            t = clock()
            s.run(None, {name: x})
            times.append(clock() - t)
        result[key] = 1e3 * statistics.median(times)
    result["img_per_s"] = args.batch / (result["batch_ms"] / 1e3)
    return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", nargs="+", default=["MobileNetV3_large_x1_0", "ResNet18"])
    p.add_argument("--tools", default=".build/release/tools")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--cpu-time", action="store_true")
    p.add_argument("--out", default="bench/results/int8_infer.json")
    args = p.parse_args()
    if args.cpu_time and args.threads != 1:
        p.error("--cpu-time measures one thread: use --threads 1")
    report = {"cpu": cpu_name(), "threads": args.threads, "clock": "thread CPU time" if args.cpu_time else "wall", "batch": args.batch, "size": args.size, "reps": args.reps,
              "loadavg_before": os.getloadavg(), "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            onnx_path = os.path.join(tmp, model + "_int8.onnx")
            r = {"swiftclas_float": swiftclas(args.tools, model, args, []),
                 "swiftclas_int8": swiftclas(args.tools, model, args, ["--int8", "--save-onnx", onnx_path]),
                 "onnxruntime_int8": onnxruntime_int8(onnx_path, args)}
            f, q, o = r["swiftclas_float"], r["swiftclas_int8"], r["onnxruntime_int8"]
            r["int8_vs_float_throughput"] = q["img_per_s"] / f["img_per_s"]
            r["int8_vs_onnxruntime_int8_throughput"] = q["img_per_s"] / o["img_per_s"]
            r["int8_vs_onnxruntime_int8_batch1"] = o["batch1_ms"] / q["batch1_ms"]
            report["models"][model] = r
            print(f"{model}: float {f['img_per_s']:.1f} img/s, int8 {q['img_per_s']:.1f} img/s "
                  f"({r['int8_vs_float_throughput']:.2f}×), onnxruntime int8 {o['img_per_s']:.1f} img/s; batch 1: "
                  f"float {f['batch1_ms']:.2f} ms, int8 {q['batch1_ms']:.2f} ms, onnxruntime int8 {o['batch1_ms']:.2f} ms",
                  flush=True)
    report["loadavg_after"] = os.getloadavg()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=2)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
