"""Runs that share the CPU cores (bioseq.training.crowding): live runs counted against the cores."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bioseq.training import crowding
from bioseq.training.runs import RunFolder


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
    assert crowding.crowding(cores=1) is None  # nothing trains
    _dead("gone")
    RunFolder.named("over").start("over", "cli")
    RunFolder.named("over").update(status="done")
    assert crowding.crowding(cores=1) is None  # neither an interrupted run nor a finished one counts
    _live("a")
    crowd = crowding.crowding(cores=1)
    assert crowd == crowding.Crowding(("a",), cores=1, threads=1) and crowd.slowdown == 2.0
    assert crowd.text() == ("1 other run is training in this workspace (a); with this one, 2 runs of 1 thread "
                            "share 1 CPU core, so each trains about 2.0× slower. Wait for it to finish, or stop it, "
                            "to train at full speed")
    assert crowding.crowding(cores=2) is None  # two one-thread runs fit two cores
    assert crowding.crowding(exclude="a", cores=1) is None  # a run is not crowded by itself
    _live("b")
    assert crowding.crowding(cores=2).text("a new run").startswith(
        "2 other runs are training in this workspace (a, b); with a new run, 3 runs of 1 thread share 2 CPU cores, "
        "so each trains about 1.5× slower. Wait for them to finish, or stop one")
    monkeypatch.delenv("OMP_NUM_THREADS")  # PyTorch's default: a run computes on every core
    assert crowding.crowding(exclude="b", cores=4) == crowding.Crowding(("a",), cores=4, threads=4)


@pytest.mark.parametrize("value, threads", [("2", 2), ("16", 4), ("0", 4), ("x", 4)])
def test_threads_per_run(monkeypatch, value, threads):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert crowding.threads_per_run(4) == threads
