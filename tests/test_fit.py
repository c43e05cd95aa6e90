"""From files to a saved model: run folder, logs, registry, failures; and the defaults that learn."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from conftest import TINY, TINY_TRAIN

from bioseq.data.dataset import file_sha256, load_dataset
from bioseq.data.io import read_records
from bioseq.data.source import DataOptions
from bioseq.data.synthetic import cterm_protein, motif_dna, write_fasta
from bioseq.errors import InputError, ModelFileError, TrainingError
from bioseq.model.store import load_model
from bioseq.prediction.predict import encode_records, predict_arrays
from bioseq.training.config import TrainConfig
from bioseq.training.fit import default_model_config, fit, load_split_rule
from bioseq.training.runs import GRADIENT_COLUMNS, METRIC_COLUMNS

DEEP = {**TINY, "layers": 2}  # the run folder and the model file record more than one layer


def quick(**kw):
    return TrainConfig(**{**TINY_TRAIN, "epochs": 2, "lr": 1e-2, **kw})


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_fit_writes_the_model_and_the_run_folder(dna_fasta, tmp_path):
    out = tmp_path / "models" / "m.safetensors"
    r = fit(DataOptions([str(dna_fasta)]), DEEP, quick(), out=out, log_dir=tmp_path / "run")
    assert r.path == out and out.is_file() and r.run_dir == tmp_path / "run"
    assert r.summary["records"] == 32 and r.summary["per_class"] == {"background": 16, "motif": 16}

    status = json.loads((r.run_dir / "run.json").read_text())
    assert status["status"] == "done" and status["name"] == "m" and status["model_path"] == str(out)
    assert status["model_config"]["hidden"] == 8 and status["train_config"]["epochs"] == 2

    metrics = read_rows(r.run_dir / "metrics.csv")
    assert list(metrics[0]) == list(METRIC_COLUMNS)
    assert [(m["epoch"], m["split"]) for m in metrics] == [("1", "train"), ("1", "val"), ("2", "train"), ("2", "val")]
    grads = read_rows(r.run_dir / "gradients.csv")
    assert list(grads[0]) == list(GRADIENT_COLUMNS)
    assert len(grads) == 2 * 2 * 4  # layers x epochs x ceil(32 / 8) steps
    assert (r.run_dir / "checkpoint.safetensors").is_file()

    loaded = load_model(out)
    t = loaded.meta["training"]
    assert t["files"] == [{"path": str(dna_fasta.resolve()), "sha256": file_sha256(dna_fasta), "role": "train"}]
    assert t["counts"] == {"background": 16, "motif": 16} and t["val_counts"] == {"background": 4, "motif": 4}
    assert t["best_epoch"] == r.result.best_epoch and len(t["history"]) == 4
    assert loaded.meta["seed"] == 0 and loaded.classes == ["background", "motif"]
    assert loaded.model.cfg.layers == 2 and loaded.model.cfg.pooling == "max"  # the DNA default read-out
    # the saved model is the trained one
    for k, v in r.bundle.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v)


def test_fit_by_name_uses_the_registry(dna_fasta, bioseq_home):
    r = fit(DataOptions([str(dna_fasta)]), DEEP, quick(epochs=1), name="tiny")
    assert r.path == bioseq_home / "models" / "tiny.safetensors" and r.path.is_file()
    assert r.run_dir == bioseq_home / "runs" / "tiny"
    assert load_model(r.path).name == "tiny"
    auto = fit(DataOptions([str(dna_fasta)]), DEEP, quick(epochs=1))
    assert auto.path.parent == bioseq_home / "models" and auto.path.name.startswith("lstm-dna-")
    with pytest.raises(ModelFileError, match="invalid model name"):
        fit(DataOptions([str(dna_fasta)]), DEEP, quick(epochs=1), name="../outside")


def test_fit_with_validation_files(tmp_path):
    train_fa = write_fasta(tmp_path / "train.fa", motif_dna(16, length=20, seed=1))
    val_fa = write_fasta(tmp_path / "val.fa", motif_dna(6, length=20, seed=2))
    r = fit(DataOptions([str(train_fa)], val=[str(val_fa)]), DEEP, quick(epochs=1), out=tmp_path / "m.safetensors")
    assert sum(map(sum, r.result.confusion)) == 6
    assert [f["role"] for f in r.bundle.meta["training"]["files"]] == ["train", "val"]


def test_default_model_config_by_alphabet():
    dna = default_model_config("dna", 4, 2)
    prot = default_model_config("protein", 20, 3, hidden=None, cell="gru")
    assert (dna.pooling, dna.conv_pool, dna.conv_width, dna.cell, dna.hidden) == ("max", 2, 9, "lstm", 64)
    assert (prot.pooling, prot.conv_pool, prot.conv_width, prot.cell, prot.hidden) == ("last", 1, 5, "gru", 64)
    assert prot.alphabet_size == 20 and prot.n_classes == 3
    with pytest.raises(ValueError, match="unknown pooling"):
        default_model_config("dna", 4, 2, pooling="median")


def test_load_split_needs_enough_records(write):
    tiny = write("t.fa", ">a label=x\nACGT\n>b label=y\nGGCC\n")
    with pytest.raises(InputError, match=r"too few records \(2\)"):
        load_split_rule(DataOptions([str(tiny)]))


def test_bad_input_fails_before_any_run_folder(write, bioseq_home, tmp_path):
    bad = write("bad.fa", ">a label=x\nACGT\n>b label=y\nGGJCC\n")
    with pytest.raises(InputError, match="position 3"):
        fit(DataOptions([str(bad)], alphabet="dna"), DEEP, quick(), out=tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists() and not bioseq_home.exists()


def test_a_failed_run_is_marked_failed(dna_fasta, tmp_path, monkeypatch):
    class Exploding(torch.nn.CrossEntropyLoss):
        def forward(self, logits, y):
            return super().forward(logits, y) * float("inf")

    monkeypatch.setattr(torch.nn, "CrossEntropyLoss", Exploding)
    out = tmp_path / "m.safetensors"
    with pytest.raises(TrainingError):
        fit(DataOptions([str(dna_fasta)]), DEEP, quick(), out=out, log_dir=tmp_path / "run")
    status = json.loads((tmp_path / "run" / "run.json").read_text())
    assert status["status"] == "failed" and "loss became inf" in status["error"]
    assert not out.exists()


def test_a_stopped_run_still_saves_the_best_model(dna_fasta, tmp_path):
    epochs_done = []
    r = fit(DataOptions([str(dna_fasta)]), DEEP, quick(epochs=3), out=tmp_path / "m.safetensors",
            log_dir=tmp_path / "run", callback=lambda p: p.phase == "epoch" and epochs_done.append(p.epoch),
            should_stop=lambda: len(epochs_done) >= 1)
    assert r.result.interrupted and r.bundle.meta["training"]["interrupted"]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "stopped"
    assert load_model(r.path).meta["training"]["best_epoch"] == 1


def accuracy_on(path, model_path) -> float:
    bundle = load_model(model_path)
    ds = load_dataset([path], alphabet=bundle.alphabet, classes=bundle.classes)
    probs = predict_arrays(bundle, encode_records(bundle, list(read_records(path))))
    return float((probs.argmax(1) == ds.labels).mean())


@pytest.mark.slow
@pytest.mark.parametrize(("task", "threshold"), [
    (lambda n, seed: motif_dna(n, seed=seed), 0.9),
    (lambda n, seed: cterm_protein(n, seed=seed), 0.95),
], ids=["motif-dna", "cterm-protein"])
def test_the_defaults_learn(tmp_path, task, threshold):
    train_fa = write_fasta(tmp_path / "train.fa", task(800, 11))
    test_fa = write_fasta(tmp_path / "test.fa", task(200, 12))
    r = fit(DataOptions([str(train_fa)]), None, TrainConfig(), out=tmp_path / "m.safetensors")
    acc = accuracy_on(test_fa, r.path)
    assert acc >= threshold, (acc, r.result.best_epoch, r.result.val_metrics)
    assert np.isfinite(r.result.val_metrics["loss"])


def test_the_model_file_keeps_a_training_profile(dna_fasta, tmp_path):
    from bioseq.prediction.novelty import flag_arrays

    r = fit(DataOptions([str(dna_fasta)]), TINY, TrainConfig(**TINY_TRAIN),
            out=str(tmp_path / "m.safetensors"))
    profile = load_model(r.path).meta["training"]["profile"]
    assert (profile["length_min"], profile["length_max"]) == (24, 24)
    assert 0 < profile["composition_cutoff"] < 1 and len(profile["composition"]) == 4
    long = [np.zeros((50, 4), dtype=np.float32) + 0.25]
    assert flag_arrays(long, profile)["flag"][0] == ("longer than any training sequence by over 25% "
                                                     "(50 letters; the longest 24)")


# --- labellers (one label per position) -------------------------------------------------------------------

def _three_line(write, n=24, seed=0):
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(n):
        seq = "".join(rng.choice(list("ACGT"), int(rng.integers(6, 14))))
        recs.append(f">r{i}\n{seq}\n{seq.translate(str.maketrans('ACGT', 'PYPY'))}\n")  # purine / pyrimidine
    return write("pos.3line.fa", "".join(recs))


def test_fit_detects_a_labeller_records_it_and_resumes(write, tmp_path):
    data = DataOptions([str(_three_line(write))])
    log = tmp_path / "run"
    first = fit(data, DEEP, quick(epochs=2, grad_every=1), out=tmp_path / "a.safetensors", log_dir=log)
    assert first.bundle.task == "label" and first.bundle.classes == ["P", "Y"]
    assert [r["epoch"] for r in first.result.history] == [1, 1, 2, 2]
    assert {"accuracy", "mcc", "f1", "sov"} <= set(first.result.history[-1])
    assert first.result.gradients and {r["layer"] for r in first.result.gradients}  # recorded as for classifiers
    assert first.summary["per_class"]["P"] + first.summary["per_class"]["Y"] == first.summary["positions"]
    again = fit(data, DEEP, quick(epochs=3, grad_every=1), out=tmp_path / "a.safetensors", log_dir=log, resume=True)
    assert [r["epoch"] for r in again.result.history] == [1, 1, 2, 2, 3, 3]  # continued from the checkpoint
    assert again.result.history[:4] == first.result.history


def test_fit_refuses_classify_with_label_files_and_pooling_for_labellers(write, tmp_path):
    data = DataOptions([str(write("s.fa", ">a\nACGT\n"))], labels_fasta=[str(write("l.fa", ">a\nPYPY\n"))])
    with pytest.raises(InputError, match="--task classify needs one label per sequence"):
        fit(data, {"task": "classify"}, quick())
    with pytest.raises(InputError, match="cannot pool: conv_pool is 3"):
        fit(DataOptions([str(_three_line(write))]), {**DEEP, "conv_pool": 3}, quick())


def test_per_position_options_on_classification_data_are_refused(dna_fasta, write):
    for kw, flag in (({"mask": [str(write("m.fa", ">seq1\n0101\n"))]}, "--mask FILE"), ({"ignore_label": "-"},
                                                                                         "--ignore-label")):
        with pytest.raises(InputError, match=f"{flag} is for per-position labels; these files are classification"):
            fit(DataOptions([str(dna_fasta)], **kw), TINY, quick())


def test_training_reads_a_pipe_once(dna_fasta, tmp_path):
    import os

    r, w = os.pipe()
    os.write(w, dna_fasta.read_bytes())
    os.close(w)
    result = fit(DataOptions([f"/dev/fd/{r}"]), TINY, quick(epochs=1), out=tmp_path / "m.safetensors")
    assert result.summary["records"] == 32
    files = load_model(result.path).meta["training"]["files"]
    assert files[0]["sha256"] == file_sha256(dna_fasta)


def test_a_rare_class_is_warned_about_in_the_summary(tmp_path):
    recs = motif_dna(24, length=24, seed=1) + [("lonely", "ACGT" * 6, "rare")]
    train, val = write_fasta(tmp_path / "t.fa", recs), write_fasta(tmp_path / "v.fa", motif_dna(8, length=24, seed=2))
    r = fit(DataOptions([str(train)], val=[str(val)]), TINY, quick(epochs=1), out=tmp_path / "m.safetensors")
    assert r.summary["per_class"]["rare"] == 1
    assert [w.split(":")[0] for w in r.summary["warnings"]] == [
        "class 'rare' has 1 training sequence against 12 of the largest class"]
