"""Reference values for Tests/ClasEngineTests/MultiLabelLossTests.swift and MultiLabelMetricTests.swift.

Losses with PyTorch (PaddleClas's formulas from ppcls/loss/multilabelloss.py written in torch: values and the
gradient w.r.t. the logits); metrics with scikit-learn (hamming_loss, accuracy_score, multilabel_confusion_matrix,
average_precision_score) and numpy ports of PaddleClas's ATTRMetric (get_attr_metrics + AttrMeter.res) and TprAtFpr.
Inputs are float32 values printed exactly, so the Swift side reads the same numbers.
Run: /tmp/peervenv/bin/python scripts/multilabel_fixtures.py   (needs torch, numpy, scikit-learn)
"""
import numpy as np
import sklearn
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, average_precision_score, hamming_loss, multilabel_confusion_matrix


def f32(a):
    return [float(np.float32(v)) for v in np.asarray(a, dtype=np.float32).ravel()]


def show(name, values):
    print(f"static let {name}: [Float] = {f32(values)}" if isinstance(values, (list, np.ndarray)) else f"{name} = {values}")


rng = np.random.default_rng(17)
n, k = 4, 5
logits = (rng.normal(size=(n, k)) * 2).astype(np.float32)
targets = rng.integers(0, 2, size=(n, k)).astype(np.float32)
targets[2, 3] = -1  # an unknown attribute
ratio = np.float32([0.1, 0.5, 0.3, 0.8, 0.25])
print("// torch", torch.__version__, "scikit-learn", sklearn.__version__)
show("logits", logits)
show("targets", targets)
show("ratio", ratio)


def multilabel_loss(x, y, epsilon=None, weight_ratio=False, size_sum=False):
    t = y * (1 - epsilon) + epsilon / x.shape[1] if epsilon else y
    cost = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    if weight_ratio:
        mask = (t > 0.5).float()
        r = torch.tensor(ratio)
        w = torch.exp(mask * (1 - r) + (1 - mask) * r)
        w = w - w * (y > 1).float()
        w = w * (y > -1).float()
        cost = cost * w
    return cost.sum(1).mean() if size_sum else cost.mean()


def asymmetric(x, y, gamma_pos=1.0, gamma_neg=4.0, clip=0.05, eps=1e-8, disable_grad=True, reduction="sum"):
    p = torch.sigmoid(x)
    if clip and clip > 0:
        pt = (1 - p + clip).clamp(max=1) * (1 - y) + p * y
    else:
        pt = (1 - p) * (1 - y) + p * y
    with torch.set_grad_enabled(not disable_grad):
        w = (1 - pt).pow(gamma_pos * y + gamma_neg * (1 - y))
    loss = -torch.log(pt.clamp(min=eps)) * w
    return loss.mean() if reduction == "mean" else loss.sum()


binary = np.where(targets < 0, 0, targets).astype(np.float32)  # ASL takes 0/1 targets
cases = [
    ("plain", lambda x: multilabel_loss(x, torch.tensor(targets))),
    ("smoothed", lambda x: multilabel_loss(x, torch.tensor(targets), epsilon=0.1)),
    ("ratioSizeSum", lambda x: multilabel_loss(x, torch.tensor(targets), weight_ratio=True, size_sum=True)),
    ("asl", lambda x: asymmetric(x, torch.tensor(binary))),
    ("aslMeanNoClip", lambda x: asymmetric(x, torch.tensor(binary), gamma_pos=0.5, gamma_neg=2, clip=0,
                                           reduction="mean")),
    ("aslFocalGrad", lambda x: asymmetric(x, torch.tensor(binary), disable_grad=False)),
]
for name, fn in cases:
    x = torch.tensor(logits.astype(np.float64), requires_grad=True)
    value = fn(x)
    value.backward()
    print(f"static let {name} = ({float(value.detach())}, {[float(g) for g in x.grad.numpy().ravel()]})")

# Metrics: 12 images x 4 classes, continuous scores (no ties).
m, c = 12, 4
mlogits = rng.normal(size=(m, c)).astype(np.float32)
mtargets = rng.integers(0, 2, size=(m, c)).astype(np.float32)
mtargets[:2] = 1  # every class has a positive
show("metricLogits", mlogits)
show("metricTargets", mtargets)
probs = 1 / (1 + np.exp(-mlogits.astype(np.float32)))
preds = (probs > 0.5).astype(int)
print("hamming =", hamming_loss(mtargets, preds))
mcm = multilabel_confusion_matrix(mtargets, preds)
tn, fn, tp, fp = mcm[:, 0, 0], mcm[:, 1, 0], mcm[:, 1, 1], mcm[:, 0, 1]
print("accuracyLabel =", (tp.sum() + tn.sum()) / (tp.sum() + tn.sum() + fn.sum() + fp.sum()))
print("accuracySample =", accuracy_score(mtargets, preds))
ap = [average_precision_score(mtargets[:, j], probs[:, j]) for j in range(c)]
print("ap =", ap, "\nmeanAP =", float(np.mean(ap)))

# ATTRMetric: PaddleClas thresholds the raw output at 0.5; one unknown target.
attr_targets = mtargets.copy()
attr_targets[5, 2] = -1
show("attrTargets", attr_targets)
pred = (mlogits > 0.5).astype(int)
pred[attr_targets == -1] = -1
eps = 1e-20
gt_pos = (attr_targets == 1).sum(0)
gt_neg = (attr_targets == 0).sum(0)
true_pos = ((attr_targets == 1) * (pred == 1)).sum(0)
true_neg = ((attr_targets == 0) * (pred == 0)).sum(0)
false_pos = ((attr_targets == 0) * (pred == 1)).sum(0)
pos_recall = true_pos / (gt_pos + eps)
neg_recall = true_neg / (gt_neg + eps)
ma = np.mean((pos_recall + neg_recall) / 2)
prec = true_pos / (true_pos + false_pos + eps)
label_f1 = np.mean(2 * prec * pos_recall / (prec + pos_recall + eps))
gt_pos_ins = (attr_targets == 1).sum(1)
true_pos_ins = (pred == 1).sum(1)
inter = ((attr_targets == 1) * (pred == 1)).sum(1)
union = ((attr_targets == 1) + (pred == 1)).sum(1)
i_acc = np.mean(inter / (union + eps))
i_prec = np.mean(inter / (true_pos_ins + eps))
i_rec = np.mean(inter / (gt_pos_ins + eps))
i_f1 = 2 * i_prec * i_rec / (i_prec + i_rec + eps)
print("attr =", [float(v) for v in [ma, label_f1, np.mean(pos_recall), np.mean(neg_recall), i_f1, i_acc, i_prec, i_rec]])

# TprAtFpr: 2-class logits, label 0 negative.
tl = rng.normal(size=(40, 2)).astype(np.float32)
tlab = rng.integers(0, 2, size=40)
tl[tlab == 1, 1] += 1.5
show("tprLogits", tl)
print("tprLabels =", tlab.tolist())
sm = np.exp(tl - tl.max(1, keepdims=True))
p1 = (sm / sm.sum(1, keepdims=True))[:, 1].astype(np.float32)
pos, neg = p1[tlab == 1], p1[tlab == 0]
for max_fpr in (1 / 1000, 0.2):
    best = (0.0, 0.0, 0.0)
    for i in range(10000):
        t = i / 10000
        tpr = np.sum(pos > t) / len(pos)
        fpr = np.sum(neg > t) / len(neg)
        if fpr <= max_fpr and tpr > best[0]:
            best = (tpr, t, fpr)
    print(f"tpr(max_fpr={max_fpr}) =", tuple(float(v) for v in best))
