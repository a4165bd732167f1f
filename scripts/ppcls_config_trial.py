"""Trains real PaddleClas configs for one epoch on a tiny generated image set, overriding only the data paths,
`Global.epochs` and `Global.output_dir` (plus, with --arch-fallback, Arch names SwiftClas lacks), and prints one line
per config: OK, or the first error line.

    swift build -c release --product tools
    /tmp/peervenv/bin/python scripts/ppcls_config_trial.py CONFIGS_ROOT [subfolders or files …] [--arch-fallback]

e.g. with a checkout of PaddleClas: `… ppcls_config_trial.py PaddleClas/ppcls/configs ImageNet/Distillation
ImageNet/DataAugment quick_start`. The images are 3 classes x 6 random 64x48 (train) and 3 x 2 (val) PNGs; configs
whose crops are larger upsample them (the point is that every component loads, validates and runs). A
`MultiLabelDataset` gets the same images with `t1,…,tK` targets (K = the config's first `class_num`, separated by its
`delimiter`), a `CustomLabelDataset` (`sample_list_path`) the paths alone; labels are taken modulo the config's
`class_num`, a list is repeated until it fills one batch when the sampler drops the last partial batch, and a
top-level `Arch.pretrained` is set to False (no network here). A distillation model whose `pretrained` is a relative
path (a teacher the user trains first) gets that file from a one-epoch run of the same config that saves it; each
config runs in its own working folder. `--tools PATH` picks the binary.
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
TOOLS = os.path.abspath(TOOLS) if os.path.exists(TOOLS) else TOOLS
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


def repeated(lines, count):
    """`lines` cycled to at least `count` entries (a drop_last sampler needs a full batch)."""
    return (lines * (count // len(lines) + 1))[:max(count, len(lines))]


def multilabel_list(root, split, classes, delimiter, count=0):
    """`path<delimiter>t1,…,tK` lines for the split's images, alternating targets, in a file named by K."""
    path = os.path.join(root, f"{split}_multi{classes}_{ord(delimiter)}_{count}.txt")
    with open(os.path.join(root, f"{split}_list.txt")) as f:
        names = repeated([l.split(" ")[0] for l in f.read().split("\n") if l], count)
    with open(path, "w") as f:
        for i, name in enumerate(names):
            f.write(name + delimiter + ",".join("1" if (k + i) % 2 == 0 else "0" for k in range(classes)) + "\n")
    return path


def labelled_list(root, split, delimiter, classes, count=0):
    """The split's `path label` list with `delimiter` between path and label, labels modulo `classes`."""
    path = os.path.join(root, f"{split}_list_{ord(delimiter[0])}_{classes}_{count}.txt")
    with open(os.path.join(root, f"{split}_list.txt")) as f:
        lines = repeated([l.split(" ") for l in f.read().split("\n") if l], count)
    with open(path, "w") as f:
        f.write("\n".join(name + delimiter + str(int(label) % classes) for name, label in lines) + "\n")
    return path


def paths_list(root, split, count=0):
    path = os.path.join(root, f"{split}_paths_{count}.txt")
    with open(os.path.join(root, f"{split}_list.txt")) as f:
        names = repeated([l.split(" ")[0] for l in f.read().split("\n") if l], count)
    with open(path, "w") as f:
        f.write("\n".join(names) + "\n")
    return path


def split_text(text, split):
    """The config text of `DataLoader.<split>` (up to the next section at that indentation)."""
    m = re.search(rf"^(\s+){split}:\s*$", text[text.find("\nDataLoader:"):], re.M)
    if not m:
        return ""
    rest = text[text.find("\nDataLoader:"):][m.end():]
    end = re.search(rf"^ {{0,{len(m.group(1))}}}\S", rest, re.M)
    return rest[:end.start()] if end else rest


def overrides(text, root, out):
    o = ["Global.epochs=1", f"Global.output_dir={out}", "Global.device=cpu"]
    if re.search(r"^  pretrained:", text[text.find("\nArch:"):], re.M):
        o.append("Arch.pretrained=False")   # offline: no ImageNet weights by name
    classes = re.search(r"class_num:\s*(?:&\w+\s+)?(\d+)", text)
    for split, lst in (("Train", "train"), ("Eval", "val")):
        part = split_text(text, split)
        o.append(f"DataLoader.{split}.dataset.image_root={root}")
        # With drop_last, list the images again until one batch is full.
        bs = re.search(r"batch_size:\s*(\d+)", part)
        count = int(bs.group(1)) if bs and re.search(r"drop_last:\s*True", part) else 0
        if "MultiLabelDataset" in part:
            d = re.search(r"delimiter:\s*[\"']?([^\"'\n]+)[\"']?", part)
            delimiter = (d.group(1).encode().decode("unicode_escape") if d else "\t")
            o.append(f"DataLoader.{split}.dataset.cls_label_path="
                     f"{multilabel_list(root, lst, int(classes.group(1)) if classes else 2, delimiter, count)}")
            continue
        if re.search(r"^\s+cls_label_path:", part, re.M):
            d = re.search(r"delimiter:\s*[\"']?([^\"'\n]+)[\"']?", part)
            delimiter = d.group(1).encode().decode("unicode_escape") if d else " "
            k = int(classes.group(1)) if classes else 3
            o.append(f"DataLoader.{split}.dataset.cls_label_path={labelled_list(root, lst, delimiter, min(k, 3), count)}")
        if re.search(r"^\s+sample_list_path:", part, re.M):
            o.append(f"DataLoader.{split}.dataset.sample_list_path={paths_list(root, lst, count)}")
    return o


def user_trained_models(text):
    """(index, key, path) of the DistillationModel models whose `pretrained` is a relative weights path: a teacher
    the user trains first (quick_start/professional/R50_vd_distill_MV3_large_x1_0_CIFAR100.yaml)."""
    import yaml
    try:
        models = ((yaml.safe_load(text) or {}).get("Arch") or {}).get("models") or []
    except (yaml.YAMLError, AttributeError):
        return []
    found = []
    for i, entry in enumerate(models):
        for key, spec in (entry or {}).items():
            p = (spec or {}).get("pretrained")
            if isinstance(p, str) and p.startswith("."):
                found.append((i, key, p))
    return found


def provide_user_weights(cfg, text, o, cwd):
    """Writes each user-trained model's weights where the config expects them (relative to `cwd`): the same config
    trained one epoch with that model made the inference model and not loaded from the file; its `best_model_<key>`
    is its weights alone."""
    for i, key, path in user_trained_models(text):
        out = os.path.join(cwd, "user_weights")
        cmd = [TOOLS, "train", "-c", cfg] + sum((["-o", x] for x in o), []) + [
            "-o", f"Arch.models.{i}.{key}.pretrained=null", "-o", f"Arch.infer_model_name={key}",
            "-o", f"Global.output_dir={out}"]
        subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=cwd, check=True)
        target = os.path.join(cwd, path + ".safetensors")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy(os.path.join(out, "DistillationModel", f"best_model_{key.lower()}.safetensors"), target)


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
    global TOOLS
    if "--tools" in sys.argv:
        i = sys.argv.index("--tools")
        TOOLS = sys.argv.pop(i + 1)
        TOOLS = os.path.abspath(TOOLS) if os.path.exists(TOOLS) else TOOLS
        sys.argv.pop(i)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    fallback = "--arch-fallback" in sys.argv
    root_cfg, targets = os.path.abspath(args[0]), args[1:] or ["."]
    files = []
    for t in targets:
        p = os.path.join(root_cfg, t)
        if os.path.isdir(p):
            files += sorted(os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs
                            if f.endswith(".yaml") and not f.endswith("_search.yaml") and f != "search.yaml")
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
        cwd = os.path.join(work, f"cwd{i}")
        os.makedirs(cwd)
        try:
            provide_user_weights(cfg, text, o, cwd)
        except subprocess.CalledProcessError as e:
            print(f"FAIL  {os.path.relpath(cfg, root_cfg)}: training its user-trained model first: "
                  f"{(e.stderr or e.stdout or '').strip().splitlines()[-1:]}", flush=True)
            continue
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=cwd)
        shutil.rmtree(cwd, ignore_errors=True)
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
