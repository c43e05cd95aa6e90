"""What one trial of ``bioseq tune`` costs, so that many fit a budget; each rule here is the one the README states.

* **Multi-fidelity** (:func:`pruner`): Optuna's Hyperband on epochs (from 1 epoch to ``--epochs``, reduction
  factor 3). Every trial reports its validation loss after each epoch; a trial behind the others of its bracket
  at a rung (1, 3, 9, ... epochs) is pruned. The calibration trials (the defaults and their bf16 twin) are
  never pruned.
* **Subsample** (:func:`max_steps`): where the training set holds more than :data:`TRIAL_EPOCH_RESIDUES`
  residues, an epoch of a trial is a random draw of about that many residues (``max_steps`` batches, another
  draw each epoch, the same draws for every trial); a given ``--max-steps`` wins.
* **bf16** (:func:`amp_check_wanted`, :func:`bf16_keeps_accuracy`): with ``--amp auto`` on a CPU that computes
  bfloat16 natively (:func:`bioseq.model.precision.cpu_bf16`), the defaults are trained twice, in float32
  (trial 0) and in bf16 (trial 1); the trials after them run in bf16 when its validation accuracy is at most
  :data:`AMP_TOLERANCE` below float32's (validation loss at most 2% above, for a model without an accuracy),
  else in float32. Until both are done, trials run in float32.
* **Budget** (:class:`Clock`): ``--budget`` is wall-clock time by default; ``--clock cpu`` makes it CPU time:
  each of N workers stops after ``budget / N`` seconds of its own process time, so the workers' CPU time adds up
  to the budget (plus the epoch that was running).
* **Workers** (:func:`jobs_for`): ``--jobs`` worker processes share the study; by default one per CPU core (at
  most :data:`MAX_AUTO_JOBS`) with one thread each, 1 on a GPU.
"""

from __future__ import annotations

import math
import os
import time

TRIAL_EPOCH_RESIDUES = 500_000
REDUCTION_FACTOR = 3
AMP_TOLERANCE = 0.01  # accuracy points (as a fraction) that bf16 may lose against float32 on validation
LOSS_TOLERANCE = 1.02
MAX_AUTO_JOBS = 8


def pruner(epochs: int):
    """Hyperband on epochs: brackets of minimum resource 1, 3, 9, ... epochs up to ``epochs``."""
    import optuna

    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(int(epochs), 1),
                                          reduction_factor=REDUCTION_FACTOR)


def max_steps(records: int, residues: int, batch_size: int, given: int | None) -> int | None:
    """Optimiser steps per epoch of a trial: ``given`` when set, else enough batches of ``batch_size`` for
    about :data:`TRIAL_EPOCH_RESIDUES` residues where the data hold more, else ``None`` (every batch)."""
    if given is not None or residues <= TRIAL_EPOCH_RESIDUES or records == 0:
        return given
    per_record = residues / records
    return max(1, math.ceil(TRIAL_EPOCH_RESIDUES / (per_record * batch_size)))


def amp_check_wanted(amp: str, device: str, cuda: bool, bf16_cpu: bool) -> bool:
    """Whether a search calibrates bf16: ``--amp auto``, trials on the CPU (``cpu``, or ``auto`` without a CUDA
    GPU) and a CPU with native bf16. A given ``--amp`` is used as given."""
    on_cpu = device == "cpu" or (device == "auto" and not cuda)
    return amp == "auto" and on_cpu and bf16_cpu


def bf16_keeps_accuracy(fp32: dict, bf16: dict) -> bool:
    """The rule above, on the two calibration trials' ``val_accuracy`` and ``val_loss``."""
    loss32, loss16 = fp32.get("val_loss"), bf16.get("val_loss")
    if loss16 is None or not math.isfinite(loss16) or loss32 is None:
        return False
    acc32, acc16 = fp32.get("val_accuracy"), bf16.get("val_accuracy")
    if acc32 is not None and acc16 is not None:
        return acc16 >= acc32 - AMP_TOLERANCE
    return loss16 <= loss32 * LOSS_TOLERANCE


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def jobs_for(jobs: int | None, gpu: bool) -> int:
    """``--jobs``, or its default: 1 on a GPU, else one per core up to :data:`MAX_AUTO_JOBS`."""
    if jobs is not None:
        return jobs
    return 1 if gpu else max(1, min(cores(), MAX_AUTO_JOBS))


def threads_for(jobs: int) -> int:
    """Threads per worker: the cores shared out (at least one), never more than ``OMP_NUM_THREADS`` asks."""
    share = max(1, cores() // jobs)
    asked = os.environ.get("OMP_NUM_THREADS", "")
    return min(share, int(asked)) if asked.isdigit() and int(asked) > 0 else share


class Clock:
    """A worker's budget: wall-clock until ``deadline`` (``time.time()``), or ``cpu_seconds`` of this process's
    CPU time from when it was made."""

    def __init__(self, clock: str, budget_s: float, deadline: float, jobs: int):
        self.clock, self.deadline = clock, deadline
        self.cpu_seconds = budget_s / max(jobs, 1)
        self.cpu0 = time.process_time()

    def used_cpu(self) -> float:
        return time.process_time() - self.cpu0

    def left(self) -> float:
        if self.clock == "cpu":
            return max(0.0, self.cpu_seconds - self.used_cpu())
        return max(0.0, self.deadline - time.time())

    def over(self) -> bool:
        return self.left() <= 0
