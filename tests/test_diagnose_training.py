"""Training failures: hand-made histories give each verdict with its numbers; tiny runs made to fail show it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TINY, TINY_TRAIN

from bioseq.data.source import DataOptions
from bioseq.data.synthetic import motif_dna, write_fasta
from bioseq.interpret.diagnose import ORDER, REMEDIES, diagnose_model, diagnose_run
from bioseq.interpret.diagnose_training import chance_loss, training_findings
from bioseq.interpret.remedies import Remedy
from bioseq.training.config import TrainConfig
from bioseq.training.fit import fit

LN2 = math.log(2)
BALANCED = {"counts": {"a": 50, "b": 50}}


def history(train, val, train_bal=None, val_bal=None, val_acc=None) -> list[dict]:
    """Rows for epochs 1..n: losses, and balanced accuracies (0.5 unless given)."""
    out = []
    for e, (t, v) in enumerate(zip(train, val)):
        tb = train_bal[e] if train_bal else 0.5
        vb = val_bal[e] if val_bal else 0.5
        out.append({"epoch": e + 1, "split": "train", "loss": t, "balanced_accuracy": tb, "accuracy": tb})
        out.append({"epoch": e + 1, "split": "val", "loss": v, "balanced_accuracy": vb,
                    "accuracy": val_acc[e] if val_acc else vb})
    return out


def test_chance_is_ln_c_or_the_class_entropy():
    assert chance_loss({"a": 5, "b": 5, "c": 5}) == pytest.approx(math.log(3))
    entropy = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert chance_loss({"a": 9, "b": 1}, class_weights=False) == pytest.approx(entropy)


def test_a_loss_stuck_at_ln2_is_not_learning_and_never_healthy():
    # the case of the issue: 0.693 -> 0.696, formerly called healthy
    d = diagnose_run([], history([0.693, 0.695, 0.696], [0.694, 0.695, 0.696]), training=BALANCED)
    assert d.verdict == "not learning" and d.verdicts == ["not learning"]
    assert d.numbers["chance_loss"] == pytest.approx(LN2) and d.numbers["min_val_loss"] == pytest.approx(0.694)
    finding = next(f for f in d.findings if "never went below" in f)
    assert "0.694, 100% of chance (0.693, ln 2 for 2 weighted classes)" in finding and "(chance 0.500)" in finding
    assert d.remedies == list(REMEDIES["not learning"]) and "--lr 0.003" in d.text()
    assert d.text().startswith("diagnosis: NOT LEARNING")


def test_chance_balanced_accuracy_on_both_splits_is_not_learning():
    h = history([0.62, 0.6], [0.6, 0.58], train_bal=[0.52, 0.53], val_bal=[0.5, 0.51])  # loss fell, no skill
    assert training_findings(h, BALANCED).verdicts == ["not learning"]


def test_a_learning_model_is_healthy():
    h = history([0.6, 0.3, 0.1], [0.62, 0.35, 0.15], train_bal=[0.7, 0.9, 0.98], val_bal=[0.7, 0.88, 0.96])
    d = diagnose_run([], h, training=BALANCED)
    assert d.verdict == "healthy" and d.findings == ["training loss 0.600 -> 0.100"]
    assert d.numbers["best_epoch"] == 3


def test_overfitting_when_the_validation_loss_rises():
    h = history([0.6, 0.3, 0.1, 0.05], [0.5, 0.4, 0.5, 0.7], train_bal=[0.7, 0.9, 1, 1], val_bal=[0.8, 0.85, 0.8, 0.75])
    d = diagnose_run([], h, training=BALANCED)
    assert d.verdicts == ["overfitting"] and d.numbers["val_rise"] == pytest.approx(0.3)
    assert any("rose from 0.400 (epoch 2) to 0.700 (epoch 4) while the training loss fell from 0.300 to 0.050" in f
               for f in d.findings)
    assert Remedy("more dropout", "dropout", 0.3) in d.remedies and "--dropout 0.3" in d.text()


def test_a_small_rise_of_a_tiny_loss_is_noise():
    h = history([0.05, 0.01, 0.005], [0.01, 0.012, 0.02], train_bal=[1, 1, 1], val_bal=[1, 1, 1])
    assert training_findings(h, BALANCED).verdicts == []  # +0.01 is under 5% of chance


def test_overfitting_from_a_gap_at_the_best_epoch():
    h = history([0.2, 0.05], [0.6, 0.5], train_bal=[0.95, 1.0], val_bal=[0.7, 0.72])
    d = diagnose_run([], h, training=BALANCED)
    assert d.verdicts == ["overfitting"] and d.numbers["loss_gap"] == pytest.approx(0.45)
    assert any("a large train/validation gap" in f for f in d.findings)


def test_memorising_with_the_validation_loss_at_chance_is_overfitting():
    h = history([0.69, 0.4, 0.1], [0.69, 0.7, 0.9], train_bal=[0.5, 0.8, 1.0], val_bal=[0.5, 0.5, 0.5])
    d = diagnose_run([], h, training=BALANCED)
    assert d.verdicts == ["overfitting"] and any("memorises the training set" in f for f in d.findings)


def test_underfitting_when_both_losses_are_high_and_falling():
    h = history([0.69, 0.6, 0.55], [0.68, 0.6, 0.56], train_bal=[0.55, 0.65, 0.7], val_bal=[0.55, 0.64, 0.7])
    d = diagnose_run([], h, training=BALANCED)
    assert d.verdicts == ["underfitting"]
    assert any("still high (0.550 training, 0.560 validation; chance 0.693) and still fell in the last epoch (3)" in f
               for f in d.findings)
    assert "--epochs 60" in d.text()


def test_accuracy_misleads_on_unbalanced_classes():
    counts = {"common": 90, "rare": 10}
    h = history([0.4, 0.3], [0.45, 0.4], train_bal=[0.52, 0.55], val_bal=[0.5, 0.55], val_acc=[0.9, 0.9])
    d = diagnose_run([], h, training={"counts": counts, "train_config": {"class_weights": False}})
    assert "accuracy misleads" in d.verdicts
    assert any("accuracy 0.900 but balanced accuracy 0.550 (chance 0.500)" in f and "9.0 to 1" in f for f in d.findings)
    assert Remedy("weight the classes by inverse frequency", "class_weights", True) in d.remedies


def test_leakage_from_near_copies():
    leak = {"method": "mmseqs", "identity": 0.9, "count": 3, "checked": 20, "share": 0.15, "examples": []}
    h = history([0.6, 0.3], [0.6, 0.3], train_bal=[0.7, 0.9], val_bal=[0.7, 0.9])
    d = diagnose_run([], h, training={**BALANCED, "leakage": leak})
    assert d.verdicts == ["leakage"] and d.numbers["leakage_share"] == 0.15
    assert any(f.startswith("3 of 20 validation sequences (15.0%) have a training sequence 90% or more identical")
               for f in d.findings)
    assert d.remedies[0].option == "split_identity" and d.remedies[0].flag == "--split-identity"
    small = {**leak, "count": 1, "share": 0.01}
    assert training_findings(h, {**BALANCED, "leakage": small}).verdicts == []  # a finding, not a verdict


def test_remedies_are_data_with_the_flag_and_the_form_label():
    r = Remedy("lower the learning rate", "lr")
    assert (r.flag, r.label, str(r)) == ("--lr", "Learning rate", "lower the learning rate (--lr)")
    assert str(Remedy("read both ways", "bidirectional", True)) == "read both ways (--bidirectional)"
    assert Remedy("no conv", "conv", False).setting() == "--no-conv"
    assert Remedy("cells", "cell", ("lstm", "gru")).setting("Recurrent cell") == "Recurrent cell lstm / gru"
    assert str(Remedy("collect more data")) == "collect more data" and Remedy("x").flag is None
    assert set(REMEDIES) == {*ORDER, "healthy"} and all(REMEDIES[v] for v in ORDER)  # remedies.json is complete
    for verdict, remedies in REMEDIES.items():  # every option named exists in the options table
        for remedy in remedies:
            assert remedy.option is None or remedy.flag.startswith("--"), (verdict, remedy)


# ---------- tiny runs made to fail ----------


def _diagnose(tmp_path, opts, **train):
    r = fit(opts, TINY, TrainConfig(**{**TINY_TRAIN, **train}), out=tmp_path / "m.safetensors",
            log_dir=tmp_path / "run")
    return diagnose_model(r.bundle, r.val.ids, r.val.seqs, r.result.gradients, r.result.history, max_records=8)


def test_lr_zero_is_not_learning(tmp_path):
    path = write_fasta(tmp_path / "d.fa", motif_dna(40, length=24, seed=1))
    d = _diagnose(tmp_path, DataOptions([str(path)]), lr=0.0, epochs=2)
    assert d.verdicts == ["not learning"]
    assert d.numbers["min_val_loss"] >= 0.95 * LN2


def test_shuffled_labels_are_not_learning(tmp_path):
    recs = motif_dna(48, length=24, seed=1)
    labels = np.random.default_rng(0).permutation([y for _, _, y in recs])
    path = write_fasta(tmp_path / "shuffled.fa", [(i, s, y) for (i, s, _), y in zip(recs, labels)])
    d = _diagnose(tmp_path, DataOptions([str(path)]), epochs=4)
    assert d.verdict == "not learning"


@pytest.mark.slow
def test_a_tiny_training_set_with_many_epochs_overfits(tmp_path):
    train = write_fasta(tmp_path / "small.fa", motif_dna(12, length=30, seed=2))
    val = write_fasta(tmp_path / "val.fa", motif_dna(40, length=30, seed=3))
    d = _diagnose(tmp_path, DataOptions([str(train)], val=[str(val)]), epochs=60, patience=100, lr=0.01,
                  weight_decay=0.0)
    assert d.verdict == "overfitting"
    assert d.numbers["val_rise"] > 0.5  # the validation loss climbed far above its minimum


LABEL_COUNTS = {"counts": {"C": 100, "E": 100, "H": 800}}  # positions per label: H is 80%


def test_a_labeller_at_chance_is_worded_in_labels_and_positions():
    h = history([1.1, 1.098], [1.099, 1.1], val_bal=[0.33, 0.34], val_acc=[0.8, 0.8])
    f = training_findings(h, LABEL_COUNTS, task="label")
    assert f.verdicts == ["not learning", "accuracy misleads"]
    assert f.numbers["chance_accuracy"] == pytest.approx(0.8)
    stuck = f.findings[0]
    assert "(1.099, ln 3 for 3 weighted labels)" in stuck
    assert stuck.endswith("(chance 0.333); per-position accuracy 0.800, while always predicting the most frequent "
                          "label ('H') scores 0.800")
    assert f.findings[1] == ("per-position accuracy 0.800 (the most frequent label alone: 0.800) but balanced "
                             "accuracy 0.330 (chance 0.333): the labels are unbalanced (C: 100 positions, E: 100 "
                             "positions, H: 800 positions; 8.0 to 1)")
    unweighted = {**LABEL_COUNTS, "train_config": {"class_weights": False}}
    assert "the label entropy" in training_findings(h, unweighted, task="label").findings[0]
    classic = training_findings(h, LABEL_COUNTS)  # the classifier's words are unchanged
    assert "weighted classes" in classic.findings[0] and "chance_accuracy" not in classic.numbers
    assert classic.findings[1].startswith("accuracy 0.800 but balanced accuracy 0.330")
    d = diagnose_run([], h, training=LABEL_COUNTS, task="label")
    assert d.verdict == "not learning" and all(r.option != "pooling" for r in d.remedies)
    assert any(r.option == "pooling" for r in diagnose_run([], h, training=LABEL_COUNTS).remedies)


def test_a_labeller_run_with_lr_zero_is_not_learning_in_labels(tmp_path):
    from bioseq.data.synthetic import transmembrane_protein, write_three_line

    path = write_three_line(tmp_path / "tm.fa", transmembrane_protein(24, min_len=30, max_len=40, seed=1))
    d = _diagnose(tmp_path, DataOptions([str(path)]), lr=0.0, epochs=2)
    assert d.task == "label" and d.verdict == "not learning"
    assert 0.5 <= d.numbers["chance_accuracy"] < 1  # the most frequent label's share of the scored positions
    assert "weighted labels" in d.text() and "always predicting the most frequent label" in d.text()
    assert "from the position labelled" in d.text() and "--pooling" not in d.text()


def test_run_verdict_warns_at_chance_naming_the_figure_and_the_baseline():
    """The finished-run banner's verdict: success only when nothing is wrong."""
    from bioseq.interpret.diagnose_training import run_verdict

    chance = run_verdict({"accuracy": 0.49, "balanced_accuracy": 0.49, "auroc": 0.54}, {"a": 100, "b": 100})
    assert chance.level == "warning" and chance.problems == (
        "validation balanced accuracy 0.49 is at chance (0.50 for 2 classes)",
        "validation accuracy 0.49 is no better than always predicting the most frequent class 'a' (0.50)",
        "validation AUROC 0.54 is near chance (0.50)")
    assert run_verdict({"accuracy": 0.95, "balanced_accuracy": 0.95, "auroc": 0.99}, {"a": 100, "b": 100}).ok
    majority = run_verdict({"accuracy": 0.94, "balanced_accuracy": 0.52, "sov": 0.9}, {"O": 940, "S": 60}, "label")
    assert majority.problems == ("validation balanced accuracy 0.52 is at chance (0.50 for 2 labels)",
                                 "validation accuracy 0.94 is no better than always predicting the most frequent "
                                 "label 'O' (0.94)")
    # figures above chance, but the history says the model memorised: the diagnosis' verdict, not a green tick
    history = [{"epoch": e, "split": s, "loss": loss, "balanced_accuracy": 0.9} for e, s, loss in
               [(1, "train", 0.6), (1, "val", 0.5), (2, "train", 0.3), (2, "val", 0.6), (3, "train", 0.1),
                (3, "val", 0.9)]]
    over = run_verdict({"accuracy": 0.9, "balanced_accuracy": 0.9, "auroc": 0.95}, {"a": 50, "b": 50},
                       history=history)
    assert over.level == "warning" and over.problems[0].startswith("overfitting: the validation loss rose from 0.500")
