#!/usr/bin/env python3
"""Writes the PyTorch-checkpoint model fixture of Tests/ClasHubTests (TorchCheckpointTests.testTorchPthLoadsLikeSafetensors):

    Tests/ClasHubTests/Fixtures/mobilenetv3_small_050_c10.pth          torch.save(model.state_dict())
    Tests/ClasHubTests/Fixtures/mobilenetv3_small_050_c10.safetensors  the same state dict, safetensors' save_file
    Tests/ClasHubTests/Fixtures/mobilenetv3_small_050_c10.json         timm's logits on the test input (eval mode)

The model is timm's mobilenetv3_small_050 with 10 classes (SwiftClas's MobileNetV3_small_x0_5). Its weights are
timm's initialisation rounded per tensor to multiples of 2^-4 of a power of two near the tensor's scale (so the
float32 bytes compress in git: ~0.58 M parameters without committing 4.6 MB of noise), BatchNorm affine terms and
running statistics non-trivial, so the logits depend on every tensor. The input is [2, 3, 32, 32] with
x[n, c, h, w] = ((h * 7 + w * 13 + c * 29 + n * 5) % 31) / 15 - 1 (exact in float32; the Swift test builds it too).

Run with torch, timm and safetensors (e.g. /tmp/peervenv/bin/python or `make bench-venv`'s .venv-bench):
    python scripts/torch_pth_fixture.py
"""
import json
import math
import os

import timm
import torch
from safetensors.torch import save_file

torch.manual_seed(0)
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ClasHubTests", "Fixtures")
name = "mobilenetv3_small_050_c10"
model = timm.create_model("mobilenetv3_small_050", num_classes=10)
g = torch.Generator().manual_seed(1)


def quantise(t, scale):
    step = 2.0 ** math.floor(math.log2(max(scale, 1e-6))) / 16
    return (t / step).round() * step


with torch.no_grad():
    for key, t in model.state_dict().items():
        if not t.is_floating_point():
            continue
        if key.endswith("running_mean"):
            t.copy_(quantise(0.2 * torch.randn(t.shape, generator=g), 0.2))
        elif key.endswith("running_var"):
            t.copy_(quantise(0.5 + torch.rand(t.shape, generator=g), 0.5))
        elif t.dim() == 1 and key.endswith("weight"):
            t.copy_(quantise(1 + 0.2 * torch.randn(t.shape, generator=g), 0.2))
        elif t.dim() == 1:
            t.copy_(quantise(0.1 * torch.randn(t.shape, generator=g), 0.1))
        else:
            t.copy_(quantise(t, float(t.std()) if t.numel() > 1 else 1.0))
    model.classifier.weight.mul_(8)

model.eval()
n, c, h, w = torch.meshgrid(torch.arange(2), torch.arange(3), torch.arange(32), torch.arange(32), indexing="ij")
x = ((h * 7 + w * 13 + c * 29 + n * 5) % 31).float() / 15 - 1
with torch.no_grad():
    logits = model(x)

sd = model.state_dict()
torch.save(sd, os.path.join(here, name + ".pth"))
save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(here, name + ".safetensors"))
with open(os.path.join(here, name + ".json"), "w") as f:
    json.dump({"model": "mobilenetv3_small_050", "num_classes": 10, "input_shape": [2, 3, 32, 32],
               "logits": logits.reshape(-1).tolist(), "torch": torch.__version__, "timm": timm.__version__}, f)
    f.write("\n")
print("wrote", name, "logits std", float(logits.std()), "with torch", torch.__version__, "timm", timm.__version__)
