"""Faults during training: kill -9 and resume, two trainings at once, a loss that becomes NaN."""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from _robust import BIOSEQ, assert_one_line_error, cli_env, run_cli
from conftest import TINY_ARGS
from safetensors import safe_open

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.data.synthetic import motif_dna, write_fasta
from bioseq.errors import TrainingError
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.store import list_models, load_model
from bioseq.training.config import TrainConfig
from bioseq.training.loop import train
from bioseq.training.runs import RunFolder

# a wide relu RNN read at its last state: at the largest learning rate the options allow (1), without clipping,
# its loss turns NaN within two steps (seed 0)
EXPLODES = ["--arch", "rnn", "--activation", "relu", "--hidden", "256", "--no-conv", "--pooling", "last"]


@pytest.fixture
def data(tmp_path) -> Path:
    return write_fasta(tmp_path / "train.fa", motif_dna(24, length=30, seed=5))


def checkpoint_meta(path: Path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()["bioseq_checkpoint"])


def metrics_rows(log: Path) -> list[tuple[int, str, float]]:
    with open(log / "metrics.csv", newline="") as fh:
        return [(int(r["epoch"]), r["split"], float(r["loss"])) for r in csv.DictReader(fh)]


def epochs_printed(stderr: str) -> list[int]:
    return [int(m) for m in re.findall(r"^epoch\s+(\d+)/", stderr, flags=re.M)]


def registry_files(home: Path) -> list[str]:
    folder = home / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def start_train(home: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([*BIOSEQ, "train", *map(str, args)], env=cli_env(home), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_kill_during_training_then_resume(data, tmp_path):
    home, log = tmp_path / "home", tmp_path / "log"
    ckpt = log / "checkpoint.safetensors"
    proc = start_train(home, data, "--name", "killed", "--log-dir", log, "--epochs", "500", "--patience", "1000",
                       "--quiet", *TINY_ARGS)
    try:
        deadline = time.monotonic() + 180
        while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ckpt.exists(), f"no checkpoint appeared; exit {proc.poll()}"
        assert proc.poll() is None, "training ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert registry_files(home) == [], "a model or temporary file was left in the registry"
    killed = RunFolder(log).info()
    assert (killed["status"], killed["launcher"], killed["pid"]) == ("interrupted", "cli", proc.pid)

    done = checkpoint_meta(ckpt)["epoch"]
    assert done >= 1
    before = [(r["epoch"], r["split"], r["loss"]) for r in checkpoint_meta(ckpt)["history"]]
    assert [e for e, _, _ in before] == [e for e in range(1, done + 1) for _ in (0, 1)]

    resumed = run_cli("train", data, "--name", "killed", "--log-dir", log, "--epochs", done + 2,
                      "--patience", "1000", "--resume", *TINY_ARGS, home=home)
    assert resumed.returncode == 0, resumed.stderr
    assert epochs_printed(resumed.stderr) == [done + 1, done + 2], resumed.stderr  # it did not start over
    after = metrics_rows(log)
    assert [(e, s) for e, s, _ in after] == [(e, s) for e in range(1, done + 3) for s in ("train", "val")]
    assert np.allclose([x for _, _, x in after[: 2 * done]], [x for _, _, x in before])  # the history kept
    assert registry_files(home) == ["killed.safetensors"]
    assert len(load_model(home / "models" / "killed.safetensors").meta["training"]["history"]) == 2 * (done + 2)
    assert json.loads((log / "run.json").read_text())["status"] == "done"


@pytest.mark.slow
@pytest.mark.parametrize("names", [("first", "second"), ("same", "same")], ids=["different-names", "same-name"])
def test_two_trainings_at_once(names, data, tmp_path):
    """Two names train side by side; one name is claimed by one of them and the other is refused in one line."""
    home = tmp_path / "home"
    procs = [start_train(home, data, "--name", n, "--epochs", "2", "--quiet", "--seed", i, *TINY_ARGS)
             for i, n in enumerate(names)]
    results = [p.communicate(timeout=300) for p in procs]
    for _, err in results:
        assert "Traceback" not in err
    codes = sorted(p.returncode for p in procs)
    assert codes == ([0, 0] if names[0] != names[1] else [0, 2]), results
    if names[0] == names[1]:
        err = next(e for p, (_, e) in zip(procs, results) if p.returncode == 2)
        assert len(err.strip().splitlines()) == 1 and "'same' already exists" in err, err
    files = sorted(set(names))
    assert registry_files(home) == [f"{n}.safetensors" for n in files]  # and no temporary file
    rows = list_models()
    assert sorted(r["name"] for r in rows) == files and not any("error" in r for r in rows)
    for n in files:
        bundle = load_model(home / "models" / f"{n}.safetensors")
        assert bundle.classes == ["background", "motif"]


@pytest.mark.slow
def test_nan_loss_stops_with_advice(data, tmp_path):
    home, log = tmp_path / "home", tmp_path / "log"
    proc = run_cli("train", data, "--name", "nan", "--log-dir", log, "--lr", "1", "--clip", "0", "--epochs", "3",
                   "--quiet", *TINY_ARGS, *EXPLODES, home=home)
    line = assert_one_line_error(proc, "exploding", "--lr")
    assert re.search(r"\b(nan|inf)\b", line), line  # the loss really was not finite
    assert registry_files(home) == []
    status = json.loads((log / "run.json").read_text())
    assert status["status"] == "failed" and "exploding" in status["error"]


@pytest.mark.slow
def test_nan_loss_keeps_the_last_good_checkpoint(data, tmp_path):
    home, log = tmp_path / "home", tmp_path / "log"
    args = [data, "--name", "nan", "--log-dir", log, *TINY_ARGS, *EXPLODES]
    first = run_cli("train", *args, "--epochs", "1", "--quiet", home=home)
    assert first.returncode == 0, first.stderr
    ckpt = log / "checkpoint.safetensors"
    good = ckpt.read_bytes()
    assert checkpoint_meta(ckpt)["epoch"] == 1
    (home / "models" / "nan.safetensors").unlink()

    exploded = run_cli("train", *args, "--epochs", "3", "--resume", "--lr", "1", "--clip", "0", "--quiet",
                       home=home)
    assert_one_line_error(exploded, "exploding", "last good checkpoint")
    assert ckpt.read_bytes() == good, "the last good checkpoint was overwritten"
    assert not any(p.name.endswith(".tmp") for p in log.iterdir())
    assert registry_files(home) == []

    # the advice works: resume from the kept checkpoint with a sane learning rate
    again = run_cli("train", *args, "--epochs", "2", "--resume", "--lr", "1e-3", home=home)
    assert again.returncode == 0, again.stderr
    assert epochs_printed(again.stderr) == [2]
    assert [(e, s) for e, s, _ in metrics_rows(log)] == [(1, "train"), (1, "val"), (2, "train"), (2, "val")]
    assert np.isfinite([x for _, _, x in metrics_rows(log)]).all()
    assert registry_files(home) == ["nan.safetensors"]


def test_nan_in_the_validation_pass_is_a_training_error():
    """One step per epoch: the loss of that step is finite, the weights after it are not."""
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(8)]
    arrays, labels = [encode(s, DNA) for s in seqs], np.array([0, 1] * 4)
    model = SequenceClassifier(ModelConfig(4, 2, cell="rnn", activation="relu", hidden=8, conv=False,
                                           bidirectional=False).validate())
    cfg = TrainConfig(epochs=2, batch_size=64, lr=1e30, clip=None, device="cpu")
    with pytest.raises(TrainingError, match="exploding"):
        train(model, arrays, labels, arrays, labels, cfg)
