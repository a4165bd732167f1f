#!/usr/bin/env bash
# The transfer example of README (Pretrained weights → "Transfer on a small data set"): does starting from a
# checkpoint SwiftClas pretrained itself beat training from scratch on 500 images with the same budget?
#
#   1. pretrain MobileNetV3-small on Fashion-MNIST classes 0-4 (30,000 images, configs/transfer/fmnist_0_4_pretrain.yaml)
#   2. on classes 5-9 with 500 training images (100 per class), 30 epochs each, per seed:
#        fine-tune from step 1's best model (lr 0.02), from scratch at lr 0.05 and at lr 0.02
#      (configs/transfer/fmnist_5_9_500.yaml; top-1 on the 5,000 test images of classes 5-9, after the last epoch)
#
# Usage: scripts/transfer_experiment.sh            (release build; about 30 min on the loaded 2-core machine: pretraining 7 min, each of the 15 runs ~1.5 min)
# Env:   TOOLS (default .build/release/tools), SEEDS (default "1 2 3 4 5"), OUT (default output/transfer),
#        FMNIST_SRC (default /usr/share/datasets/fashion-mnist). Results: $OUT/results.md and stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${TOOLS:-.build/release/tools}
SEEDS=${SEEDS:-1 2 3 4 5}
OUT=${OUT:-output/transfer}
SRC=${FMNIST_SRC:-/usr/share/datasets/fashion-mnist}
PRE=configs/transfer/fmnist_0_4_pretrain.yaml
FT=configs/transfer/fmnist_5_9_500.yaml
ARCH=MobileNetV3_small_x1_0

"$TOOLS" dataset fashion-mnist --source "$SRC" --out dataset/fmnist-0-4 --classes 0-4
"$TOOLS" dataset fashion-mnist --source "$SRC" --out dataset/fmnist-5-9-500 --classes 5-9 --train-per-class 100

# top-1 of the last epoch's evaluation in a run folder's history.csv
top1() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^eval/ && $i ~ /top1/) c = i; next }
             { last = $c } END { if (c == 0 || last == "") exit 1; printf "%.2f", 100 * last }' "$1/history.csv"
}

pre_dir=$OUT/pretrain_0_4
if [ ! -f "$pre_dir/$ARCH/best_model.safetensors" ]; then
    "$TOOLS" train -c "$PRE" -o Global.output_dir="$pre_dir" -o Global.seed=42 --overwrite
fi
pre_top1=$(top1 "$pre_dir/$ARCH")

declare -A results
for seed in $SEEDS; do
    run() {  # name, extra -o arguments...
        local name=$1; shift
        local dir=$OUT/$name/seed$seed
        # a finished run is reused (rerunning the script after an interruption continues where it stopped)
        if ! grep -q "Training finished" "$dir/$ARCH/train.log" 2>/dev/null; then
            "$TOOLS" train -c "$FT" -o Global.output_dir="$dir" -o Global.seed="$seed" --overwrite "$@" >/dev/null
        fi
        results[$name,$seed]=$(top1 "$dir/$ARCH")
        echo "seed $seed $name: ${results[$name,$seed]} %"
    }
    run finetune_lr0.02 -o Global.pretrained_model="$pre_dir/$ARCH/best_model" -o Optimizer.lr.learning_rate=0.02
    run scratch_lr0.05
    run scratch_lr0.02 -o Optimizer.lr.learning_rate=0.02
done

{
    echo "Pretraining on classes 0-4 (seed 42, 5 epochs, 30,000 images, 32 px): top-1 $pre_top1 % on their 5,000 test images."
    echo
    echo "Classes 5-9, 500 training images, 30 epochs at 32 px, top-1 on 5,000 test images after the last epoch:"
    echo
    echo "| run | $(for s in $SEEDS; do printf 'seed %s | ' "$s"; done)mean |"
    echo "|---|$(for s in $SEEDS; do printf -- '---|'; done)---|"
    for name in finetune_lr0.02 scratch_lr0.05 scratch_lr0.02; do
        vals=""; for s in $SEEDS; do vals="$vals ${results[$name,$s]}"; done
        mean=$(echo "$vals" | awk '{ for (i = 1; i <= NF; i++) s += $i; printf "%.2f", s / NF }')
        echo "| $name | $(for v in $vals; do printf '%s %% | ' "$v"; done)$mean % |"
    done
} | tee "$OUT/results.md"
