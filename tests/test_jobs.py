"""Background training jobs: a thread and a stop event; the run's state is read from its folder."""

from __future__ import annotations

import json
import math
import os

import pytest
from conftest import TINY, TINY_ARGS, TINY_TRAIN

from bioseq.data.source import DataOptions
from bioseq.errors import InputError
from bioseq.model.store import model_path
from bioseq.training import jobs, runs
from bioseq.training.config import TrainConfig
from bioseq.workspace import runs_dir


def tiny_job_args(path, epochs=2, **model):
    return DataOptions([str(path)]), {**TINY, **model}, TrainConfig(**{**TINY_TRAIN, "epochs": epochs})


def test_job_trains_to_a_saved_model(dna_fasta):
    reg = jobs.JobRegistry()
    job = reg.start("tiny", *tiny_job_args(dna_fasta))
    assert job.join(120)
    info = runs.read_run("tiny")
    assert info["status"] == "done", info.get("error")
    assert model_path("tiny").is_file() and info["model_path"] == str(model_path("tiny"))
    assert list(runs.read_metrics("tiny")["epoch"]) == [1, 1, 2, 2]
    assert info["val_metrics"] and not job.alive
    assert runs.RunProgress.of(info).fraction == 1.0
    on_disk = json.loads((runs_dir() / "tiny" / "run.json").read_text())
    assert on_disk["status"] == "done" and on_disk["pid"] == os.getpid() and on_disk["launcher"] == "dashboard"
    assert reg.get("tiny") is job and reg.jobs() == [job] and reg.active() == []


def test_the_job_holds_no_copy_of_the_run_state(dna_fasta):
    job = jobs.JobRegistry().start("copy", *tiny_job_args(dna_fasta, epochs=1))
    job.join(120)
    assert set(vars(job)) == {"name", "_stop", "_thread"}
    info = runs.read_run("copy")
    info["val_metrics"].clear()
    assert runs.read_run("copy")["val_metrics"]  # every read is fresh from the folder


def test_stop_keeps_the_best_model(dna_fasta):
    reg = jobs.JobRegistry()
    job = reg.start("stopped", *tiny_job_args(dna_fasta, epochs=500))
    reg.stop("stopped")
    assert job.join(120)
    assert runs.read_run("stopped")["status"] == "stopped"
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
    info = runs.read_run("broken")
    assert info["status"] == "failed" and "missing.fa" in info["error"] and "no such file" in info["error"]
    on_disk = json.loads((runs_dir() / "broken" / "run.json").read_text())
    assert on_disk["status"] == "failed" and "missing.fa" in on_disk["error"]
    assert math.isnan(runs.RunProgress.of(info).loss)


def test_cli_and_dashboard_runs_are_alike_on_disk(dna_fasta, capsys):
    from bioseq.cli import main

    job = jobs.JobRegistry().start("dash", *tiny_job_args(dna_fasta, epochs=1))
    assert job.join(120)
    assert main(["train", str(dna_fasta), "--name", "cli", *TINY_ARGS, "--epochs", "1", "--quiet"]) == 0
    capsys.readouterr()
    dash, cli = runs.read_run("dash"), runs.read_run("cli")
    assert set(dash) == set(cli) and (dash["launcher"], cli["launcher"]) == ("dashboard", "cli")
    assert dash["pid"] == cli["pid"] == os.getpid()  # both in this test's process
    files = [sorted(p.name for p in (runs_dir() / n).iterdir()) for n in ("dash", "cli")]
    assert files[0] == files[1] == ["checkpoint.safetensors", "gradients.csv", "metrics.csv", "run.json"]
