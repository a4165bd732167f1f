"""Reference values for Tests/ClasEngineTests/TrainableLossTests.swift: PaddleClas's MGDLoss and PEFDLoss
(ppcls/loss/mgd_loss.py, pefdloss.py) re-expressed in torch float64, with the tests' formula weights and inputs.
Prints each loss and the sums of |gradient| (and a few gradient entries) with respect to the student features and
the loss's own parameters.

    /tmp/peervenv/bin/python scripts/trainable_loss_fixtures.py

Values (PyTorch layout, flat index i): parameter k of a loss (in the order listed below) holds 0.3·sin(1 + 0.7·i + k),
the student features cos(0.3·i + 0.1)·1.5 and the teacher's sin(0.2·i − 0.4) (NCHW).
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def values(shape, f):
    n = 1
    for s in shape:
        n *= s
    return torch.tensor([f(i) for i in range(n)]).reshape(shape)


def param(shape, k):
    return values(shape, lambda i: 0.3 * torch.sin(torch.tensor(1 + 0.7 * i + k)).item()).requires_grad_()


def features(shape, teacher=False):
    f = (lambda i: torch.sin(torch.tensor(0.2 * i - 0.4)).item()) if teacher else \
        (lambda i: 1.5 * torch.cos(torch.tensor(0.3 * i + 0.1)).item())
    return values(shape, f).requires_grad_(not teacher)


def report(name, loss, tensors):
    loss.backward()
    print(f"{name}: loss {loss.item():.12g}")
    for label, t in tensors:
        g = t.grad.flatten()
        print(f"  d/d{label}: sum|g| {g.abs().sum().item():.12g}, g[0] {g[0].item():.12g}, g[-1] {g[-1].item():.12g}")


def mgd():
    # student 3 channels, teacher 4 (so an align conv), 2 x 3x4 maps, no masking (lambda 0), alpha 1.756
    s, t = features([2, 3, 3, 4]), features([2, 4, 3, 4], teacher=True)
    aw, ab = param([4, 3, 1, 1], 0), param([4], 1)
    g1w, g1b = param([4, 4, 3, 3], 2), param([4], 3)
    g2w, g2b = param([4, 4, 3, 3], 4), param([4], 5)
    x = F.conv2d(s, aw, ab)
    y = F.conv2d(F.relu(F.conv2d(x, g1w, g1b, padding=1)), g2w, g2b, padding=1)
    loss = F.mse_loss(y, t) * 1.756
    report("MGD", loss, [("student", s), ("align.weight", aw), ("generation.2.weight", g2w)])


def pefd(gap):
    # flatten: [3, 5] features (a pooled output); gap: [3, 5, 2, 3] maps; 2 projectors 5 -> 4
    s = features([3, 5, 2, 3] if gap else [3, 5])
    t = features([3, 4, 2, 3] if gap else [3, 4], teacher=True)
    ws = [(param([4, 5], 2 * k), param([4], 2 * k + 1)) for k in range(2)]
    fs, ft = (s.mean((2, 3)), t.mean((2, 3))) if gap else (s, t)
    f = sum(F.relu(F.linear(fs, w, b)) for w, b in ws) / len(ws)
    cos = ((f / f.pow(2).sum(1, keepdim=True).sqrt()) * (ft / ft.pow(2).sum(1, keepdim=True).sqrt())).sum(1)
    loss = (1 - cos).mean()
    report("PEFD gap" if gap else "PEFD flatten", loss, [("student", s), ("projectors.0.weight", ws[0][0])])


mgd()
pefd(False)
pefd(True)
