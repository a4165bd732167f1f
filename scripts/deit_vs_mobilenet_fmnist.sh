#!/usr/bin/env bash
# DeiT-tiny (32 px, 4-pixel patches) vs MobileNetV3-small (64 px) on Fashion-MNIST on the same budget: the README's
# comparison. Both train on TRAIN_IMAGES images (every 6th of the training list, balanced classes) for EPOCHS epochs
# with one epoch of warm-up and seed SEED, and are evaluated once at the end on TEST_IMAGES images (every 10th of the
# test list). Each model keeps its config's recipe otherwise (configs/deit/deit_tiny_patch4_32_fmnist.yaml: AdamW;
# configs/mobilenet_v3_small_fmnist.yaml: SGD). Prints one line per model with its top-1 and training time.
# With AMP=1, DeiT-tiny also trains a second time with `AMP.use_amp=True` (bfloat16 products; needs AVX512_BF16),
# same data and seed, for the accuracy cost of mixed precision.
#   scripts/deit_vs_mobilenet_fmnist.sh            (needs `swift build -c release` and dataset/fashion-mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${TOOLS:-.build/release/tools}
DATA=${DATA:-dataset/fashion-mnist}
OUT=${OUT:-output/deit-vs-mobilenet}
TRAIN_IMAGES=${TRAIN_IMAGES:-3000}
TEST_IMAGES=${TEST_IMAGES:-1000}
EPOCHS=${EPOCHS:-3}
SEED=${SEED:-42}
mkdir -p "$OUT"
awk -v n="$TRAIN_IMAGES" 'NR % 6 == 1 && c++ < n' "$DATA/train_list.txt" > "$OUT/train_list.txt"
awk -v n="$TEST_IMAGES" 'NR % 10 == 1 && c++ < n' "$DATA/test_list.txt" > "$OUT/test_list.txt"
runs="configs/deit/deit_tiny_patch4_32_fmnist.yaml configs/mobilenet_v3_small_fmnist.yaml"
[ "${AMP:-0}" = 1 ] && runs="$runs configs/deit/deit_tiny_patch4_32_fmnist.yaml:amp"
for run in $runs; do
    cfg=${run%%:*}
    name=$(basename "$cfg" .yaml)
    amp=()
    if [ "$run" != "$cfg" ]; then name="$name-amp"; amp=(-o "AMP={use_amp: True}"); fi
    start=$(date +%s)
    "$TOOLS" train -c "$cfg" --overwrite "${amp[@]}" -o "Global.output_dir=$OUT/$name" -o "Global.epochs=$EPOCHS" \
        -o "Global.seed=$SEED" -o "Global.eval_interval=$EPOCHS" -o Global.save_interval=100 \
        -o Optimizer.lr.warmup_epoch=1 -o "DataLoader.Train.dataset.image_root=$DATA" \
        -o "DataLoader.Train.dataset.cls_label_path=$OUT/train_list.txt" -o "DataLoader.Eval.dataset.image_root=$DATA" \
        -o "DataLoader.Eval.dataset.cls_label_path=$OUT/test_list.txt" -o "Infer.infer_imgs=$DATA/samples" \
        > "$OUT/$name.log" 2>&1
    top1=$(grep -o 'best metric [0-9.]*' "$OUT/$name.log" | tail -1 | awk '{print $3}')
    echo "$name: top-1 $top1 on $TEST_IMAGES test images after $EPOCHS epochs of $TRAIN_IMAGES images (seed $SEED)," \
         "$(( $(date +%s) - start )) s, load average $(cut -d' ' -f1 /proc/loadavg)"
done
