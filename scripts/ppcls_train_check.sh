#!/bin/bash
# Trains each given PaddleClas config for one epoch on a small generated image list, overriding only the data paths,
# the epoch budget and the output folder (plus whatever is in $EXTRA, e.g. EXTRA="-o Arch.pretrained=False" offline),
# and prints one line per config: exit code, seconds, config, first error line.
#   scripts/ppcls_train_check.sh DATA_DIR TRAIN_LIST VAL_LIST CONFIG...
# DATA_DIR holds the images; the lists are PaddleClas `<path> <label>` files relative to it (tab-separated for configs
# whose dataset sets `delimiter: "\t"`). Uses .build/release/tools.
set -u
TOOLS=${TOOLS:-$(dirname "$0")/../.build/release/tools}
D=$1 TRAIN=$2 VAL=$3; shift 3
OUT=${OUT:-/tmp/ppcls_train_check}; mkdir -p "$OUT"
for f in "$@"; do
  name=$(echo "${f%.yaml}" | tr / _)
  start=$(date +%s)
  timeout 600 "$TOOLS" train -c "$f" --overwrite ${EXTRA:-} -o Global.epochs=1 -o Global.output_dir="$OUT/$name" \
    -o DataLoader.Train.dataset.image_root="$D" -o DataLoader.Train.dataset.cls_label_path="$TRAIN" \
    -o DataLoader.Eval.dataset.image_root="$D" -o DataLoader.Eval.dataset.cls_label_path="$VAL" > "$OUT/$name.log" 2>&1
  rc=$?
  echo "$rc $(( $(date +%s) - start ))s $f :: $(grep -iE 'error' "$OUT/$name.log" | head -1 | cut -c1-200)"
done
