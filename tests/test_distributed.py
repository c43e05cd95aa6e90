"""Training under torchrun (bioseq.training.distributed): batch sharding by hand, and a 2-process CPU run
against a one-process run with the same seed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bioseq import runtime
from bioseq.training import distributed

ROOT = Path(__file__).resolve().parent.parent


def test_one_process_keeps_every_batch(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.shard([[0], [1], [2]]) == [[0], [1], [2]] and not runtime.active()


@pytest.mark.parametrize("rank, expected", [(0, [[0], [2]]), (1, [[1], [3]])])
def test_two_ranks_take_every_other_batch_and_as_many(monkeypatch, rank, expected):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", str(rank))
    assert distributed.shard([[0], [1], [2], [3], [4]]) == expected  # the fifth is left out on both
    assert distributed.shard([[0]]) == [[0]]  # fewer batches than ranks: each rank still steps once


def _train(tmp_path: Path, fasta: Path, procs: int) -> dict:
    home = tmp_path / f"home{procs}"
    env = {**os.environ, "BIOSEQ_HOME": str(home), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    args = ["train", str(fasta), "--device", "cpu", "--name", "m", "--epochs", "4", "--hidden", "8",
            "--conv-filters", "8", "--quiet"]
    if procs == 1:
        cmd = [sys.executable, "-m", "bioseq", *args]
    else:
        cmd = [shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun"),
               "--nproc-per-node", str(procs), "-m", "bioseq", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list((home / "models").iterdir())) == 1  # one model file, written by rank 0
    info = json.loads((home / "runs" / "m" / "run.json").read_text())
    return {**info, "metrics": pd.read_csv(home / "runs" / "m" / "metrics.csv")}


@pytest.mark.slow
def test_two_processes_reach_the_validation_loss_of_one(tmp_path):
    from bioseq.data.synthetic import motif_dna, write_fasta

    fasta = write_fasta(tmp_path / "motif.fa", motif_dna(300, length=60, seed=3))
    one, two = _train(tmp_path, fasta, 1), _train(tmp_path, fasta, 2)
    assert two["status"] == "done" and two["pid"]
    loss = [info["metrics"].query("split == 'val'")["loss"].min() for info in (one, two)]
    # 2 processes average two batches' gradients per step (half the steps per epoch): the same data and seed
    # end within 0.1 of the one-process validation loss
    assert abs(loss[0] - loss[1]) < 0.1, loss
