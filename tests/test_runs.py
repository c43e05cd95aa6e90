"""Reading training runs back from the workspace: listing, metrics, gradients, gradient-flow reports."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from bioseq.app import flow, records
from bioseq.data.source import DataOptions
from bioseq.errors import InputError
from bioseq.training import runs
from bioseq.training.config import TrainConfig
from bioseq.training.fit import fit
from bioseq.training.runs import write_status
from bioseq.workspace import runs_dir

TINY = {"hidden": 4, "conv_filters": 4, "conv_width": 3, "dropout": 0.0}


@pytest.fixture
def trained(dna_fasta):
    """Train tiny runs: ``trained(name, **model_options)`` returns the FitResult."""

    def _train(name, epochs=2, **model):
        return fit(DataOptions([str(dna_fasta)]), {**TINY, **model}, TrainConfig(epochs=epochs, batch_size=8),
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
    assert "2x BiLSTM 4" in row["architecture"]
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
    write_status(runs_dir() / "ghost", name="ghost", status="running", pid=int(dead.stdout))
    write_status(runs_dir() / "alive", name="alive", status="running", pid=__import__("os").getpid())
    write_status(runs_dir() / "cli", name="cli", status="running")
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
    write_status(runs_dir() / "early", name="early", status="running")
    assert len(runs.read_metrics("early")) == 0 and "epoch" in runs.read_metrics("early").columns
    assert len(runs.layer_gradients("early")) == 0


def test_run_records(trained, dna_fasta):
    trained("r")
    recs = records.run_records("r", n=8)
    assert len(recs) == 8 and recs[0].file == str(dna_fasta)


def test_gradient_flow_report(trained):
    trained("flow", layers=2)
    r = flow.gradient_flow("flow", n=6)
    assert r.records == 6 and r.diagnosis.verdict in ("healthy", "vanishing across layers",
                                                       "vanishing across time", "exploding")
    assert r.diagnosis.findings and "2x BiLSTM" in r.architecture
    assert set(r.time.columns) >= {"layer", "direction", "distance", "grad_norm"} and len(r.time)
    assert set(r.time["direction"]) == {"forward", "reverse"}
    assert r.memory["relative"].max() == pytest.approx(1.0)
    both = flow.stack([r, r], "time")
    assert len(both) == 2 * len(r.time) and set(both["run"]) == {"flow"}
    assert set(flow.layer_table([r])["layer"]) == {1, 2}


def test_gradient_flow_without_training_files_still_reports_layers(trained, dna_fasta):
    trained("moved")
    dna_fasta.unlink()
    r = flow.gradient_flow("moved")
    assert r.records == 0 and "skipped" in r.note and len(r.layers) and len(r.time) == 0


def test_gradient_flow_needs_a_finished_run():
    write_status(runs_dir() / "busy", name="busy", status="running")
    with pytest.raises(InputError, match="no saved model yet"):
        flow.gradient_flow("busy")


def test_delete_run(trained):
    trained("gone")
    runs.delete_run("gone")
    assert len(runs.list_runs()) == 0
    with pytest.raises(InputError):
        runs.delete_run("gone")


def test_run_json_is_what_fit_wrote(trained):
    trained("same")
    on_disk = json.loads((runs_dir() / "same" / "run.json").read_text())
    assert runs.read_run("same")["model_path"] == on_disk["model_path"]
