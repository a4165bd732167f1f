#!/usr/bin/env python3
"""Runs SwiftClas-exported ONNX models in OpenVINO and onnxruntime on the same inputs and compares them.

Reads the folder printed by Tests/ClasExportTests/FashionMNISTMeasurement.swift: modelI.onnx, inputs.bin (NCHW
float32), labels.bin (int32) and SwiftClas's swift_logitsI.bin. For every model prints top-1 for SwiftClas,
onnxruntime, OpenVINO (default precision and with INFERENCE_PRECISION_HINT f32) and the max |Δlogit| between them.

    python3 -m venv /tmp/ovvenv && /tmp/ovvenv/bin/pip install openvino onnxruntime numpy
    /tmp/ovvenv/bin/python scripts/openvino_check.py DIR [--size 64] [--channels 3]
"""
import argparse
import glob
import os

import numpy as np
import onnxruntime as ort
import openvino as ov


def batched(run, x, size=256):
    return np.concatenate([run(np.ascontiguousarray(x[i:i + size])) for i in range(0, len(x), size)])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--channels", type=int, default=3)
    a = p.parse_args()
    x = np.fromfile(os.path.join(a.dir, "inputs.bin"), dtype="<f4").reshape(-1, a.channels, a.size, a.size)
    labels = np.fromfile(os.path.join(a.dir, "labels.bin"), dtype="<i4")
    core = ov.Core()
    print(f"OpenVINO {ov.get_version()}, onnxruntime {ort.__version__}, {len(x)} images")
    print("model | top-1 SwiftClas | onnxruntime | OpenVINO default | OpenVINO f32 | "
          "max|Δ| ORT-Swift | OV f32-ORT | OV f32-Swift | OV default-ORT")
    for path in sorted(glob.glob(os.path.join(a.dir, "model*.onnx"))):
        i = os.path.basename(path)[len("model"):-len(".onnx")]
        ours = np.fromfile(os.path.join(a.dir, f"swift_logits{i}.bin"), dtype="<f4").reshape(len(x), -1)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        ort_y = batched(lambda b: session.run(None, {"x": b})[0], x)
        model = core.read_model(path)
        results = {}
        for name, config in [("default", {}), ("f32", {"INFERENCE_PRECISION_HINT": "f32"})]:
            compiled = core.compile_model(model, "CPU", config)
            results[name] = batched(lambda b: compiled(b)[0], x)
        acc = lambda y: float((y.argmax(1) == labels).mean())
        d = lambda u, v: float(np.abs(u - v).max())
        print(f"model{i} | {acc(ours):.4f} | {acc(ort_y):.4f} | {acc(results['default']):.4f} | "
              f"{acc(results['f32']):.4f} | {d(ort_y, ours):.2e} | {d(results['f32'], ort_y):.2e} | "
              f"{d(results['f32'], ours):.2e} | {d(results['default'], ort_y):.2e}")


if __name__ == "__main__":
    main()
