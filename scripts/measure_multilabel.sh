#!/usr/bin/env bash
# The figures of README's "Multi-label and attribute tasks" section: builds the derived Fashion-MNIST sets
# (tools dataset fashion-mnist-multilabel / fashion-mnist-attributes, data seed 0, 20,000 train / 4,000 test images),
# trains configs/pulc/multilabel_fmnist.yaml and configs/pulc/attributes_fmnist.yaml from scratch (training seed 42 in
# the configs, EPOCHS epochs), evaluates each best model with tools eval and prints a Markdown summary from the
# metrics.yaml files (also written to $OUT/summary.md).
# Usage: make measure-multilabel   or   scripts/measure_multilabel.sh   (TOOLS, DATA, OUT, EPOCHS override)
set -euo pipefail
TOOLS=${TOOLS:-.build/release/tools}
DATA=${DATA:-dataset}
OUT=${OUT:-output/measure-multilabel}
EPOCHS=${EPOCHS:-5}
mkdir -p "$OUT"
summary="$OUT/summary.md"
{
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
       "load average at start $(cut -d' ' -f1-3 /proc/loadavg); $EPOCHS epochs, data seed 0, training seed 42"
} > "$summary"
for task in multilabel attributes; do
  data="$DATA/fashion-mnist-$task"
  "$TOOLS" dataset "fashion-mnist-$task" --out "$data" --seed 0 --train-count 20000 --test-count 4000
  config="configs/pulc/${task}_fmnist.yaml"
  set_data=(-o "DataLoader.Train.dataset.image_root=$data/" -o "DataLoader.Train.dataset.cls_label_path=$data/train_list.txt"
            -o "DataLoader.Eval.dataset.image_root=$data/" -o "DataLoader.Eval.dataset.cls_label_path=$data/test_list.txt"
            -o "Infer.PostProcess.class_id_map_file=$data/label_list.txt" -o "Global.output_dir=$OUT/$task")
  start=$(date +%s)
  "$TOOLS" train -c "$config" "${set_data[@]}" -o "Global.epochs=$EPOCHS" --overwrite
  seconds=$(( $(date +%s) - start ))
  "$TOOLS" eval -c "$config" "${set_data[@]}" -o "Global.pretrained_model=$OUT/$task/MobileNetV3_small_x1_0/best_model"
  python3 - "$OUT/$task/MobileNetV3_small_x1_0/eval/metrics.yaml" "$config" "$seconds" >> "$summary" <<'PY'
import re, sys
path, config, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(path).read()
values = dict(re.findall(r"^(\w+): ([0-9.]+)$", text, re.M))
rows = re.findall(r"name: \"([^\"]+)\", precision: ([0-9.]+), recall: ([0-9.]+), negative_recall: ([0-9.]+), "
                  r"accuracy: ([0-9.]+), f1: ([0-9.]+), ap: ([0-9.]+|null), positives: (\d+)", text)
print(f"\n`{config}`: {values['samples']} test images, training {seconds // 60} min {seconds % 60} s")
keys = [k for k in ["MultiLabelMAP", "AccuracyScore", "HammingDistance", "ma", "label_f1", "instance_f1", "instance_acc",
                    "label_accuracy", "macro_f1"] if k in values]
print("\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
print("| " + " | ".join(f"{100 * float(values[k]):.2f} %" if k != "HammingDistance" else f"{float(values[k]):.4f}"
                        for k in keys) + " |")
print("\n| attribute | accuracy | precision | recall | AP | positives |\n|---|---|---|---|---|---|")
for name, p, r, nr, acc, f1, ap, pos in rows:
    print(f"| {name} | {100 * float(acc):.2f} % | {100 * float(p):.2f} % | {100 * float(r):.2f} % | "
          f"{'-' if ap == 'null' else f'{100 * float(ap):.2f} %'} | {pos} |")
PY
done
cat "$summary"
