"""Runs that share the CPU cores: how many of the workspace's runs train now, against the cores a new run would
share with them (the Train page's warning and ``bioseq train``'s note)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .runs import list_runs


def cpu_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system says, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_per_run(cores: int) -> int:
    """The threads one training run computes with: ``OMP_NUM_THREADS`` when set, else PyTorch's default (the
    cores; counted as all of them)."""
    try:
        n = int(os.environ.get("OMP_NUM_THREADS") or 0)
    except ValueError:
        n = 0
    return max(1, min(cores, n)) if n > 0 else cores


@dataclass(frozen=True)
class Crowding:
    """Runs training now in the workspace that a new run would share the CPU cores with."""

    live: tuple[str, ...]  # the other runs' names
    cores: int
    threads: int  # per run

    @property
    def slowdown(self) -> float:
        """About how many times slower each run trains than alone (threads wanted over cores)."""
        return (len(self.live) + 1) * self.threads / self.cores

    def text(self, new: str = "this one") -> str:
        n = len(self.live)
        many = n > 1
        return (f"{n} other run{'s' if many else ''} {'are' if many else 'is'} training in this workspace "
                f"({', '.join(self.live)}); with {new}, {n + 1} runs of {self.threads} "
                f"thread{'s' if self.threads > 1 else ''} share {self.cores} CPU core{'s' if self.cores > 1 else ''}, "
                f"so each trains about {self.slowdown:.1f}× slower. Wait for {'them' if many else 'it'} to finish, "
                f"or stop {'one' if many else 'it'}, to train at full speed")


def crowding(exclude: str | None = None, cores: int | None = None) -> Crowding | None:
    """The workspace's runs training now (``running`` with a live process, whoever started them; less
    ``exclude``), when they and one more run would want more threads than ``cores`` (default: this machine's);
    None when a new run has the cores it needs."""
    cores = cores or cpu_cores()
    threads = threads_per_run(cores)
    table = list_runs()
    live = tuple(n for n, status in zip(table["name"], table["status"]) if status == "running" and n != exclude)
    if not live or (len(live) + 1) * threads <= cores:
        return None
    return Crowding(live, cores, threads)
