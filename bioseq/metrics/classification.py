"""Classification metrics for labels ``y (N,)`` and probabilities ``p (N, C)``, scikit-learn's definitions.

Binary tasks report F1, AUROC and AUPRC for the second class (``classes[1]``, the positive one);
tasks with more classes report macro averages (one-vs-rest for AUROC and AUPRC). A metric that is
undefined on the data (e.g. AUROC with one class present) is NaN.

The training loop computes these every epoch, so they are computed here in NumPy from one confusion
matrix and one sorted score curve, by scikit-learn's own formulas (``balanced_accuracy_score``,
``matthews_corrcoef``, ``f1_score`` with ``zero_division=0``, ``roc_auc_score``,
``average_precision_score``), without its input validation, which took ~7 ms per call.
``tests/test_metrics.py`` checks them against scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn import metrics as skm

METRICS = ("loss", "accuracy", "balanced_accuracy", "auroc", "auprc", "mcc", "f1")


def _counts(y: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    """Confusion counts ``(n, n)`` float64, rows true classes."""
    return np.bincount(y * n + pred, minlength=n * n).reshape(n, n).astype(np.float64)


def _mcc(c: np.ndarray) -> float:
    t_sum, p_sum = c.sum(1), c.sum(0)
    n = p_sum.sum()
    cov_ytyp = np.trace(c) * n - np.dot(t_sum, p_sum)
    cov_both = (n**2 - np.dot(p_sum, p_sum)) * (n**2 - np.dot(t_sum, t_sum))
    return 0.0 if cov_both == 0 else float(cov_ytyp / np.sqrt(cov_both))


def _f1(c: np.ndarray) -> np.ndarray:
    """Per-class F1 = 2 tp / (2 tp + fp + fn), 0 where undefined."""
    tp = np.diag(c)
    denom = 2 * tp + (c.sum(0) - tp) + (c.sum(1) - tp)
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def _curve(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative false and true positives at each distinct score, highest first (``_binary_clf_curve``)."""
    order = np.argsort(-score, kind="stable")
    s, t = score[order], positive[order].astype(np.float64)
    idx = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(t)[idx]
    return 1 + idx - tps, tps


def _auroc(positive: np.ndarray, score: np.ndarray) -> float:
    fps, tps = _curve(positive, score)
    if len(fps) > 2:  # roc_curve(drop_intermediate=True): drop collinear points
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps = fps[keep], tps[keep]
    fpr, tpr = np.r_[0.0, fps] / fps[-1], np.r_[0.0, tps] / tps[-1]
    return float((np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0).sum())


def _auprc(positive: np.ndarray, score: np.ndarray) -> float:
    fps, tps = _curve(positive, score)
    precision = np.r_[(tps / (tps + fps))[::-1], 1.0]
    recall = np.r_[(tps / tps[-1])[::-1], 0.0]
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def classification_metrics(y: np.ndarray, p: np.ndarray, loss: float = math.nan) -> dict[str, float]:
    y = np.asarray(y).astype(np.int64)
    p = np.asarray(p, dtype=np.float64)
    n_classes = p.shape[1]
    pred = p.argmax(1)
    out = {"loss": float(loss), "accuracy": float((pred == y).mean()) if len(y) else math.nan}
    if not len(y):
        return {**out, **dict.fromkeys(("balanced_accuracy", "mcc", "f1", "auroc", "auprc"), math.nan)}
    c = _counts(y, pred, n_classes)
    present = np.flatnonzero(c.sum(1))
    out["balanced_accuracy"] = float(np.mean(np.diag(c)[present] / c.sum(1)[present]))
    out["mcc"] = _mcc(c)
    f1 = _f1(c)
    out["f1"] = float(f1[1] if n_classes == 2 else np.mean(f1))
    if len(present) < 2:
        out["auroc"] = out["auprc"] = math.nan
    else:
        cols = [1] if n_classes == 2 else list(present)
        out["auroc"] = float(np.mean([_auroc(y == k, p[:, k]) for k in cols]))
        out["auprc"] = float(np.mean([_auprc(y == k, p[:, k]) for k in cols]))
    return out


def confusion(y: np.ndarray, pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Rows are true classes, columns predicted classes."""
    return skm.confusion_matrix(y, pred, labels=list(range(n_classes))).tolist()


def metric_notes(m: dict, counts, unit: str = "sequences", word: str = "class") -> list[str]:
    """Plain-words warnings where the figures ``m`` could mislead, e.g. a high AUROC next to chance accuracy;
    ``counts`` are the ``unit`` (sequences, or a labeller's positions) per ``word`` (class, label) behind them."""
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
        notes.append(f"{counts.max() / counts.sum():.0%} of the {unit} are of one {word}: accuracy can look good "
                     f"while the rare {word} is missed; read balanced accuracy and MCC.")
    return notes


SCORES = ("accuracy", "balanced_accuracy", "auroc", "auprc", "mcc", "f1")


def fmt(v) -> str:
    """A figure as the CLI prints it: four decimals, ``nan``, or as is."""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return str(v)


@dataclass
class Evaluation:
    """A model's results on labelled data; ``table`` has ``id, true, prediction, p_<class>...``."""

    classes: list[str]
    metrics: dict
    confusion: list[list[int]]
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> np.ndarray:
        return self.table["true"].map({c: i for i, c in enumerate(self.classes)}).to_numpy()

    @property
    def probabilities(self) -> np.ndarray:
        return self.table[[f"p_{c}" for c in self.classes]].to_numpy(dtype=float)

    def roc(self) -> pd.DataFrame:
        return roc_curves(self.labels, self.probabilities, self.classes)

    def precision_recall(self) -> pd.DataFrame:
        return pr_curves(self.labels, self.probabilities, self.classes)

    def at(self, threshold: float) -> dict:
        """Two-class models: accuracy, balanced accuracy, MCC, F1, precision, recall and the confusion matrix
        when ``p(positive) >= threshold`` is called positive (AUROC does not depend on it)."""
        m = metrics_at(self.labels, self.probabilities[:, 1], threshold)
        return {**m, "confusion": [[m["tn"], m["fp"]], [m["fn"], m["tp"]]]}

    def thresholds(self) -> pd.DataFrame:
        """Two-class models: metrics at each decision threshold (see :func:`threshold_sweep`)."""
        return threshold_sweep(self.labels, self.probabilities[:, 1])

    def as_json(self) -> dict:
        """What ``bioseq evaluate --json`` prints."""
        return {**self.metrics, "confusion": self.confusion, "classes": self.classes, "notes": self.notes}

    def figures(self) -> dict[str, float]:
        """Every score of the evaluation, ``name: value`` (the record count ``n`` left out): what
        cross-validation averages over folds (:mod:`bioseq.training.cv`)."""
        return {k: float(self.metrics[k]) for k in SCORES if k in self.metrics}

    def report(self) -> list[str]:
        """What ``bioseq evaluate`` prints, line by line."""
        return [*(f"{k:<18} {fmt(self.metrics[k])}" for k in ("n", *SCORES)),
                f"{'confusion':<18} {self.confusion} (rows true, columns predicted: {', '.join(self.classes)})",
                *(f"note: {note}" for note in self.notes)]


def _one_vs_rest(y: np.ndarray, p: np.ndarray, classes: Sequence[str]):
    """(class name, binary truth, scores) for the positive class of a binary task, else for every class."""
    wanted = [1] if len(classes) == 2 else range(len(classes))
    for c in wanted:
        truth = (y == c).astype(int)
        if 0 < truth.sum() < len(truth):
            yield classes[c], truth, p[:, c]


def roc_curves(y: np.ndarray, p: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """ROC curve points ``class, fpr, tpr, threshold`` (one-vs-rest for more than two classes)."""
    frames = []
    for name, truth, score in _one_vs_rest(y, p, classes):
        fpr, tpr, thr = skm.roc_curve(truth, score)
        frames.append(pd.DataFrame({"class": name, "fpr": fpr, "tpr": tpr, "threshold": np.minimum(thr, 1.0)}))
    cols = ["class", "fpr", "tpr", "threshold"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def pr_curves(y: np.ndarray, p: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """Precision-recall curve points ``class, recall, precision, threshold``."""
    frames = []
    for name, truth, score in _one_vs_rest(y, p, classes):
        precision, recall, thr = skm.precision_recall_curve(truth, score)
        frames.append(pd.DataFrame({"class": name, "recall": recall, "precision": precision,
                                    "threshold": np.append(thr, 1.0)}))
    cols = ["class", "recall", "precision", "threshold"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def metrics_at(y: np.ndarray, p1: np.ndarray, threshold: float) -> dict:
    """Two-class metrics when ``p(positive) >= threshold`` is called positive."""
    y = np.asarray(y).astype(int)
    pred = (np.asarray(p1) >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    specificity = tn / (tn + fp) if tn + fp else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    denom = np.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return {"threshold": float(threshold), "precision": precision, "recall": recall, "specificity": specificity,
            "f1": f1, "accuracy": (tp + tn) / max(len(y), 1), "balanced_accuracy": np.nanmean([recall, specificity]),
            "mcc": (tp * tn - fp * fn) / denom if denom else 0.0, "predicted_positive": tp + fp,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def threshold_sweep(y: np.ndarray, p1: np.ndarray, steps: int = 101) -> pd.DataFrame:
    """:func:`metrics_at` for ``steps`` thresholds evenly from 0 to 1."""
    return pd.DataFrame([metrics_at(y, p1, t) for t in np.linspace(0, 1, steps)])
