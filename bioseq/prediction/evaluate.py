"""Evaluating a model on labelled sequences, for either task (:mod:`bioseq.task` reads the labels and scores).

A classifier's :class:`~bioseq.metrics.classification.Evaluation` has metrics, the confusion matrix, ROC and
precision-recall curves and the effect of the decision threshold of a two-class model; a labeller's
:class:`~bioseq.metrics.positions.PositionEvaluation` per-position accuracy (Q3/Q8 for secondary structure),
per-label precision/recall/F1 and segment scores, MCC, the confusion matrix, SOV and the per-sequence accuracy
distribution, over scored positions only. Sequences are read as in prediction; genome regions
(:func:`evaluate_regions`) as in training, e.g. the test chromosomes a run held out (``--test-chroms``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..metrics.classification import Evaluation, metrics_at, pr_curves, roc_curves, threshold_sweep
from ..metrics.positions import PositionEvaluation
from ..model.store import ModelBundle
from ..task import task_of
from .predict import check_alphabet, predict_arrays

__all__ = ["Evaluation", "PositionEvaluation", "evaluate_dataset", "evaluate_files", "evaluate_regions", "metrics_at",
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


def evaluate_regions(bundle: ModelBundle, regions: Sequence[str], genome: str, **options
                     ) -> Evaluation | PositionEvaluation:
    """Evaluate on genome regions (``regions`` BED files read from ``genome``), read as training reads them
    (:func:`~bioseq.data.region_data.load_region_test`): the windows on ``test_chroms`` (every window when it is
    not given), with the model's seed (the same drawn negatives) and ``--class-map``. ``options`` are region
    options of :class:`~bioseq.data.source.DataOptions` (``width``, ``flank``, ``background``, ``background_bed``,
    ``bed_label_column``, ``regions_labels``, ``test_chroms``); ``width``, ``flank``, ``background`` and
    ``bed_label_column`` default to the model's training run's."""
    from ..data.region_data import load_region_test
    from ..data.source import DataOptions
    from ..errors import InputError

    if bundle.alphabet.name == "protein":
        raise InputError(f"genome regions are DNA; this model reads {bundle.alphabet.name}", str(genome))
    training = bundle.meta.get("training") or {}
    trained = {k: v for k, v in (training.get("regions") or {}).items() if k not in ("val_chroms", "test_chroms")}
    given = {k: v for k, v in options.items() if v is not None}
    opts = DataOptions([], regions=list(regions), genome=genome, class_map=training.get("class_map"),
                       alphabet=bundle.alphabet.name, max_length=bundle.max_length,
                       length_policy=bundle.length_policy, **{**trained, **given}).validate()
    ds = load_region_test(opts, int(bundle.meta.get("seed") or 0), task_of(bundle).per_position, bundle.classes)
    return evaluate_dataset(bundle, ds)
