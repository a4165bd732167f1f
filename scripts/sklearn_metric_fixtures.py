"""Reference values for Tests/ClasEngineTests/ClassificationMetricTests.swift from scikit-learn.

Scores are multiples of 1/32 (exact in float32, with ties), so the Swift side ranks exactly the same values.
Run: python scripts/sklearn_metric_fixtures.py   (needs numpy and scikit-learn)
"""
import numpy as np
import sklearn
from sklearn.metrics import (average_precision_score, balanced_accuracy_score, confusion_matrix,
                             precision_recall_fscore_support)

rng = np.random.default_rng(20240601)
n, c = 24, 4
scores = rng.integers(0, 33, size=(n, c)) / 32.0
labels = rng.integers(0, c, size=n)
labels[:c] = np.arange(c)  # every class occurs
preds = scores.argmax(axis=1)  # first maximum, like the Swift side

print("// scikit-learn", sklearn.__version__)
print("scores:", [[float(v) for v in row] for row in scores])
print("labels:", labels.tolist())
print("preds:", preds.tolist())
ap = [average_precision_score(labels == k, scores[:, k]) for k in range(c)]
print("ap:", [float(v) for v in ap], "mean:", float(np.mean(ap)))
print("confusion:", confusion_matrix(labels, preds, labels=list(range(c))).tolist())
p, r, f, s = precision_recall_fscore_support(labels, preds, labels=list(range(c)), zero_division=0)
print("precision:", p.tolist(), "\nrecall:", r.tolist(), "\nf1:", f.tolist())
mp, mr, mf, _ = precision_recall_fscore_support(labels, preds, average="macro", zero_division=0)
print("macro:", mp, mr, mf)
print("balanced:", balanced_accuracy_score(labels, preds))
