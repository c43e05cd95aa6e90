"""Evaluating a model on labelled sequences, for either task (:mod:`bioseq.task` reads the labels and scores).

A classifier's :class:`~bioseq.metrics.classification.Evaluation` has metrics, the confusion matrix, ROC and
precision-recall curves and the effect of the decision threshold of a two-class model; a labeller's
:class:`~bioseq.metrics.positions.PositionEvaluation` per-position accuracy (Q3/Q8 for secondary structure),
per-label precision/recall/F1 and segment scores, MCC, the confusion matrix, SOV and the per-sequence accuracy
distribution, over scored positions only. Sequences are read as in prediction.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..metrics.classification import Evaluation, metrics_at, pr_curves, roc_curves, threshold_sweep
from ..metrics.positions import PositionEvaluation
from ..model.store import ModelBundle
from ..task import task_of
from .predict import check_alphabet, predict_arrays

__all__ = ["Evaluation", "PositionEvaluation", "evaluate_dataset", "evaluate_files", "metrics_at",
           "pr_curves", "roc_curves", "threshold_sweep"]


def evaluate_dataset(bundle: ModelBundle, ds) -> Evaluation | PositionEvaluation:
    """Predict ``ds`` (already read and checked against the model) and score it against its labels."""
    return task_of(bundle).evaluation(bundle.classes, ds, predict_arrays(bundle, ds.encoded()))


def evaluate_files(bundle: ModelBundle, files: Sequence[str | os.PathLike], labels: str | None = None, *,
                   labels_fasta: Sequence[str] | None = None, mask: Sequence[str] | None = None,
                   ignore_label: str | None = None) -> Evaluation | PositionEvaluation:
    """Read labelled files once, check them against the model, and evaluate. A classifier's labels come as in
    training (``labels`` table, header tokens, one file per class; renamed, merged or dropped as for training); a
    labeller's per position (three-line FASTA, or ``labels_fasta`` and ``mask``; ``ignore_label`` defaults to the
    model's). A label outside the model's is an error, and so is a label option of the other task."""
    task = task_of(bundle)
    task.refuse_other_labels(bundle.meta.get("name") or bundle.path, labels=labels, labels_fasta=labels_fasta,
                             mask=mask, ignore_label=ignore_label)
    ds = task.labelled(bundle, files, check_alphabet, labels=labels, labels_fasta=labels_fasta,
                       mask=mask, ignore_label=ignore_label)
    return evaluate_dataset(bundle, ds)
