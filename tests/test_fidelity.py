"""The costs of a trial (bioseq.training.fidelity): Hyperband on epochs, the subsample rule, the bf16 rule, the
budget's clocks and the number of workers; and bioseq.model.precision.cpu_bf16."""

from __future__ import annotations

import time

import optuna
import pytest

from bioseq.model.precision import cpu_bf16
from bioseq.training import fidelity
from bioseq.training.fidelity import Clock, amp_check_wanted, bf16_keeps_accuracy, max_steps


def test_hyperband_prunes_a_trial_behind_its_bracket():
    """A hand-made objective: trials 0-11 report a flat curve at their own level; the bad ones are pruned."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), pruner=fidelity.pruner(9))

    def objective(trial):
        level = 10.0 if trial.number % 2 else 1.0 - trial.number / 100  # every other trial is far worse
        for epoch in range(1, 10):
            trial.report(level, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return level

    study.optimize(objective, n_trials=12)
    states = {t.number: t.state for t in study.trials}
    pruned = [n for n, s in states.items() if s == optuna.trial.TrialState.PRUNED]
    assert pruned and all(n % 2 for n in pruned)  # only bad trials pruned
    assert isinstance(study.pruner, optuna.pruners.HyperbandPruner)


@pytest.mark.parametrize("records, residues, batch, given, steps", [
    (100, 400_000, 32, None, None),  # small: every batch
    (10_000, 2_000_000, 32, None, 79),  # 200 residues a record: 500,000 / (200 * 32) = 78.1 -> 79 batches
    (10_000, 2_000_000, 64, None, 40),
    (10_000, 2_000_000, 32, 5, 5),  # --max-steps wins
])
def test_the_subsample_rule(records, residues, batch, given, steps):
    assert max_steps(records, residues, batch, given) == steps


@pytest.mark.parametrize("fp32, bf16, keep", [
    ({"val_loss": 0.30, "val_accuracy": 0.900}, {"val_loss": 0.31, "val_accuracy": 0.890}, True),  # 1 point: kept
    ({"val_loss": 0.30, "val_accuracy": 0.900}, {"val_loss": 0.31, "val_accuracy": 0.889}, False),
    ({"val_loss": 0.30, "val_accuracy": 0.900}, {"val_loss": 0.29, "val_accuracy": 0.950}, True),
    ({"val_loss": 0.30, "val_accuracy": 0.900}, {"val_loss": None, "val_accuracy": None}, False),  # pruned, failed
    ({"val_loss": 0.30, "val_accuracy": 0.900}, {"val_loss": float("inf"), "val_accuracy": 0.9}, False),
    ({"val_loss": 0.50, "val_accuracy": None}, {"val_loss": 0.51, "val_accuracy": None}, True),  # loss within 2%
    ({"val_loss": 0.50, "val_accuracy": None}, {"val_loss": 0.52, "val_accuracy": None}, False),
])
def test_the_bf16_rule(fp32, bf16, keep):
    assert bf16_keeps_accuracy(fp32, bf16) is keep


@pytest.mark.parametrize("amp, device, cuda, bf16_cpu, wanted", [
    ("auto", "cpu", False, True, True), ("auto", "auto", False, True, True),
    ("auto", "auto", True, True, False),  # the trials run on the GPU
    ("auto", "cpu", False, False, False),  # no native bf16 on this CPU
    ("off", "cpu", False, True, False), ("bf16", "cpu", False, True, False),  # given: used as given
])
def test_when_bf16_is_calibrated(amp, device, cuda, bf16_cpu, wanted):
    assert amp_check_wanted(amp, device, cuda, bf16_cpu) is wanted


def test_cpu_bf16_reads_the_cpu_flags(tmp_path):
    with_bf16 = tmp_path / "a"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n")
    without = tmp_path / "b"
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16x\n")
    assert cpu_bf16(str(with_bf16)) and not cpu_bf16(str(without)) and not cpu_bf16(str(tmp_path / "none"))


def test_the_budget_clocks():
    wall = Clock("wall", 10.0, time.time() + 10.0, jobs=2)
    assert 9.0 < wall.left() <= 10.0 and not wall.over()
    assert Clock("wall", 10.0, time.time() - 1, jobs=1).over()
    cpu = Clock("cpu", 0.2, time.time() + 1000, jobs=2)  # two workers: 0.1 CPU-second each
    assert cpu.cpu_seconds == 0.1
    while not cpu.over():  # spend CPU time, not wall time
        sum(range(10_000))
    assert cpu.used_cpu() >= 0.1 and cpu.left() == 0


def test_workers_and_threads(monkeypatch):
    monkeypatch.setattr(fidelity, "cores", lambda: 2)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert fidelity.jobs_for(None, gpu=False) == 2 and fidelity.jobs_for(None, gpu=True) == 1
    assert fidelity.jobs_for(3, gpu=False) == 3
    assert fidelity.threads_for(1) == 2 and fidelity.threads_for(2) == 1 and fidelity.threads_for(4) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert fidelity.threads_for(1) == 1
    monkeypatch.setattr(fidelity, "cores", lambda: 64)
    assert fidelity.jobs_for(None, gpu=False) == fidelity.MAX_AUTO_JOBS
