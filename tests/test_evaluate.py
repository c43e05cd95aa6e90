"""Evaluation: metrics, curves and the decision threshold, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from bioseq.metrics import metric_notes
from bioseq.prediction.evaluate import (
    evaluate_dataset,
    evaluate_files,
    metrics_at,
    pr_curves,
    roc_curves,
    threshold_sweep,
)

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


def test_bioseq_evaluate_scores_the_test_chromosomes_a_regions_run_held_out(write, tmp_path, tiny_args, capsys,
                                                                           monkeypatch):
    """``bioseq train --regions … --test-chroms chr3`` says how to score them; ``bioseq evaluate MODEL --regions …
    --genome … --test-chroms chr3`` reads them as training did (the model's --width, its seed's negatives)."""
    import json

    from bioseq.cli import main
    from bioseq.prediction import evaluate

    genome = write("g.fa", ">chr1\n" + "AAAACCCCGGGGTTTT" * 4 + "\n>2\n" + "GATTACA" * 6 + "\n>chr3\n" + "ACGTTGCA" * 5
                   + "\n")
    bed = write("peaks.bed", "".join(f"chr1\t{a}\t{a + 8}\n" for a in range(0, 48, 6)) + "2\t0\t9\n2\t10\t19\n"
                "chr3\t0\t8\nchr3\t9\t17\nchr3\t20\t28\n")
    out = tmp_path / "m.safetensors"
    assert main(["train", "--regions", str(bed), "--genome", str(genome), "--val-chroms", "2", "--test-chroms",
                 "chr3", "--width", "6", "--out", str(out), *tiny_args, "--epochs", "1", "--quiet"]) == 0
    assert (f"bioseq: note: 6 records on the test chromosomes (chr3) left out: score them with bioseq evaluate MODEL "
            f"--regions {bed} --genome {genome} --test-chroms chr3\n") in capsys.readouterr().err
    read = []
    monkeypatch.setattr(evaluate, "evaluate_dataset", lambda b, ds: read.append(ds) or evaluate_dataset(b, ds))
    assert main(["evaluate", str(out), "--regions", str(bed), "--genome", str(genome), "--test-chroms", "chr3",
                 "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n"] == 6 and figures["classes"] == ["background", "peaks"]
    assert [len(s) for s in read[0].seqs] == [6] * 6 and read[0].ids[0] == "chr3:0-8"
    assert main(["evaluate", str(out), "--regions", str(bed), "--genome", str(genome), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 26  # every region, and a negative for each
    assert main(["evaluate", str(out), "--regions", str(bed), "--genome", str(genome), "--test-chroms", "chr3",
                 "--width", "4", "--json"]) == 0
    assert [len(s) for s in read[-1].seqs] == [4] * 6
    assert main(["evaluate", str(out), str(genome), "--regions", str(bed), "--genome", str(genome)]) == 2
    assert "give sequence files (with their labels) or --regions with --genome, not both" in capsys.readouterr().err
    assert main(["evaluate", str(out)]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err
    assert main(["evaluate", str(out), "--regions", str(bed)]) == 2
    assert "--regions needs --genome" in capsys.readouterr().err


def test_evaluate_regions_for_a_labeller_and_the_protein_refusal(make_bundle, write):
    """A labeller on genome regions is scored per letter from --regions-labels (labels 0 and 1); a labeller of other
    labels, or a protein model, is refused in one line."""
    from bioseq.data.alphabets import DNA, PROTEIN
    from bioseq.errors import InputError
    from bioseq.prediction.evaluate import evaluate_regions

    genome = write("g.fa", ">chr1\n" + "ACGTTGCA" * 5 + "\n>chr3\n" + "GATTACA" * 4 + "\n")
    windows = write("win.bed", "chr1\t0\t16\nchr1\t20\t36\nchr3\t0\t10\n")
    features = write("sites.bed", "chr1\t4\t8\nchr3\t2\t5\n")
    ev = evaluate_regions(make_bundle(DNA, ("0", "1"), task="label", conv_pool=1), [str(windows)], str(genome),
                          regions_labels=[str(features)], test_chroms="chr3")
    assert ev.metrics["n"] == 1 and ev.metrics["positions"] == 10
    with pytest.raises(InputError, match=r"sites.bed: --regions-labels labels letters 0 and 1; the model's labels "
                                         r"are H, E, C"):
        evaluate_regions(make_bundle(DNA, ("H", "E", "C"), task="label", conv_pool=1), [str(windows)], str(genome),
                         regions_labels=[str(features)])
    with pytest.raises(InputError, match=r"g.fa: genome regions are DNA; this model reads protein"):
        evaluate_regions(make_bundle(PROTEIN, ("a", "b")), [str(windows)], str(genome))
