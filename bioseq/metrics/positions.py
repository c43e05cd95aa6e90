"""Metrics of a per-position labeller over scored positions: accuracy (Q3/Q8 for secondary structure),
per-label precision/recall/F1, MCC and the confusion matrix; segment scores; per-sequence accuracy.

Inputs are lists of tracks, one per sequence: true label indices ``(length,)`` int (negative = unscored)
and probabilities ``(length, n_labels)``. Only scored positions count anywhere.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn import metrics as skm

from .segments import segment_counts, segment_scores, sov_terms

POSITION_METRICS = ("loss", "accuracy", "balanced_accuracy", "mcc", "f1", "sov")
SECONDARY_STRUCTURE = {frozenset("HEC"): "Q3", frozenset("HGIEBTSC"): "Q8", frozenset("HGIEBTS-"): "Q8"}


def accuracy_name(labels: Sequence[str]) -> str:
    """``Q3``/``Q8`` when the labels are secondary-structure states, else ``accuracy``."""
    return SECONDARY_STRUCTURE.get(frozenset(labels), "accuracy")


def _flat(true: Sequence[np.ndarray], pred: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    t = np.concatenate([np.asarray(x) for x in true]) if true else np.zeros(0, dtype=int)
    p = np.concatenate([np.asarray(x) for x in pred]) if pred else np.zeros(0, dtype=int)
    keep = t >= 0
    return t[keep], p[keep]


def position_metrics(true: Sequence[np.ndarray], probs: Sequence[np.ndarray], n_labels: int,
                     loss: float = math.nan) -> dict[str, float]:
    """The headline figures of :data:`POSITION_METRICS` (F1 is the macro average over labels)."""
    pred = [np.asarray(p).argmax(-1) for p in probs]
    t, p = _flat(true, pred)
    out = {"loss": float(loss)}
    if not len(t):
        return {**out, **{k: math.nan for k in POSITION_METRICS[1:]}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["accuracy"] = float((t == p).mean())
        out["balanced_accuracy"] = float(skm.balanced_accuracy_score(t, p))
        out["mcc"] = float(skm.matthews_corrcoef(t, p))
        out["f1"] = float(skm.f1_score(t, p, average="macro", labels=sorted(set(t)), zero_division=0))
    terms = sum((sov_terms(a, b, n_labels) for a, b in zip(true, pred)), np.zeros((n_labels, 2)))
    out["sov"] = float(terms[:, 0].sum() / terms[:, 1].sum()) if terms[:, 1].sum() else math.nan
    return out


def per_label(true: Sequence[np.ndarray], probs: Sequence[np.ndarray], labels: Sequence[str]) -> list[dict]:
    """Per label: positions, precision, recall and F1 over positions, segment scores and SOV."""
    n = len(labels)
    pred = [np.asarray(p).argmax(-1) for p in probs]
    t, p = _flat(true, pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prec, rec, f1, support = skm.precision_recall_fscore_support(t, p, labels=list(range(n)), zero_division=0)
    counts = sum((segment_counts(a, b, n) for a, b in zip(true, pred)), np.zeros((n, 4), dtype=np.int64))
    terms = sum((sov_terms(a, b, n) for a, b in zip(true, pred)), np.zeros((n, 2)))
    rows = segment_scores(counts, labels)
    for i, row in enumerate(rows):
        row.update(positions=int(support[i]), precision=float(prec[i]), recall=float(rec[i]), f1=float(f1[i]),
                   sov=float(terms[i, 0] / terms[i, 1]) if terms[i, 1] else math.nan)
    return rows


def position_confusion(true: Sequence[np.ndarray], probs: Sequence[np.ndarray], n_labels: int) -> list[list[int]]:
    """Confusion over scored positions: rows true labels, columns predicted."""
    t, p = _flat(true, [np.asarray(x).argmax(-1) for x in probs])
    return skm.confusion_matrix(t, p, labels=list(range(n_labels))).tolist()


def per_sequence_accuracy(true: Sequence[np.ndarray], probs: Sequence[np.ndarray]) -> np.ndarray:
    """Accuracy over the scored positions of each sequence (NaN for a sequence with none scored)."""
    out = np.full(len(true), np.nan)
    for i, (t, p) in enumerate(zip(true, probs)):
        t = np.asarray(t)
        keep = t >= 0
        if keep.any():
            out[i] = float((np.asarray(p).argmax(-1)[keep] == t[keep]).mean())
    return out
