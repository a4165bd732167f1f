#!/usr/bin/env bash
# Top-1 on the Fashion-MNIST test split (10,000 images) of a float checkpoint, of its post-training int8 model as
# SwiftClas simulates it (`tools quantize`), and of the exported QDQ file run natively on the integer kernels
# (`tools eval` with `Arch: OnnxModel`) and dequantised to float (CLAS_INT8=float), issue 20.
#
# Usage: scripts/int8_accuracy.sh [CHECKPOINT] [CONFIG]
#   CHECKPOINT defaults to the quickstart's output/MobileNetV3_small_x1_0/best_model (trained here with
#   `tools train -c CONFIG` when missing: 5 epochs, 60,000 images at 64 px, seed 42); CONFIG to the quickstart config.
#   CONFIG `resnet18_32px` writes a ResNet18 config (Fashion-MNIST at 32 px, 2 epochs × 150 iterations of 128
#   images, seed 42, SGD cosine lr 0.1) and trains it when CHECKPOINT does not exist.
# Writes bench/results/int8_accuracy.json (override with OUT_JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${TOOLS:-.build/release/tools}
CONFIG=${2:-configs/quickstart_mobilenet_v3_small_fmnist.yaml}
CKPT=${1:-output/MobileNetV3_small_x1_0/best_model}
WORK=${WORK:-output/int8_accuracy}
OUT_JSON=${OUT_JSON:-bench/results/int8_accuracy.json}
mkdir -p "$WORK" "$(dirname "$OUT_JSON")"
if [ "$CONFIG" = resnet18_32px ]; then
    mkdir -p "$WORK/cfg"
    sed 's/size: 64/size: 32/' configs/_base_/datasets/fashion_mnist.yaml > "$WORK/cfg/fashion_mnist_32.yaml"
    cat > "$WORK/cfg/resnet18_fmnist_32.yaml" <<EOF
_BASE_: [$PWD/configs/_base_/runtime.yaml, $(cd "$WORK/cfg" && pwd)/fashion_mnist_32.yaml, $PWD/configs/_base_/schedules/sgd_cosine.yaml]
Global: {epochs: 2, iter_per_epoch: 150, image_shape: [3, 32, 32], seed: 42}
Arch:
  name: ResNet18
  class_num: 10
Optimizer: {lr: {learning_rate: 0.1}}
EOF
    CONFIG="$WORK/cfg/resnet18_fmnist_32.yaml"
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

if [ ! -f "$CKPT.safetensors" ]; then
    "$TOOLS" train -c "$CONFIG" -o Global.output_dir="$WORK/train"
    CKPT=$(ls -d "$WORK"/train/*/best_model.safetensors | head -1)
    CKPT=${CKPT%.safetensors}
fi

# Float and simulated int8 top-1, QDQ export (512 calibration images, percentile 99.99, the defaults).
"$TOOLS" quantize -c "$CONFIG" -o Global.pretrained_model="$CKPT" -o Global.output_dir="$WORK/quant" \
    -o Global.save_inference_dir="$WORK/int8" | tee "$WORK/quantize.log"
yaml=$(ls "$WORK"/quant/*/quantization.yaml | head -1)

# The same config with the exported int8 file as the model: `-o Arch={...}` replaces the whole section, so options the
# float model inherits through _BASE_ (dropout_prob, ...) do not reach OnnxModel.
onnx_arch="Arch={name: OnnxModel, path: $(cd "$WORK" && pwd)/int8/inference.onnx, class_num: 10}"
top1() { grep -o 'top1: [0-9.]*' "$1" | tail -1 | cut -d' ' -f2; }
"$TOOLS" eval -c "$CONFIG" -o "$onnx_arch" -o Global.output_dir="$WORK/native" 2>&1 | tee "$WORK/native.log"
CLAS_INT8=float "$TOOLS" eval -c "$CONFIG" -o "$onnx_arch" -o Global.output_dir="$WORK/dequantised" 2>&1 \
    | tee "$WORK/dequantised.log"

float=$(grep top1_float32 "$yaml" | cut -d' ' -f2)
simulated=$(grep top1_int8_simulated "$yaml" | cut -d' ' -f2)
native=$(top1 "$WORK/native.log")
dequantised=$(top1 "$WORK/dequantised.log")
cat > "$OUT_JSON" <<EOF
{
  "checkpoint": "$CKPT",
  "config": "$CONFIG",
  "data": "Fashion-MNIST test split, 10000 images",
  "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')",
  "calibration": "tools quantize defaults: 512 training images, percentile 99.99",
  "top1_float32": $float,
  "top1_int8_simulated": $simulated,
  "top1_int8_native": $native,
  "top1_int8_qdq_dequantised": $dequantised,
  "int8_kernels": "$("$TOOLS" benchmark --model MobileNetV3_small_x1_0 --mode infer --size 32 --batch 1 --reps 1 --warmup 0 --int8 | grep -o '(.*)$' | tr -d '()')",
  "loadavg_before": "$load_before",
  "loadavg_after": "$(cut -d' ' -f1-3 /proc/loadavg)"
}
EOF
cat "$OUT_JSON"
