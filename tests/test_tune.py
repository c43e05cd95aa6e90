"""Tuning with Optuna (bioseq.training.tune and ``bioseq tune``): tiny studies of one-epoch trials."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest
from conftest import TINY_TRAIN

from bioseq.cli import main as cli
from bioseq.data.source import DataOptions
from bioseq.errors import InputError
from bioseq.model.store import load_model
from bioseq.task import Label
from bioseq.training.config import TrainConfig
from bioseq.training.tune import (
    SPACE,
    StudyFolder,
    default_params,
    importances,
    list_studies,
    parse_budget,
    read_study,
    suggest,
    tune,
)

# one-epoch trials; the tuned models are default-sized, so twice the tiny batch keeps them quick
TRIAL = TrainConfig(**{**TINY_TRAIN, "patience": 1, "batch_size": 16})


@pytest.mark.parametrize("text, seconds", [("10m", 600), ("90s", 90), ("1h", 3600), ("1h30m", 5400), ("45", 45),
                                           (2.5, 2.5)])
def test_budgets(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["soon", "", "0", "-5m"])
def test_bad_budgets(text):
    with pytest.raises(InputError, match="budget"):
        parse_budget(text)


def test_every_option_of_the_space_is_drawn_and_labelling_leaves_out_pooling():
    trial = optuna.trial.FixedTrial({k: (v[1][0]) for k, v in SPACE.items()})
    model, train = suggest(trial)
    assert set(model) | set(train) == set(SPACE) and set(train) == {"lr", "batch_size", "weight_decay", "swa",
                                                                    "label_smoothing"}
    protein = optuna.trial.FixedTrial({k: (v[1][0]) for k, v in SPACE.items()})
    assert "strand" not in suggest(protein, alphabet="protein")[0]  # one strand to read
    model, _ = suggest(trial, task="label")
    assert not set(model) & set(Label.fixed)


def test_the_defaults_are_a_point_of_the_space(dna_fasta):
    params = default_params(DataOptions([str(dna_fasta)]), TrainConfig())
    assert params["cell"] == "lstm" and params["hidden"] == 64 and params["lr"] == 3e-3
    for name, (kind, values, *_) in SPACE.items():
        assert (params[name] in values) if kind == "cat" else (values[0] <= params[name] <= values[1]), name


@pytest.mark.slow
def test_a_study_in_sqlite_its_first_trial_the_defaults_and_resume(dna_fasta, bioseq_home):
    data = DataOptions([str(dna_fasta)])
    r = tune(data, "study", "5m", max_trials=2, train_cfg=TRIAL, seed=3)
    assert len(r.trials) == 2 and r.model_path.is_file()
    folder = StudyFolder.named("study")
    assert folder.db.read_bytes()[:16] == b"SQLite format 3\x00"
    assert r.trials[0]["cell"] == "lstm" and r.trials[0]["hidden"] == 64  # trial 0 is the defaults
    best = min((t for t in r.trials if t["state"] == "complete"), key=lambda t: t["val_loss"])
    card = load_model(r.model_path).meta["tuning"]
    assert card["best_trial"] == best["trial"] and len(card["trials"]) == 2 and card["seed"] == 3
    assert best["val_loss"] <= r.trials[0]["val_loss"]  # never worse on validation than the defaults
    info, rows = read_study("study")
    assert info["status"] == "done" and len(rows) == 2 and list_studies() == ["study"]
    assert set(importances("study")) <= set(SPACE)

    with pytest.raises(InputError, match="--resume"):
        tune(data, "study", "5m", max_trials=1, train_cfg=TRIAL)
    again = tune(data, "study", "5m", max_trials=3, train_cfg=TRIAL, seed=3, resume=True)
    assert [t["trial"] for t in again.trials] == [0, 1, 2]  # continued, not restarted
    with pytest.raises(InputError, match="no study"):
        tune(data, "other", "5m", resume=True)


def test_the_budget_stops_the_search(dna_fasta, bioseq_home):
    r = tune(DataOptions([str(dna_fasta)]), "quick", 1.0, train_cfg=TrainConfig(epochs=50, patience=50))
    assert len(r.trials) == 1 and r.trials[0]["stopped_by_budget"]


def test_cli(dna_fasta, bioseq_home, capsys):
    assert cli(["tune", str(dna_fasta), "--budget", "5m", "--trials", "1", "--epochs", "1", "--name", "t",
                "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out.strip().endswith("t.safetensors") and "1 trials (1 complete, 0 pruned)" in err
    assert cli(["tune", str(dna_fasta), "--budget", "5m", "--trials", "1", "--name", "t", "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert cli(["tune", str(dna_fasta), "--budget", "soon"]) == 2


def test_charts_of_a_study():
    import pandas as pd

    from bioseq import plots
    from bioseq.plots.tuning import best_so_far

    rows = pd.DataFrame({"trial": [0, 1, 2, 3], "state": ["complete", "pruned", "complete", "complete"],
                         "val_loss": [0.5, None, 0.7, 0.3]})
    assert best_so_far(rows)["best"].tolist() == [0.5, 0.5, 0.3]
    assert plots.tuning_history(rows).to_dict()["layer"][0]["mark"]["type"] == "circle"
    spec = plots.importances({"lr": 0.7, "hidden": 0.3}).to_dict()
    assert spec["encoding"]["y"]["sort"] == "-x"
    assert "no trial" in str(plots.tuning_history(rows.iloc[:0]).to_dict())


def test_a_study_being_created_reads_as_no_trials(bioseq_home):
    folder = StudyFolder.named("young")
    folder.path.mkdir(parents=True)
    import sqlite3

    sqlite3.connect(folder.db).close()  # the file exists, the study not yet
    folder.update(name="young", status="running")
    info, rows = read_study("young")
    assert info["status"] == "running" and rows == [] and importances("young") == {}


def test_tune_json_is_written_and_read_as_run_json_is(bioseq_home):
    """One writer (a unique temporary name, renamed over tune.json: a file of the user's called tune.tmp is left
    alone) and one liveness check (a running study whose process is gone reads as interrupted, as a run does)."""
    folder = StudyFolder.named("s")
    folder.path.mkdir(parents=True)
    (folder.path / "tune.tmp").write_text("mine")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    folder.update(name="s", status="running", pid=int(dead.stdout))
    folder.update(trials=0)
    assert sorted(p.name for p in folder.path.iterdir()) == ["tune.json", "tune.tmp"]
    assert (folder.path / "tune.tmp").read_text() == "mine"
    assert folder.info() == {"name": "s", "status": "running", "pid": int(dead.stdout), "trials": 0}
    assert read_study("s")[0]["status"] == "interrupted"


@pytest.mark.slow
def test_a_labeller_is_tuned_without_pooling(tmp_path, bioseq_home):
    from bioseq.data.synthetic import transmembrane_protein, write_three_line

    path = write_three_line(tmp_path / "tm.fa", transmembrane_protein(24, min_len=40, max_len=60, seed=0))
    r = tune(DataOptions([str(path)]), "tm", "5m", max_trials=2, train_cfg=TRIAL)
    assert [t["state"] for t in r.trials] == ["complete", "complete"]
    assert not set(r.trials[1]) & set(Label.fixed)  # conv pool and read-out are not searched
    assert load_model(r.model_path).task == "label"


@pytest.mark.slow
def test_the_top_trials_become_an_ensemble_only_when_better_on_validation(dna_fasta, bioseq_home, monkeypatch):
    from bioseq.model.ensemble import Ensemble
    from bioseq.training import top_trials

    data = DataOptions([str(dna_fasta)])
    r = tune(data, "top", "5m", max_trials=3, train_cfg=TRIAL, ensemble=1)
    assert load_model(r.model_path).size == 1 and r.ensemble["chosen"] == "best trial"
    folder = StudyFolder.named("top")
    study = folder.study("top", 0, create=False)
    ranked = [t["trial"] for t in sorted((t for t in r.trials if t["state"] == "complete"),
                                         key=lambda t: t["val_loss"])]
    for ensemble_loss, chosen, size in ((0.4, "ensemble", 2), (0.5, "best trial", 1), (0.6, "best trial", 1)):
        monkeypatch.setattr(top_trials, "val_loss",
                            lambda model, val, e=ensemble_loss: e if isinstance(model, Ensemble) else 0.5)
        decision = top_trials.final_model(folder, study, r.model_path, "top", 2, data, 0, "classify")
        bundle = load_model(r.model_path)
        assert (decision["chosen"], bundle.size) == (chosen, size)  # a tie keeps the single model
        assert bundle.meta["tuning"]["ensemble"] == decision and decision["members"] == ranked[:2]
        assert bundle.meta["tuning"]["best_trial"] == ranked[0]


def test_the_warm_start_is_enqueued_first(dna_fasta, bioseq_home, tmp_path):
    """Trial 0 the defaults, trial 1 their bf16 twin (when calibrating), then the portfolio of the data's kind."""
    from bioseq.training.portfolio import portfolio
    from bioseq.training.tune import _enqueue, data_profile

    data, base = DataOptions([str(dna_fasta)]), TrainConfig()
    profile = data_profile(data, "classify")
    assert profile == {"alphabet": "dna", "records": profile["records"], "residues": profile["residues"],
                       "median_length": profile["median_length"]} and profile["records"] > 0
    for calibrate in (True, False):
        folder = StudyFolder(tmp_path / str(calibrate))
        folder.path.mkdir()
        study = folder.study("s", 0, create=True)
        warm = _enqueue(study, data, base, "classify", profile, calibrate)
        queued = [(t.user_attrs["role"], t.system_attrs["fixed_params"]) for t in study.trials]
        defaults = default_params(data, base)
        entries = portfolio(warm["kind"], defaults)
        assert entries and warm["entries"] == [s for _, s in entries]
        assert queued == [("defaults", defaults)] + [("amp check", defaults)] * calibrate + [
            ("portfolio", p) for p, _ in entries]
        assert study.trials[-1].user_attrs["source"] == entries[-1][1]


def test_the_precision_of_each_trial():
    from types import SimpleNamespace as NS

    from bioseq.training.searcher import Searcher

    s = Searcher(DataOptions(["x.fa"]), "s", "/tmp/s", "/tmp/s.safetensors", TrainConfig(amp="auto"), {},
                 "classify", 0, 60, "wall", 0, calibrate=True)
    undecided, decided = NS(user_attrs={}), NS(user_attrs={"amp": "bf16"})
    assert [s.amp_of(NS(user_attrs={"role": r}), undecided) for r in ("defaults", "amp check", "portfolio")] == [
        "off", "bf16", "off"]  # float32 until both calibration trials are done
    assert s.amp_of(NS(user_attrs={}), decided) == "bf16"
    s.calibrate = False
    assert s.amp_of(NS(user_attrs={"role": "amp check"}), decided) == "auto"  # the given --amp, as given


def test_quotas_share_out_the_trials_exactly():
    from bioseq.training.tune import _quotas

    assert _quotas(5, 2) == [3, 2] and _quotas(1, 2) == [1, 0] and _quotas(0, 3) == [0, 0, 0]
    assert _quotas(None, 2) == [None, None]


@pytest.mark.slow
def test_parallel_workers_share_one_study(dna_fasta, bioseq_home):
    r = tune(DataOptions([str(dna_fasta)]), "par", "5m", max_trials=3, train_cfg=TRIAL, jobs=2, ensemble=1)
    assert len(r.trials) == 3 and {t["worker"] for t in r.trials} == {0, 1}  # both processes took trials
    assert {t["state"] for t in r.trials} == {"complete"} and [t["role"] for t in r.trials][:1] == ["defaults"]
    info, rows = read_study("par")
    assert info["jobs"] == 2 and info["threads"] >= 1 and len(rows) == 3 and not (StudyFolder.named("par").path /
                                                                                 "stop").exists()


def test_a_cpu_budget_stops_the_search(dna_fasta, bioseq_home):
    r = tune(DataOptions([str(dna_fasta)]), "cpu", 1.0, train_cfg=TrainConfig(epochs=50, patience=50), clock="cpu")
    assert len(r.trials) == 1 and r.trials[0]["stopped_by_budget"]
    assert read_study("cpu")[0]["clock"] == "cpu"


def _subparser(name: str):
    import argparse

    from bioseq.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices[name]._actions}


def test_tune_takes_every_data_and_training_option_as_train_does():
    from bioseq import options

    train, searched = _subparser("train"), _subparser("tune")
    wanted = [o.name for o in options.options() if o.cli and (o.group in ("data", "training") or o.name == "task")]
    assert {"max_steps", "amp", "seeds", "lr", "batch_size", "val_fraction", "labels_fasta"} <= set(wanted)
    for name in wanted:
        a, b = train[name], searched[name]
        assert (a.option_strings, a.default, a.choices, a.nargs, a.help) == (
            b.option_strings, b.default, b.choices, b.nargs, b.help), name
        assert getattr(a.type, "__name__", None) == getattr(b.type, "__name__", None), name
    assert searched["out"].option_strings == ["--out"] and "name" in searched
    assert not ({o.name for o in options.options("model")} - {"task"}) & set(searched)  # the search chooses them


@pytest.mark.parametrize("argv, message", [
    (["--ensemble", "0"], "--ensemble must be at least 1 and at most 20, not 0"),
    (["--trials", "0"], "--trials must be at least 1, not 0"),
    (["--jobs", "0"], "--jobs must be at least 1 and at most 64, not 0"),
    (["--lr", "nan"], "--lr must be at least 0 and at most 1, not nan"),
    (["--val-fraction", "0.99"], "--val-fraction must be at least 0.01 and at most 0.5, not 0.99"),
    (["--batch-size", "8"], "--batch-size 8 is where the search starts, but tune draws batch_size 16, 32, 64"),
])
def test_tune_refuses_bad_values_in_one_line(argv, message, dna_fasta, bioseq_home, capsys):
    assert cli(["tune", str(dna_fasta), "--budget", "1m", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bioseq: error: {message}") and err.count("\n") == 1
    assert not bioseq_home.exists()
    with pytest.raises(InputError, match="--ensemble must be at least 1"):
        tune(DataOptions([str(dna_fasta)]), "x", "1m", ensemble=0)


def test_cli_out_and_the_training_options_reach_every_trial(dna_fasta, tmp_path, bioseq_home, capsys):
    import json

    out = tmp_path / "best.safetensors"
    assert cli(["tune", str(dna_fasta), "--budget", "5m", "--trials", "1", "--epochs", "1", "--max-steps", "2",
                "--batch-size", "16", "--lr", "0.001", "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(out) and out.is_file()
    folder = StudyFolder.named("best")  # the study is named after the file
    cfg = json.loads((folder.trial_dir(0) / "run.json").read_text())["train_config"]
    assert (cfg["epochs"], cfg["max_steps"], cfg["batch_size"], cfg["lr"]) == (1, 2, 16, 0.001)
    assert load_model(out).meta["tuning"]["best_trial"] == 0


def test_a_worker_stops_when_the_process_that_started_it_is_gone(monkeypatch):
    """A killed ``bioseq tune`` must not leave spawned workers training on as orphans."""
    import os

    from bioseq.training import searcher as searcher_mod

    seen = {}

    class FakeSearcher:
        threads = 1

        def run(self, worker, quota, callback=None, should_stop=None):
            seen["alive"] = should_stop()
            monkeypatch.setattr(os, "getppid", lambda: 1)  # the parent died: the worker was re-parented
            seen["orphan"] = should_stop()

    searcher_mod.run_worker(FakeSearcher(), 1, None)
    assert seen == {"alive": False, "orphan": True}


@pytest.mark.slow
def test_workers_never_rerun_the_script_that_started_the_search(dna_fasta, bioseq_home, tmp_path, monkeypatch):
    """A spawned child re-runs the parent's ``__main__`` file: a user's script without a main guard (or a Streamlit
    page, which AppTest leaves as ``__main__``) must not run again in the workers, nor stop them from searching."""
    import sys
    import types

    script = tmp_path / "user_script.py"
    marker = tmp_path / "ran-again"
    script.write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit('the script ran in a worker')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    r = tune(DataOptions([str(dna_fasta)]), "guard", "5m", max_trials=3, train_cfg=TRIAL, jobs=2, ensemble=1)
    assert sys.modules["__main__"] is main  # put back
    assert not marker.exists()
    assert len(r.trials) == 3 and {t["worker"] for t in r.trials} == {0, 1}
