"""Metrics of a per-position labeller over scored positions: accuracy (Q3/Q8 for secondary structure),
per-label precision/recall/F1, MCC and the confusion matrix; segment scores; per-sequence accuracy.

Inputs are lists of tracks, one per sequence: true label indices ``(length,)`` int (negative = unscored)
and probabilities ``(length, n_labels)``. Only scored positions count anywhere.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .classification import fmt
from .segments import segment_counts, segment_scores, sov_terms

POSITION_METRICS = ("loss", "accuracy", "balanced_accuracy", "mcc", "f1", "sov")
LABEL_FIGURES = ("precision", "recall", "f1", "segment_f1", "sov")  # the per-label scores of PositionEvaluation
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
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


def worst_label(confusion: Sequence[Sequence[int]] | None, labels: Sequence[str]) -> tuple[str, float] | None:
    """The label with the lowest F1 over positions and that F1, from a confusion matrix (rows true, columns
    predicted): a rare label can score badly behind a high headline. Labels neither true nor predicted anywhere
    are left out; ``None`` when no label is left (or no matrix)."""
    if not confusion or not len(labels):
        return None
    c = np.asarray(confusion, dtype=float)
    hits, seen = np.diag(c), c.sum(1) + c.sum(0)
    scored = [(2 * hits[i] / seen[i], i) for i in range(min(len(labels), len(c))) if seen[i]]
    if not scored:
        return None
    f1, i = min(scored)
    return labels[i], float(f1)


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


@dataclass
class PositionEvaluation:
    """A labeller's results on per-position labelled data (scored positions only)."""

    labels: list[str]
    metrics: dict  # n, positions, accuracy, balanced_accuracy, mcc, f1 (macro), sov
    per_label: list[dict]  # label, positions, precision, recall, f1, segment_*, sov
    confusion: list[list[int]]  # rows true, columns predicted
    per_sequence: pd.DataFrame  # id, length, scored, accuracy
    probabilities: list[np.ndarray] = field(default_factory=list)

    @property
    def accuracy_name(self) -> str:
        """``Q3`` / ``Q8`` for secondary-structure labels, else ``accuracy``."""
        return accuracy_name(self.labels)

    def quantiles(self, qs: Sequence[float] = QUANTILES) -> dict[float, float]:
        """Quantiles of the per-sequence accuracy (sequences with a scored position)."""
        acc = self.per_sequence["accuracy"].dropna().to_numpy()
        return {q: float(np.quantile(acc, q)) if len(acc) else float("nan") for q in qs}

    def as_json(self) -> dict:
        """What ``bioseq evaluate --json`` prints."""
        worst = worst_label(self.confusion, self.labels)
        return {**self.metrics, "accuracy_name": self.accuracy_name, "labels": self.labels,
                "worst_label": {"label": worst[0], "f1": worst[1]} if worst else None,
                "per_label": self.per_label, "confusion": self.confusion,
                "per_sequence_accuracy_quantiles": {str(q): v for q, v in self.quantiles().items()}}

    def figures(self) -> dict[str, float]:
        """Every score of the evaluation, ``name: value``: the headline over scored positions and, per label,
        ``precision_<label>``, ``recall_<label>``, ``f1_<label>``, ``segment_f1_<label>`` and ``sov_<label>``
        (counts left out): what cross-validation averages over folds (:mod:`bioseq.training.cv`)."""
        out = {k: float(self.metrics[k]) for k in POSITION_METRICS if k in self.metrics}
        for row in self.per_label:
            out.update({f"{k}_{row['label']}": float(row[k]) for k in LABEL_FIGURES})
        return out

    def report(self) -> list[str]:
        """What ``bioseq evaluate`` prints, line by line."""
        m, name = self.metrics, self.accuracy_name
        worst = worst_label(self.confusion, self.labels)
        lines = [f"{'records':<22} {m['n']}", f"{'scored positions':<22} {m['positions']}",
                 f"{name + ' (per position)':<22} {fmt(m['accuracy'])}",
                 *(f"{k if k != 'f1' else 'macro F1':<22} {fmt(m[k])}"
                   for k in ("balanced_accuracy", "mcc", "f1", "sov")),
                 *([f"{'worst label F1':<22} {fmt(worst[1])} ({worst[0]})"] if worst else []),
                 "\nper label        positions  precision  recall     F1         segments  seg-prec   seg-rec    "
                 "seg-F1     SOV"]
        lines += [f"{r['label']:<16} {r['positions']:<10} {fmt(r['precision']):<10} {fmt(r['recall']):<10} "
                  f"{fmt(r['f1']):<10} {r['true_segments']:<9} {fmt(r['segment_precision']):<10} "
                  f"{fmt(r['segment_recall']):<10} {fmt(r['segment_f1']):<10} {fmt(r['sov'])}" for r in self.per_label]
        lines.append(f"\nconfusion (rows true, columns predicted: {', '.join(self.labels)}): {self.confusion}")
        return lines + [f"per-sequence {name}: " + "  ".join(
            f"{'min' if k == 0 else 'max' if k == 1 else f'q{round(100 * k)}'} {fmt(v)}"
            for k, v in self.quantiles().items())]


def evaluate_tracks(classes: Sequence[str], ds, probs) -> PositionEvaluation:
    """The :class:`PositionEvaluation` of per-position ``probs`` (one ``(length, C)`` array per record) against the
    label tracks of ``ds`` (a per-position dataset: ``targets()``, ``ids``, ``lengths()``)."""
    true, n = ds.targets(), len(classes)
    m = position_metrics(true, probs, n)
    m.pop("loss")
    m.update(n=len(ds), positions=int(sum(int((t >= 0).sum()) for t in true)))
    seq = pd.DataFrame({"id": ds.ids, "length": ds.lengths(), "scored": [int((t >= 0).sum()) for t in true],
                        "accuracy": per_sequence_accuracy(true, probs)})
    return PositionEvaluation(list(classes), m, per_label(true, probs, classes), position_confusion(true, probs, n),
                              seq, probs)
