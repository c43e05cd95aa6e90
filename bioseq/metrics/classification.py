"""Classification metrics from scikit-learn, for labels ``y (N,)`` and probabilities ``p (N, C)``.

Binary tasks report F1, AUROC and AUPRC for the second class (``classes[1]``, the positive one);
tasks with more classes report macro averages (one-vs-rest for AUROC and AUPRC). A metric that is
undefined on the data (e.g. AUROC with one class present) is NaN.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

METRICS = ("loss", "accuracy", "balanced_accuracy", "auroc", "auprc", "mcc", "f1")


def classification_metrics(y: np.ndarray, p: np.ndarray, loss: float = math.nan) -> dict[str, float]:
    y = np.asarray(y)
    p = np.asarray(p, dtype=np.float64)
    n_classes = p.shape[1]
    pred = p.argmax(1)
    out = {"loss": float(loss), "accuracy": float((pred == y).mean()) if len(y) else math.nan}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["balanced_accuracy"] = float(skm.balanced_accuracy_score(y, pred)) if len(y) else math.nan
        out["mcc"] = float(skm.matthews_corrcoef(y, pred)) if len(y) else math.nan
        binary = n_classes == 2
        out["f1"] = float(skm.f1_score(y, pred, average="binary" if binary else "macro",
                                       labels=None if binary else list(range(n_classes)), zero_division=0))
        present = np.unique(y)
        if len(present) < 2:
            out["auroc"] = out["auprc"] = math.nan
        elif binary:
            out["auroc"] = float(skm.roc_auc_score(y, p[:, 1]))
            out["auprc"] = float(skm.average_precision_score(y, p[:, 1]))
        else:
            onehot = label_binarize(y, classes=list(range(n_classes)))
            cols = [c for c in range(n_classes) if onehot[:, c].any()]
            out["auroc"] = float(np.mean([skm.roc_auc_score(onehot[:, c], p[:, c]) for c in cols]))
            out["auprc"] = float(np.mean([skm.average_precision_score(onehot[:, c], p[:, c]) for c in cols]))
    return out


def confusion(y: np.ndarray, pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Rows are true classes, columns predicted classes."""
    return skm.confusion_matrix(y, pred, labels=list(range(n_classes))).tolist()


def metric_notes(m: dict, counts) -> list[str]:
    """Plain-words warnings where the figures ``m`` could mislead, e.g. a high AUROC next to chance accuracy;
    ``counts`` are the sequences per class behind them."""
    notes = []
    counts = np.asarray(list(counts), dtype=float)
    n_classes = max(len(counts), 2)
    chance = 1 / n_classes
    auroc, bal = m.get("auroc", math.nan), m.get("balanced_accuracy", math.nan)
    if math.isfinite(auroc) and auroc >= 0.75 and math.isfinite(bal) and bal < chance + 0.1:
        notes.append(f"AUROC {auroc:.2f} with balanced accuracy {bal:.2f}: the model ranks the sequences of each "
                     "class apart, but its probabilities all fall on one side of the decision threshold, so every "
                     "sequence gets the same call. It has begun to learn but is not calibrated: train longer, or move "
                     "the decision threshold.")
    if counts.sum() and counts.max() >= 0.8 * counts.sum():
        notes.append(f"{counts.max() / counts.sum():.0%} of the sequences are of one class: accuracy can look good "
                     "while the rare class is missed; read balanced accuracy and MCC.")
    return notes
