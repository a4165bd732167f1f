"""Writes the PyTorch checkpoints TorchCheckpointTests reads, and expected.json with their values as float32.

Run with any PyTorch >= 1.6 (the files are committed; rerun only to change them):
    python make_torch_fixtures.py
"""
import collections
import json
import os
import zipfile

import torch

torch.manual_seed(0)
here = os.path.dirname(os.path.abspath(__file__))
expected = {}


def record(file, tensors):
    expected[file] = {k: {"shape": list(v.shape), "values": v.detach().to(torch.float32).reshape(-1).tolist()}
                      for k, v in tensors.items()}


# 1. A module's state dict (OrderedDict with _metadata, int64 num_batches_tracked).
model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4, 2))
model[1].running_mean.uniform_(-1, 1)
model[1].num_batches_tracked.fill_(7)
sd = model.state_dict()
torch.save(sd, os.path.join(here, "state_dict.pth"))
record("state_dict.pth", sd)

# 2. dtypes, strided views, offsets, shared storage, scalars, empty tensors, a Parameter.
base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
mixed = {
    "half": torch.randn(3, 5).half(),
    "bf16": torch.randn(2, 3).bfloat16(),
    "double": torch.randn(4).double(),
    "int32": torch.tensor([[-3, 0, 9]], dtype=torch.int32),
    "int8": torch.tensor([-128, 5, 127], dtype=torch.int8),
    "bool": torch.tensor([True, False, True]),
    "transposed": base.t(),
    "sliced": base[1:3, 2:5],
    "strided": base[:, ::2],
    "base": base,
    "scalar": torch.tensor(2.5),
    "empty": torch.zeros(0, 3),
    "param": torch.nn.Parameter(torch.randn(2, 2)),
}
torch.save(mixed, os.path.join(here, "mixed.pt"))
record("mixed.pt", mixed)

# 3. A training checkpoint: the state dict under "state_dict", DataParallel "module." prefixes, other entries.
inner = collections.OrderedDict([("module.fc.weight", torch.randn(2, 3)), ("module.fc.bias", torch.randn(2))])
torch.save({"epoch": 3, "arch": "tiny", "best": 0.5, "state_dict": inner, "opt": {"lr": [0.1, 0.01]}},
           os.path.join(here, "checkpoint.bin"))
record("checkpoint.bin", {k[len("module."):]: v for k, v in inner.items()})

# 4. The state dict of 1. with its zip entries deflated (torch writes them stored, other zip tools may not).
with zipfile.ZipFile(os.path.join(here, "state_dict.pth")) as src, \
        zipfile.ZipFile(os.path.join(here, "deflated.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename.replace("state_dict/", "deflated/"), src.read(info))
assert torch.load(os.path.join(here, "deflated.pth"))["3.bias"].equal(sd["3.bias"])
expected["deflated.pth"] = expected["state_dict.pth"]

with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump(expected, f, indent=0, sort_keys=True)
    f.write("\n")
print("wrote", sorted(expected), "with torch", torch.__version__)
