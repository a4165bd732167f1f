"""Reference values for Tests/ClasEngineTests/KDLossTests.swift: PaddleClas's DKD, DIST, WSL, SKD and distance
losses (ppcls/loss/{dkdloss,dist_loss,wslloss,skdloss,distanceloss}.py) re-expressed in torch float64, on the
tests' fixed logits. Prints each loss value and its gradients with respect to the student and teacher logits.

    /tmp/peervenv/bin/python scripts/kd_loss_fixtures.py
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
A = [1.0, -0.5, 0.3, 2.0, 0.2, 0.1, -1.0, 0.5, -0.3, 0.8, 0.0, -1.2]
B = [0.5, 0.5, -0.2, 1.0, 1.5, -0.3, 0.2, 0.0, 0.1, 0.4, -0.6, 0.9]
LABELS = [3, 0, 1]


def kl_sum(log_q, p):
    # paddle.nn.functional.kl_div(input=log_q, label=p, reduction='sum'): sum of p * (log p - log_q), 0 where p == 0
    return torch.where(p > 0, p * (torch.log(p.clamp_min(1e-300)) - log_q), torch.zeros_like(p)).sum()


def dkd(s, t, target, T=2.0, alpha=1.0, beta=8.0):
    gt = F.one_hot(target, s.shape[1]).double()
    other = 1 - gt
    ps, pt = F.softmax(s / T, 1), F.softmax(t / T, 1)
    cat = lambda p: torch.cat([(p * gt).sum(1, keepdim=True), (p * other).sum(1, keepdim=True)], 1)
    tckd = kl_sum(torch.log(cat(ps)), cat(pt)) * T ** 2 / target.shape[0]
    pt2 = F.softmax(t / T - 1000.0 * gt, 1)
    lps2 = F.log_softmax(s / T - 1000.0 * gt, 1)
    nckd = kl_sum(lps2, pt2) * T ** 2 / target.shape[0]
    return alpha * tckd + beta * nckd


def pearson(a, b, eps=1e-8):
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


def dist(s, t, beta=1.0, gamma=2.0):
    ys, yt = F.softmax(s, -1), F.softmax(t, -1)
    return beta * (1 - pearson(ys, yt).mean()) + gamma * (1 - pearson(ys.t(), yt.t()).mean())


def wsl(s, t, target, T=2.0):
    oh = F.one_hot(target, s.shape[1]).double()
    ce_s = -(oh * F.log_softmax(s.detach(), 1)).sum(1)
    ce_t = -(oh * F.log_softmax(t.detach(), 1)).sum(1)
    ratio = torch.clamp_min(ce_s / (ce_t + 1e-7), 0)
    kd = -(F.softmax(t / T, 1) * F.log_softmax(s / T, 1)).sum(1)
    return T ** 2 * (kd * (1 - torch.exp(-ratio))).mean()


def skd(s, t, target, T=1.0, multiplier=2.0, alpha=0.9):
    oh = F.one_hot(target, s.shape[1]).double()
    ls = F.layer_norm(s, s.shape[1:], eps=1e-7) * multiplier
    lt = F.layer_norm(t, t.shape[1:], eps=1e-7) * multiplier
    kd = (-(F.softmax(lt / T, 1) * F.log_softmax(ls / T, 1)).sum(1)).mean() * T ** 2
    ce = (-(oh * F.log_softmax(ls, 1)).sum(1)).mean()
    return kd * alpha + ce * (1 - alpha)


def report(name, f):
    s = torch.tensor(A).reshape(3, 4).requires_grad_()
    t = torch.tensor(B).reshape(3, 4).requires_grad_()
    v = f(s, t)
    v.backward()
    fmt = lambda x: ", ".join(f"{float(e):.9f}" for e in x.flatten())
    print(f"{name}: {float(v):.9f}\n  ds: [{fmt(s.grad)}]\n  dt: [{fmt(t.grad)}]")


target = torch.tensor(LABELS)
report("dkd T=2 a=1 b=8 (labels)", lambda s, t: dkd(s, t, target))
report("dkd T=1 (teacher argmax)", lambda s, t: dkd(s, t, t.argmax(-1), T=1.0, beta=1.0))
report("dist b=1 g=2", lambda s, t: dist(s, t))
report("wsl T=2 (labels)", lambda s, t: wsl(s, t, target))
report("skd T=1 m=2 a=0.9 (labels)", lambda s, t: skd(s, t, target))
report("l1", lambda s, t: F.l1_loss(s, t))
report("l2", lambda s, t: F.mse_loss(s, t))
report("smooth_l1", lambda s, t: F.smooth_l1_loss(s * 2, t * 2))
