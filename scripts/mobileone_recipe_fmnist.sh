#!/bin/sh
# MobileOne-S0 on Fashion-MNIST: the recipe (EMA + weight-decay annealing + progressive learning,
# configs/recipes/mobileone_s0_recipe_fmnist.yaml) against plain training (mobileone_s0_fmnist.yaml) on the same
# budget: the first TRAIN_IMAGES training images, EPOCHS epochs, each seed; top-1 on the 10,000 test images after
# the last epoch (raw weights, and the EMA weights for the recipe). The figures in docs/recipes.md come from here.
#   scripts/mobileone_recipe_fmnist.sh [TRAIN_IMAGES [EPOCHS [SEED ...]]]     (default 10000 6 1 2)
# CONFIGS="mobileone_s0_recipe_fmnist" runs one side only (e.g. to run the two sides as parallel processes);
# TEST_IMAGES=N evaluates on the first N test images only (default all 10,000).
# Needs a release build (swift build -c release) and dataset/fashion-mnist (tools dataset fashion-mnist --out ...).
set -eu
TOOLS=${TOOLS:-.build/release/tools}
DATA=${DATA:-dataset/fashion-mnist}
OUT=${OUT:-output/mobileone_recipe}
N=${1:-10000}
EPOCHS=${2:-6}
[ $# -ge 2 ] && shift 2 || shift $#
SEEDS=${*:-1 2}
mkdir -p "$OUT"
TEST=${TEST_IMAGES:-10000}
head -n "$N" "$DATA/train_list.txt" > "$OUT/train_$N.txt"
head -n "$TEST" "$DATA/test_list.txt" > "$OUT/test_$TEST.txt"
top1() { grep -F "[Eval][Epoch $EPOCHS]$2[Avg]" "$1" | tail -1 | sed 's/.*top1: \([0-9.]*\).*/\1/'; }
printf '| config | seed | train images | test images | epochs | top-1 | top-1 EMA | time (s) |\n|---|---|---|---|---|---|---|---|\n'
for seed in $SEEDS; do
    for config in ${CONFIGS:-mobileone_s0_fmnist mobileone_s0_recipe_fmnist}; do
        dir="$OUT/${config}_n${N}_t${TEST}_e${EPOCHS}_s$seed"
        start=$(date +%s)
        nice -n 10 "$TOOLS" train -c "configs/recipes/$config.yaml" --overwrite \
            -o Global.seed="$seed" -o Global.epochs="$EPOCHS" -o Global.eval_interval="$EPOCHS" \
            -o Global.output_dir="$dir" -o Global.print_batch_step=20 \
            -o DataLoader.Train.dataset.image_root="$DATA/" -o DataLoader.Train.dataset.cls_label_path="$OUT/train_$N.txt" \
            -o DataLoader.Eval.dataset.image_root="$DATA/" -o DataLoader.Eval.dataset.cls_label_path="$OUT/test_$TEST.txt" \
            > "$dir.out" 2>&1
        log="$dir/MobileOne_S0/train.log"
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$config" "$seed" "$N" "$TEST" "$EPOCHS" "$(top1 "$log" '')" \
            "$(top1 "$log" '[EMA]')" "$(( $(date +%s) - start ))"
    done
done
