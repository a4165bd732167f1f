"""Trains real PaddleClas configs for one epoch on a tiny generated image set, overriding only the data paths,
`Global.epochs` and `Global.output_dir` (plus, with --arch-fallback, Arch names SwiftClas lacks), and prints one line
per config: OK, or the first error line.

    swift build -c release --product tools
    /tmp/peervenv/bin/python scripts/ppcls_config_trial.py CONFIGS_ROOT [subfolders or files …] [--arch-fallback]

e.g. with a checkout of PaddleClas: `… ppcls_config_trial.py PaddleClas/ppcls/configs ImageNet/Distillation
ImageNet/DataAugment quick_start`. The images are 3 classes x 6 random 64x48 (train) and 3 x 2 (val) PNGs; configs
whose crops are larger upsample them (the point is that every component loads, validates and runs).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

TOOLS = next((p for p in (os.path.join(os.path.dirname(__file__), "..", ".build", d, "release", "tools")
                          for d in ("", "x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu")) if os.path.exists(p)),
             "tools")
# Registered stand-ins for architectures SwiftClas does not have (--arch-fallback only).
FALLBACK = {"PPLCNet": "MobileNetV3_small_x0_35", "PPLCNetV2": "MobileNetV3_small_x0_35", "MobileNetV1": "MobileNetV3_small_x0_35",
            "MobileNetV2": "MobileNetV3_small_x0_35", "ShuffleNetV2": "MobileNetV3_small_x0_35", "ResNet101": "ResNet18",
            "ResNet152": "ResNet18", "ResNet200": "ResNet18", "Res2Net": "ResNet18", "PPHGNet": "ResNet18", "VGG": "ResNet18",
            "HRNet": "ResNet18", "ResNet50": "ResNet18", "ResNet34": "ResNet18"}


def make_data(root):
    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    lists = {"train": [], "val": []}
    for split, per in (("train", 6), ("val", 2)):
        for c in range(3):
            for i in range(per):
                name = f"images/{split}_{c}_{i}.png"
                pixels = (rng.random((48, 64, 3)) * 80 + c * 80).astype(np.uint8)
                Image.fromarray(pixels).save(os.path.join(root, name))
                lists[split].append(f"{name} {c}")
    for split, lines in lists.items():
        with open(os.path.join(root, f"{split}_list.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


def overrides(text, root, out):
    o = ["Global.epochs=1", f"Global.output_dir={out}", "Global.device=cpu"]
    for split, lst in (("Train", "train"), ("Eval", "val")):
        o.append(f"DataLoader.{split}.dataset.image_root={root}")
        for key in ("cls_label_path", "sample_list_path"):
            if re.search(rf"^\s+{key}:", text, re.M):
                o.append(f"DataLoader.{split}.dataset.{key}={root}/{lst}_list.txt")
    return o


def arch_fallbacks(text):
    o = []
    names = re.findall(r"^(\s*)name:\s*[\"']?([A-Za-z0-9_]+)", text, re.M)
    arch = text[text.find("\nArch:"):]
    arch = arch[:re.search(r"\n\S", arch[1:]).start() + 1] if re.search(r"\n\S", arch[1:]) else arch
    models = re.findall(r"-\s*(\w+):\s*\n\s*name:\s*[\"']?(\w+)", arch)
    for i, (key, name) in enumerate(models):
        for prefix, sub in FALLBACK.items():
            if name.startswith(prefix) and not name.startswith("ResNet18"):
                o.append(f"Arch.models.{i}.{key}.name={sub}")
                break
    if not models:
        m = re.search(r"^\s+name:\s*[\"']?(\w+)", arch, re.M)
        if m:
            for prefix, sub in FALLBACK.items():
                if m.group(1).startswith(prefix):
                    o.append(f"Arch.name={sub}")
                    break
    return o


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    fallback = "--arch-fallback" in sys.argv
    root_cfg, targets = args[0], args[1:] or ["."]
    files = []
    for t in targets:
        p = os.path.join(root_cfg, t)
        if os.path.isdir(p):
            files += sorted(os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs if f.endswith(".yaml"))
        else:
            files.append(p)
    work = tempfile.mkdtemp(prefix="ppcls-trial-")
    make_data(os.path.join(work, "data"))
    ok = 0
    for i, cfg in enumerate(files):
        text = open(cfg).read()
        o = overrides(text, os.path.join(work, "data"), os.path.join(work, f"out{i}"))
        if fallback:
            o += arch_fallbacks(text)
        cmd = [TOOLS, "train", "-c", cfg] + sum((["-o", x] for x in o), [])
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        shutil.rmtree(os.path.join(work, f"out{i}"), ignore_errors=True)   # checkpoints of big models add up
        rel = os.path.relpath(cfg, root_cfg)
        if r.returncode == 0:
            ok += 1
            print(f"OK    {rel}" + (f"  ({' '.join(x for x in o if x.startswith('Arch'))})" if fallback and any(x.startswith('Arch') for x in o) else ""), flush=True)
        else:
            err = [l for l in (r.stderr + r.stdout).splitlines() if "rror" in l] or (r.stderr + r.stdout).splitlines()[-1:]
            print(f"FAIL  {rel}: {err[0][:300] if err else r.returncode}", flush=True)
    print(f"{ok} of {len(files)} configs trained one epoch")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
