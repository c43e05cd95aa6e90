"""Evaluation: metrics, curves and the decision threshold, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from bioseq.metrics import metric_notes
from bioseq.prediction.evaluate import evaluate_files, metrics_at, pr_curves, roc_curves, threshold_sweep

Y = np.array([0, 0, 0, 1, 1])
P1 = np.array([0.1, 0.2, 0.7, 0.8, 0.4])
P = np.stack([1 - P1, P1], axis=1)


def test_metrics_at_a_threshold_by_hand():
    m = metrics_at(Y, P1, 0.5)  # calls 0,0,1,1,0: TP 1, FP 1, FN 1, TN 2
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (1, 1, 1, 2)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
    assert m["specificity"] == pytest.approx(2 / 3) and m["f1"] == pytest.approx(0.5)
    low = metrics_at(Y, P1, 0.3)  # calls 0,0,1,1,1: every positive found
    assert low["recall"] == 1.0 and low["precision"] == pytest.approx(2 / 3)


def test_threshold_sweep_ends():
    sweep = threshold_sweep(Y, P1, steps=11)
    assert list(sweep["threshold"].round(1)) == [round(0.1 * i, 1) for i in range(11)]
    assert sweep["recall"].iloc[0] == 1.0 and sweep["predicted_positive"].iloc[0] == 5
    assert sweep["predicted_positive"].iloc[-1] == 0


def test_roc_and_pr_curves_of_the_positive_class():
    roc = roc_curves(Y, P, ["neg", "pos"])
    assert set(roc["class"]) == {"pos"}
    assert roc["fpr"].iloc[-1] == 1.0 and roc["tpr"].iloc[-1] == 1.0
    auc = np.trapezoid(roc["tpr"], roc["fpr"])
    assert auc == pytest.approx(5 / 6)
    pr = pr_curves(Y, P, ["neg", "pos"])
    assert pr["recall"].iloc[-1] == 0.0 and pr["precision"].max() == 1.0


def test_three_classes_give_one_curve_per_class():
    y = np.array([0, 1, 2, 0])
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
    assert set(roc_curves(y, p, ["a", "b", "c"])["class"]) == {"a", "b", "c"}


def test_high_auroc_at_chance_accuracy_is_explained():
    # every sequence gets p(pos) < 0.5, but the positives still rank above the negatives
    m = {"auroc": 1.0, "balanced_accuracy": 0.5}
    notes = metric_notes(m, [2, 2])
    assert len(notes) == 1 and "ranks the sequences of each class apart" in notes[0]
    assert metric_notes({"auroc": 0.6, "balanced_accuracy": 0.55}, [1, 1]) == []


def test_imbalance_is_noted():
    notes = metric_notes({"auroc": 0.9, "balanced_accuracy": 0.9}, [9, 1])
    assert any("90% of the sequences are of one class" in n for n in notes)


def test_evaluate_files(dna_bundle, dna_fasta):
    ev = evaluate_files(dna_bundle, [dna_fasta])
    assert ev.metrics["n"] == 40 and sum(map(sum, ev.confusion)) == 40
    assert list(ev.table.columns) == ["id", "true", "prediction", "p_background", "p_motif"]
    assert set(ev.table["true"]) == {"background", "motif"}
    assert len(ev.thresholds()) == 101 and len(ev.roc()) and len(ev.precision_recall())
