"""Background training jobs, the training form's options and presets."""

from __future__ import annotations

import argparse
import json
import math
import os

import pytest

from bioseq.cli import build_parser
from bioseq.data.source import DataOptions
from bioseq.errors import InputError
from bioseq.model.store import model_path
from bioseq.training import jobs
from bioseq.training.config import TrainConfig
from bioseq.workspace import runs_dir

TINY = {"hidden": 4, "conv_filters": 4, "conv_width": 3, "dropout": 0.0}


def tiny_job_args(path, epochs=2, **model):
    return DataOptions([str(path)]), {**TINY, **model}, TrainConfig(epochs=epochs, batch_size=8)


def test_form_covers_every_cli_training_option():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    train = sub.choices["train"]
    cli = {a.dest for a in train._actions} - {"help", "files", "labels", "val", "alphabet", "log_dir", "resume",
                                               "quiet", "out", "name"}
    renamed = {"arch": "cell", "no_class_weights": "class_weights"}
    assert {renamed.get(d, d) for d in cli} <= {o.name for o in jobs.OPTIONS}
    assert all(o.help and o.label for o in jobs.OPTIONS)


def test_defaults_follow_the_alphabet():
    dna, protein = jobs.defaults("dna"), jobs.defaults("protein")
    assert dna["pooling"] == "max" and protein["pooling"] == "last"
    assert protein["conv_pool"] == 1 and dna["conv_pool"] == 2
    assert dna["epochs"] == TrainConfig().epochs and dna["clip"] == 1.0
    assert set(dna) == {o.name for o in jobs.OPTIONS}


def test_presets():
    rnn = jobs.preset_values("Vanilla RNN", "dna")
    assert (rnn["cell"], rnn["conv"], rnn["bidirectional"], rnn["pooling"]) == ("rnn", False, False, "last")
    deep = jobs.preset_values("Deep RNN + batch norm + skip")
    assert (deep["layers"], deep["norm"], deep["skip"]) == (3, "batch", True)
    assert jobs.preset_values("BiLSTM + conv", "protein") == jobs.defaults("protein")
    with pytest.raises(InputError, match="unknown preset"):
        jobs.preset_values("nope")


def test_build_options():
    values = {**jobs.defaults("dna"), "max_length": 0, "clip": 0.0, "val_fraction": 0.3, "hidden": 5}
    data, model, tc = jobs.build_options(values, DataOptions(["a.fa"]))
    assert data.max_length is None and data.val_fraction == 0.3 and data.train == ["a.fa"]
    assert model["hidden"] == 5 and "epochs" not in model
    assert tc.clip is None and tc.epochs == values["epochs"]
    values["max_length"] = 50
    assert jobs.build_options(values, DataOptions(["a.fa"]))[0].max_length == 50


def test_build_options_rejects_bad_choices():
    with pytest.raises(InputError, match="unknown cell"):
        jobs.build_options({**jobs.defaults(), "cell": "transformer"}, DataOptions(["a.fa"]))
    with pytest.raises(InputError, match="validation fraction"):
        jobs.build_options({**jobs.defaults(), "val_fraction": 1.0}, DataOptions(["a.fa"]))


def test_job_state_progress_and_eta():
    s = jobs.JobState("x", status="running", epoch=2, epochs=4, step=5, steps_per_epoch=10, elapsed=30.0)
    assert s.fraction == pytest.approx(15 / 40)
    assert s.eta == pytest.approx(30.0 * (25 / 40) / (15 / 40))
    assert jobs.JobState("x").fraction == 0.0 and jobs.JobState("x").eta is None
    assert jobs.JobState("x", status="done").fraction == 1.0


def test_job_trains_to_a_saved_model(dna_fasta):
    reg = jobs.JobRegistry()
    job = reg.start("tiny", *tiny_job_args(dna_fasta))
    assert job.join(120)
    snap = job.snapshot()
    assert snap.status == "done", snap.error
    assert model_path("tiny").is_file() and snap.model_path == str(model_path("tiny"))
    assert [h["epoch"] for h in snap.history] == [1, 1, 2, 2]
    assert snap.val_metrics and not snap.active
    info = json.loads((runs_dir() / "tiny" / "run.json").read_text())
    assert info["status"] == "done" and info["pid"] == os.getpid() and info["launcher"] == "dashboard"
    assert reg.get("tiny") is job and reg.jobs() == [job] and reg.active() == []


def test_snapshot_is_a_copy(dna_fasta):
    job = jobs.JobRegistry().start("copy", *tiny_job_args(dna_fasta, epochs=1))
    job.join(120)
    snap = job.snapshot()
    snap.history.clear()
    assert job.snapshot().history


def test_stop_keeps_the_best_model(dna_fasta):
    reg = jobs.JobRegistry()
    job = reg.start("stopped", *tiny_job_args(dna_fasta, epochs=500))
    reg.stop("stopped")
    assert job.join(120)
    assert job.snapshot().status == "stopped"
    assert model_path("stopped").is_file()
    assert json.loads((runs_dir() / "stopped" / "run.json").read_text())["status"] == "stopped"


def test_registry_refuses_taken_names_and_too_many_runs(dna_fasta):
    reg = jobs.JobRegistry(max_running=1)
    first = reg.start("one", *tiny_job_args(dna_fasta, epochs=500))
    try:
        with pytest.raises(InputError, match="already exists"):
            reg.start("one", *tiny_job_args(dna_fasta))
        with pytest.raises(InputError, match="already training"):
            reg.start("two", *tiny_job_args(dna_fasta))
        with pytest.raises(Exception, match="invalid model name"):
            reg.start("bad name!", *tiny_job_args(dna_fasta))
    finally:
        first.stop()
        first.join(120)
    assert not (runs_dir() / "two").exists()


def test_failed_job_reports_the_file(tmp_path):
    missing = tmp_path / "missing.fa"
    job = jobs.JobRegistry().start("broken", *tiny_job_args(missing))
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == "failed" and "missing.fa" in snap.error and "no such file" in snap.error
    info = json.loads((runs_dir() / "broken" / "run.json").read_text())
    assert info["status"] == "failed" and "missing.fa" in info["error"]
    assert math.isnan(snap.loss)
