"""Evaluating a model on labelled sequences: metrics, confusion matrix, ROC and precision-recall curves,
and the effect of the decision threshold of a two-class model.

Labels come as in training (``label=`` header tokens, a labels table, or one file per class) and must
be among the model's classes. Sequences are cut by the model's own length policy, as in prediction.
Probabilities are ``p (N, C)``; for two classes the positive class is ``classes[1]``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from ..data.dataset import Dataset, load_dataset, parse_class_map
from ..data.io import read_many
from ..metrics import classification_metrics, confusion, metric_notes
from ..model.store import ModelBundle
from .predict import check_alphabet, predict_arrays

SCORES = ("accuracy", "balanced_accuracy", "auroc", "auprc", "mcc", "f1")


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


def evaluate_dataset(bundle: ModelBundle, ds: Dataset) -> Evaluation:
    """Predict ``ds`` (already cut and checked) and score it against its labels."""
    probs = predict_arrays(bundle, ds.encoded())
    m = classification_metrics(ds.labels, probs)
    m.pop("loss")
    m["n"] = len(ds)
    classes = list(bundle.classes)
    table = pd.DataFrame(probs.astype(float), columns=[f"p_{c}" for c in classes])
    table.insert(0, "prediction", np.asarray(classes, dtype=object)[probs.argmax(1)] if len(ds) else [])
    table.insert(0, "true", [classes[int(y)] for y in ds.labels])
    table.insert(0, "id", ds.ids)
    return Evaluation(classes, m, confusion(ds.labels, probs.argmax(1), len(classes)), table,
                      metric_notes(m, np.bincount(ds.labels, minlength=len(classes))))


def evaluate_files(bundle: ModelBundle, files: Sequence[str | os.PathLike], labels: str | None = None) -> Evaluation:
    """Read labelled files once, check them against the model, and evaluate (the classes renamed, merged or
    dropped as they were for training)."""
    records = list(read_many(files))
    check_alphabet(bundle, records)
    ds = load_dataset(files, labels=labels, alphabet=bundle.alphabet, classes=bundle.classes,
                      max_length=bundle.max_length, length_policy=bundle.length_policy, records=records,
                      class_map=parse_class_map((bundle.meta.get("training") or {}).get("class_map")))
    return evaluate_dataset(bundle, ds)


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
