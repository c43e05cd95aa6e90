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


def test_train_takes_rank_timeout_as_predict_does_and_says_a_timeout_in_one_line(dna_fasta, tmp_path, tiny_args,
                                                                                 monkeypatch, capsys):
    """``bioseq train --rank-timeout`` is predict's option; it is the process group's timeout, and a process group
    that times out (PyTorch's DistStoreError, here raised at once) is one line naming the option, no model."""
    import datetime

    import torch.distributed as dist

    from bioseq.cli import main
    from bioseq.cli.commands import build_parser

    def help_of(command: str) -> str:
        text = build_parser((command,))._subparsers._group_actions[0].choices[command].format_help()
        return " ".join(text[text.rindex("--rank-timeout"):].split("\n\n")[0].split())

    assert help_of("train") == help_of("predict") and "(default 10)" in help_of("train")
    seen = []

    def timed_out(backend, timeout):
        seen.append((backend, timeout))
        raise dist.DistStoreError("Timed out after 30 seconds waiting for clients. 1/2 clients joined.")

    monkeypatch.setattr(dist, "init_process_group", timed_out)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    out = tmp_path / "m.safetensors"
    assert main(["train", str(dna_fasta), *tiny_args, "--epochs", "1", "--quiet", "--out", str(out),
                 "--rank-timeout", "0.5"]) == 2
    assert seen == [("gloo", datetime.timedelta(minutes=0.5))]
    assert capsys.readouterr().err == (
        "bioseq: error: the processes of this torchrun job did not all answer within 0.5 minutes (stopped, hung or "
        "killed?): training stopped, no model written (PyTorch: Timed out after 30 seconds waiting for clients. 1/2 "
        "clients joined.); --rank-timeout MINUTES sets how long to wait\n")
    assert not out.exists()


@pytest.mark.slow
def test_a_lone_rank_gives_up_after_rank_timeout(dna_fasta, tmp_path):
    """Rank 0 of 2 started alone (the other never comes): after --rank-timeout 0.05 minutes (3 s) it stops with
    one line, exit 2, instead of waiting PyTorch's 30 minutes."""
    from test_shards import free_port

    env = {**os.environ, "PYTHONPATH": str(ROOT), "RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port()), "OMP_NUM_THREADS": "1", "BIOSEQ_HOME": str(tmp_path / "home")}
    env.pop("TORCHELASTIC_USE_AGENT_STORE", None)
    done = subprocess.run([sys.executable, "-m", "bioseq", "train", str(dna_fasta), "--device", "cpu", "--epochs", "1",
                           "--out", str(tmp_path / "m.safetensors"), "--quiet", "--rank-timeout", "0.05"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.startswith("bioseq: error: the processes of this torchrun job did not all answer within 0.05 "
                                  "minutes") and done.stderr.count("\n") == 1
    assert not (tmp_path / "m.safetensors").exists()
