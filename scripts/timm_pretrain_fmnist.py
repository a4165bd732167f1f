#!/usr/bin/env python3
"""Train a timm model on Fashion-MNIST with PyTorch and save its state dict as safetensors, for SwiftClas's
"fine-tune from imported timm weights" check.

Usage (with the peer venv of bench/setup-peers.sh, `make bench-venv`):
    .venv-bench/bin/python scripts/timm_pretrain_fmnist.py --model mobilenetv3_small_100 --epochs 1 \
        --data dataset/fashion-mnist --out output/timm/mobilenetv3_small_100_fmnist.safetensors

The preprocessing matches configs/mobilenet_v3_small_fmnist.yaml's Eval pipeline (gray → RGB, bilinear resize to
64 px with half-pixel centres as OpenCV, normalise with mean 0.286 / std 0.353), so `tools eval` on the imported
weights should report the test accuracy printed here (up to rounding in the resize).
"""
import argparse
import os
import time

import numpy as np
import timm
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file


def load_split(root, list_name, limit=None):
    xs, ys = [], []
    with open(os.path.join(root, list_name)) as f:
        for line in f:
            path, label = line.split()
            xs.append(np.asarray(Image.open(os.path.join(root, path)).convert("L"), dtype=np.uint8))
            ys.append(int(label))
            if limit and len(xs) >= limit:
                break
    return torch.from_numpy(np.stack(xs)), torch.tensor(ys)


def preprocess(gray_u8, size):
    x = gray_u8.float().div(255.0).unsqueeze(1)  # N,1,28,28
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x - 0.286) / 0.353
    return x.expand(-1, 3, -1, -1).contiguous()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mobilenetv3_small_100")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--data", default="dataset/fashion-mnist")
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    xtr, ytr = load_split(a.data, "train_list.txt")
    xte, yte = load_split(a.data, "test_list.txt")
    model = timm.create_model(a.model, num_classes=10)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=4e-5)
    steps = a.epochs * (len(xtr) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps)
    start = time.time()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(len(xtr) // a.batch):
            idx = perm[i * a.batch:(i + 1) * a.batch]
            loss = F.cross_entropy(model(preprocess(xtr[idx], a.size)), ytr[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(xte), 256):
            correct += (model(preprocess(xte[i:i + 256], a.size)).argmax(1) == yte[i:i + 256]).sum().item()
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, a.out, metadata={"format": "pt"})
    print(f"{a.model}: {a.epochs} epoch(s) in {time.time() - start:.0f} s, test top-1 {correct / len(xte):.4f}, saved {a.out}")


if __name__ == "__main__":
    main()
