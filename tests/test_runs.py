"""The run folder: its writers (start, progress, epoch_done, finish, fail) and readers; listing runs, metrics,
gradients, gradient-flow reports."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from conftest import TINY, TINY_TRAIN

from bioseq.app import flow, records
from bioseq.data.source import DataOptions
from bioseq.errors import InputError
from bioseq.interpret.diagnose import ORDER
from bioseq.training import runs
from bioseq.training.config import TrainConfig
from bioseq.training.fit import fit
from bioseq.training.loop import Progress
from bioseq.training.runs import RunFolder, RunProgress
from bioseq.workspace import runs_dir


@pytest.fixture
def trained(dna_fasta):
    """Train tiny runs: ``trained(name, **model_options)`` returns the FitResult."""

    def _train(name, epochs=2, **model):
        return fit(DataOptions([str(dna_fasta)]), {**TINY, **model}, TrainConfig(**{**TINY_TRAIN, "epochs": epochs}),
                   name=name)

    return _train


def test_empty_workspace():
    df = runs.list_runs()
    assert list(df.columns) == list(runs.RUN_COLUMNS) and len(df) == 0
    assert len(runs.compare_metrics(["nope"])) == 0


def test_list_and_read_a_finished_run(trained):
    trained("r1", layers=2)
    df = runs.list_runs()
    row = df.iloc[0]
    assert (row["name"], row["status"], row["cell"], row["alphabet"]) == ("r1", "done", "lstm", "dna")
    assert row["has_model"] and row["epochs"] == 2 and row["classes"] == "background, motif"
    assert f"2x BiLSTM {TINY['hidden']}" in row["architecture"]
    m = runs.read_metrics("r1")
    assert list(m["split"]) == ["train", "val"] * 2 and "auroc" in m.columns
    g = runs.read_gradients("r1")
    assert set(g["layer"]) == {1, 2} and g["step"].is_monotonic_increasing


def test_layer_gradients_long_form(trained):
    trained("bi")
    trained("uni", bidirectional=False)
    bi, uni = runs.layer_gradients("bi"), runs.layer_gradients("uni")
    assert set(bi["direction"]) == {"both", "forward", "reverse"}
    assert set(uni["direction"]) == {"both", "forward"}
    assert (bi["grad_norm"] > 0).all()


def test_gradient_summary_ratio(trained):
    trained("deep", layers=2)
    trained("flat")
    deep = runs.gradient_summary("deep")
    assert set(deep.per_layer) == {1, 2}
    assert deep.ratio == pytest.approx(deep.per_layer[1] / deep.per_layer[2])
    assert math.isnan(runs.gradient_summary("flat").ratio)


def test_compare_metrics_stacks_runs(trained):
    trained("a")
    trained("b", epochs=1)
    both = runs.compare_metrics(["a", "b"])
    assert both.groupby("run").size().to_dict() == {"a": 4, "b": 2}


def test_running_run_with_a_dead_worker_is_interrupted(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    RunFolder(runs_dir() / "ghost").update(name="ghost", status="running", pid=int(dead.stdout))
    RunFolder(runs_dir() / "alive").update(name="alive", status="running", pid=__import__("os").getpid())
    RunFolder(runs_dir() / "cli").update(name="cli", status="running")  # an old run.json, without a pid
    status = dict(zip(runs.list_runs()["name"], runs.list_runs()["status"]))
    assert status == {"ghost": "interrupted", "alive": "running", "cli": "running"}


def test_unreadable_run_is_skipped_and_reported():
    bad = runs_dir() / "bad"
    bad.mkdir(parents=True)
    (bad / "run.json").write_text("{not json")
    assert len(runs.list_runs()) == 0
    with pytest.raises(InputError, match="run.json is not readable"):
        runs.read_run("bad")
    with pytest.raises(InputError, match="no such run"):
        runs.read_run("missing")


def test_metrics_of_a_run_still_in_its_first_epoch():
    RunFolder.named("early").update(name="early", status="running")
    assert len(runs.read_metrics("early")) == 0 and "epoch" in runs.read_metrics("early").columns
    assert len(runs.layer_gradients("early")) == 0


def test_run_records(trained, dna_fasta):
    trained("r")
    recs = records.run_records("r", n=8)
    assert len(recs) == 8 and recs[0].file == str(dna_fasta)


def test_gradient_flow_report(trained):
    trained("flow", layers=2)
    r = flow.gradient_flow("flow", n=6)
    assert r.records == 6 and r.diagnosis.verdict in ("healthy", *ORDER)  # a tiny run may well be "not learning"
    assert r.diagnosis.findings and "2x BiLSTM" in r.architecture
    assert set(r.time.columns) >= {"layer", "direction", "distance", "grad_norm"} and len(r.time)
    assert set(r.time["direction"]) == {"forward", "reverse"}
    assert 0 < r.memory["relative"].max() <= 1.0 and set(r.memory["direction"]) == {"forward", "reverse"}
    both = flow.stack([r, r], "time")
    assert len(both) == 2 * len(r.time) and set(both["run"]) == {"flow"}
    assert set(flow.layer_table([r])["layer"]) == {1, 2}


def test_gradient_flow_without_training_files_still_reports_layers(trained, dna_fasta):
    trained("moved")
    dna_fasta.unlink()
    r = flow.gradient_flow("moved")
    assert r.records == 0 and "skipped" in r.note and len(r.layers) and len(r.time) == 0


def test_gradient_flow_needs_a_finished_run():
    RunFolder.named("busy").update(name="busy", status="running")
    with pytest.raises(InputError, match="no saved model yet"):
        flow.gradient_flow("busy")


def test_run_json_is_what_fit_wrote(trained):
    trained("same")
    on_disk = json.loads((runs_dir() / "same" / "run.json").read_text())
    assert runs.read_run("same")["model_path"] == on_disk["model_path"]


def test_run_progress_fraction_and_eta():
    s = RunProgress(status="running", epoch=2, epochs=4, step=5, steps_per_epoch=10, elapsed=30.0)
    assert s.fraction == pytest.approx(15 / 40)
    assert s.eta == pytest.approx(30.0 * (25 / 40) / (15 / 40))
    assert RunProgress().fraction == 0.0 and RunProgress().eta is None
    assert RunProgress(status="done").fraction == 1.0


def test_run_progress_from_run_json():
    info = {"status": "running", "train_config": {"epochs": 7},
            "progress": {"epoch": 1, "step": 3, "steps_per_epoch": 6, "loss": 0.5, "elapsed": 2.0}}
    p = RunProgress.of(info)
    assert (p.epoch, p.epochs, p.step, p.steps_per_epoch, p.loss, p.fraction) == (1, 7, 3, 6, 0.5, 3 / 42)
    assert RunProgress.of({"status": "failed"}).epochs == 0 and math.isnan(RunProgress.of({}).loss)


def batch(epoch, step, loss=0.5, phase="batch", history=()):
    return Progress(phase, epoch, 3, step, 4, loss, float(step), list(history))


def test_progress_is_written_at_most_once_a_second(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(runs.time, "monotonic", lambda: clock[0])
    run = RunFolder.named("live")
    run.start("live", "cli", train_config={"epochs": 3})
    run.progress(batch(1, 1))
    assert RunProgress.of(runs.read_run("live")).step == 1
    clock[0] += 0.5
    run.progress(batch(1, 2))
    assert RunProgress.of(runs.read_run("live")).step == 1  # half a second later: not written
    clock[0] += 0.6
    run.progress(batch(1, 3, loss=0.25))
    p = RunProgress.of(runs.read_run("live"))
    assert (p.epoch, p.step, p.steps_per_epoch, p.loss, p.elapsed) == (1, 3, 4, 0.25, 3.0)
    rows = [{"epoch": 1, "split": s, "loss": 0.1} for s in ("train", "val")]
    run.progress(batch(1, 4, phase="epoch", history=rows))  # an epoch's end is always written
    assert runs.read_run("live")["epoch"] == 1 and RunProgress.of(runs.read_run("live")).step == 4
    assert list(runs.read_metrics("live")["split"]) == ["train", "val"]


def test_start_records_the_process_and_the_launcher():
    run = RunFolder.named("mine")
    run.update(status="failed", error="old")
    run.start("mine", "python", summary={"records": 3})
    info = runs.read_run("mine")
    assert (info["status"], info["launcher"], info["pid"], info["summary"]) == ("running", "python", os.getpid(),
                                                                                 {"records": 3})
    assert "error" not in info  # a fresh run.json, also when resuming a failed run
    assert runs.list_runs()["launcher"].tolist() == ["python"]


@pytest.mark.slow
def test_a_killed_run_reads_as_interrupted_whoever_started_it():
    code = ("import sys; from bioseq.training.runs import RunFolder; "
            "RunFolder(sys.argv[1]).start('killed', 'cli')")
    subprocess.run([sys.executable, "-c", code, str(runs_dir() / "killed")], check=True)
    assert runs.read_run("killed")["status"] == "interrupted"


def test_fail_is_one_line():
    RunFolder.named("f").fail(ValueError("bad value"))
    assert runs.read_run("f")["error"] == "ValueError: bad value"
    RunFolder.named("g").fail(KeyboardInterrupt())
    assert runs.read_run("g")["error"] == "KeyboardInterrupt"
    RunFolder.named("h").fail(InputError("no such file", "x.fa"))
    assert runs.read_run("h")["error"] == "x.fa: no such file"


def test_paths_of_a_run_folder(tmp_path):
    run = RunFolder(tmp_path / "r")
    assert [p.name for p in (run.status_path, run.metrics_path, run.gradients_path, run.checkpoint_path)] == [
        "run.json", "metrics.csv", "gradients.csv", "checkpoint.safetensors"]
    with pytest.raises(Exception, match="invalid model name"):
        RunFolder.named("../outside")


def test_rename_run_moves_its_files_and_says_the_new_name(trained):
    trained("before")
    metrics = runs.read_metrics("before")
    assert runs.rename_run("before", "after") == runs_dir() / "after"
    assert not (runs_dir() / "before").exists() and list(runs.list_runs()["name"]) == ["after"]
    assert runs.read_run("after")["name"] == "after" and runs.read_metrics("after").equals(metrics)
    assert not (runs_dir() / "after" / ".lock").exists()
    with pytest.raises(InputError, match="before: no such run"):
        runs.rename_run("before", "again")


def test_rename_run_refuses_a_taken_name_unless_overwrite():
    for name in ("a", "b"):
        RunFolder.named(name).update(name=name, status="done")
    with pytest.raises(InputError, match="a run called 'b' already exists; choose another name"):
        runs.rename_run("a", "b")
    assert runs.read_run("a")["name"] == "a" and runs.read_run("b")["name"] == "b"
    runs.rename_run("a", "b", overwrite=True)
    assert list(runs.list_runs()["name"]) == ["b"] and not (runs_dir() / "a").exists()


def test_a_run_being_trained_is_neither_renamed_nor_deleted():
    from bioseq.training.claims import claim

    RunFolder.named("busy").update(name="busy", status="done")
    with claim("busy", runs_dir() / "busy", resume=True):  # as a training run holds it
        with pytest.raises(InputError, match="'busy' is being trained right now"):
            runs.delete_run("busy")
        with pytest.raises(InputError, match="'busy' is being trained right now"):
            runs.rename_run("busy", "free")
    assert runs.read_run("busy")["status"] == "done" and not (runs_dir() / "free").exists()
    runs.delete_run("busy")
    assert not (runs_dir() / "busy").exists()


# ---- several runs at once on few cores ----


def _live(name: str) -> None:
    """A run folder that reads as training now (its process is this test's)."""
    RunFolder.named(name).start(name, "cli")


def _dead(name: str) -> None:
    """A run folder that says running, but whose process is gone (it reads as interrupted)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    RunFolder.named(name).start(name, "cli")
    RunFolder.named(name).update(pid=int(proc.stdout))


def test_crowding_counts_live_runs_against_the_cores(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert runs.crowding(cores=1) is None  # nothing trains
    _dead("gone")
    RunFolder.named("over").start("over", "cli")
    RunFolder.named("over").update(status="done")
    assert runs.crowding(cores=1) is None  # neither an interrupted run nor a finished one counts
    _live("a")
    crowd = runs.crowding(cores=1)
    assert crowd == runs.Crowding(("a",), cores=1, threads=1) and crowd.slowdown == 2.0
    assert crowd.text() == ("1 other run is training in this workspace (a); with this one, 2 runs of 1 thread "
                            "share 1 CPU core, so each trains about 2.0× slower. Wait for it to finish, or stop it, "
                            "to train at full speed")
    assert runs.crowding(cores=2) is None  # two one-thread runs fit two cores
    assert runs.crowding(exclude="a", cores=1) is None  # a run is not crowded by itself
    _live("b")
    assert runs.crowding(cores=2).text("a new run").startswith(
        "2 other runs are training in this workspace (a, b); with a new run, 3 runs of 1 thread share 2 CPU cores, "
        "so each trains about 1.5× slower. Wait for them to finish, or stop one")
    monkeypatch.delenv("OMP_NUM_THREADS")  # PyTorch's default: a run computes on every core
    assert runs.crowding(exclude="b", cores=4) == runs.Crowding(("a",), cores=4, threads=4)


@pytest.mark.parametrize("value, threads", [("2", 2), ("16", 4), ("0", 4), ("x", 4)])
def test_threads_per_run(monkeypatch, value, threads):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert runs.threads_per_run(4) == threads
