#!/usr/bin/env bash
# Is training bit-for-bit reproducible? Trains the quickstart config for 30 iterations three times — twice with the
# default thread count, once with Global.num_threads=1 — and compares the tensor bytes of the checkpoints (the
# safetensors data after the JSON header, which holds paths and times).
#
# Usage: scripts/reproducibility_check.sh   (release build; about 2 min on 2 cores; needs dataset/fashion-mnist)
# Env:   TOOLS (default .build/release/tools), OUT (default output/reproducibility), ITERS (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${TOOLS:-.build/release/tools}
OUT=${OUT:-output/reproducibility}
ITERS=${ITERS:-30}
CONFIG=configs/quickstart_mobilenet_v3_small_fmnist.yaml

digest() {  # sha256 of a safetensors file's tensor data
    local n
    n=$(od -An -t u8 -N8 "$1" | tr -d ' ')
    tail -c +$((9 + n)) "$1" | sha256sum | cut -c1-16
}

for run in a b one_thread; do
    extra=()
    [ "$run" = one_thread ] && extra=(-o Global.num_threads=1)
    "$TOOLS" train -c "$CONFIG" -o Global.output_dir="$OUT/$run" -o Global.epochs=1 -o Global.iter_per_epoch="$ITERS" \
        -o Global.eval_during_train=False --overwrite "${extra[@]}" > "$OUT.$run.log" 2>&1
    echo "$run: $(grep -o 'Compute: [0-9]* threads[^,]*' "$OUT/$run/MobileNetV3_small_x1_0/train.log" | head -1);" \
         "last iteration's running $(grep -o 'top1: [0-9.]*' "$OUT/$run/MobileNetV3_small_x1_0/train.log" | tail -1);" \
         "weights $(digest "$OUT/$run/MobileNetV3_small_x1_0/latest.safetensors")"
done
