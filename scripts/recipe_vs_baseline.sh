#!/usr/bin/env bash
# Recipe vs baseline on Fashion-MNIST: docs/recipes.md's table of the four OpenVINO-template recipes.
# Each pair (baseline, recipe) trains on the same data and budget: the first TRAIN_IMAGES images of Fashion-MNIST's
# training set, EPOCHS epochs at 64 px, evaluated on the 10,000 test images; SEEDS seeds each. What the recipes
# change for this budget (the same for every recipe, printed with the table): warm-up 1 epoch (the templates' 5-15
# would use the whole budget), Cutout 22 px (0.35 of 64), and the learning-rate finder at FINDER_TRIALS TPE trials
# of FINDER_ITERS iterations (the templates' 15 trials of 6 epochs would be 18 times the training itself).
#   scripts/recipe_vs_baseline.sh                      (needs `make build dataset`; prints a markdown table)
#   PAIRS="baseline_mobilenet_v3_small:mobilenet_v3_small_dml" SEEDS="1 2" scripts/recipe_vs_baseline.sh
# Finished runs (under OUT) are reused, so an interrupted measurement continues where it stopped; BASELINES_ONLY=1
# trains only the baselines.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${TOOLS:-.build/release/tools}
DATA=${DATA:-dataset/fashion-mnist}
OUT=${OUT:-output/recipe-vs-baseline}
TRAIN_IMAGES=${TRAIN_IMAGES:-5000}
EPOCHS=${EPOCHS:-5}
SEEDS=${SEEDS:-42}
FINDER_TRIALS=${FINDER_TRIALS:-4}
FINDER_ITERS=${FINDER_ITERS:-30}
PAIRS=${PAIRS:-"baseline_mobilenet_v3_small:mobilenet_v3_small_dml baseline_efficientnet_b0:efficientnet_b0_recipe baseline_mobilenet_v3_large_075:mobilenet_v3_large_075_dml baseline_mobilenet_v3_large:mobilenet_v3_large_dml"}

mkdir -p "$OUT"
head -n "$TRAIN_IMAGES" "$DATA/train_list.txt" > "$OUT/train_list.txt"
data=(-o DataLoader.Train.dataset.name=ImageNetDataset -o "DataLoader.Train.dataset.image_root=$DATA"
      -o "DataLoader.Train.dataset.cls_label_path=$OUT/train_list.txt"
      -o DataLoader.Eval.dataset.name=ImageNetDataset -o "DataLoader.Eval.dataset.image_root=$DATA"
      -o "DataLoader.Eval.dataset.cls_label_path=$DATA/test_list.txt"
      -o DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=64
      -o DataLoader.Eval.dataset.transform_ops.1.ResizeImage.size=64
      -o "Infer.infer_imgs=$DATA/samples" -o "Global.epochs=$EPOCHS" -o Global.save_interval=100)

# Best evaluated top-1 of a finished run, from the summary line that ends train.log.
best() { grep -o 'best metric [0-9.]*' "$1" | tail -1 | awk '{print $3}'; }

run() {  # config seed
    local cfg=$1 seed=$2 extra=()
    if [[ $cfg != baseline_* ]]; then
        extra=(-o Optimizer.lr.warmup_epoch=1
               -o DataLoader.Train.dataset.transform_ops.5.RandomApply.transforms.0.Cutout.length=22
               -o "LRFinder.num_trials=$FINDER_TRIALS" -o LRFinder.trial_epochs=1 -o "LRFinder.trial_iters=$FINDER_ITERS")
    fi
    local dir="$OUT/$cfg/seed$seed" log
    log=$(ls "$dir"/*/train.log 2>/dev/null | head -1 || true)
    if [[ -n $log ]] && grep -q 'Training finished' "$log"; then  # done by an earlier run of this script
        echo "$(best "$log") $(cat "$dir.seconds")"; return
    fi
    local start=$SECONDS
    mkdir -p "$(dirname "$dir")"
    "$TOOLS" train -c "configs/recipes/$cfg.yaml" "${data[@]}" "${extra[@]}" -o "Global.seed=$seed" \
        -o "Global.output_dir=$dir" --overwrite > "$dir.log" 2>&1 || { echo "failed: $cfg (see $dir.log)" >&2; exit 1; }
    log=$(ls "$dir"/*/train.log | head -1)
    echo $((SECONDS - start)) > "$dir.seconds"
    echo "$(best "$log") $((SECONDS - start))"
}

echo "Fashion-MNIST, first $TRAIN_IMAGES training images, $EPOCHS epochs at 64 px, test set 10,000; seeds: $SEEDS"
echo "CPU: $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; BLAS: $("$TOOLS" env --no-measure 2>/dev/null | grep -m1 -i "kernel" | xargs)"
echo
echo "| recipe | baseline top-1 | recipe top-1 | difference | time baseline / recipe |"
echo "|---|---|---|---|---|"
for pair in $PAIRS; do
    base=${pair%%:*} recipe=${pair##*:}
    for seed in $SEEDS; do
        read -r b tb < <(run "$base" "$seed")
        [[ ${BASELINES_ONLY:-0} == 1 ]] && continue
        read -r r tr < <(run "$recipe" "$seed")
        diff=$(awk -v r="$r" -v b="$b" 'BEGIN { printf "%+.2f", (r - b) * 100 }')
        printf '| %s (seed %s) | %.2f %% | %.2f %% | %s | %d s / %d s |\n' "$recipe" "$seed" \
            "$(awk -v x="$b" 'BEGIN{print x*100}')" "$(awk -v x="$r" 'BEGIN{print x*100}')" "$diff" "$tb" "$tr"
    done
done
