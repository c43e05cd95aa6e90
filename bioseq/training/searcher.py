"""One worker of a ``bioseq tune`` search (:mod:`bioseq.training.tune`): it takes trials from the shared study
(the enqueued ones first), trains each with :func:`bioseq.training.fit.fit`, reports the validation loss after
every epoch to the pruner and stops at its quota of trials, the budget or a stop. ``--jobs N`` runs N of these,
worker 0 in the calling process and the others in spawned processes (:func:`run_worker`), all on the study's
SQLite database; trial costs and the bf16 rule are :mod:`bioseq.training.fidelity`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..data.source import DataOptions
from ..errors import TrainingError
from ..task import task_of
from .config import TrainConfig
from .fidelity import Clock, bf16_keeps_accuracy, max_steps, pruner
from .search import TRAIN_PARAMS, space_for
from .study import StudyFolder, complete_trials, keep_best

FP32_ROLE, BF16_ROLE = "defaults", "amp check"  # the two calibration trials: never pruned


def suggest(trial, task: str = "classify", alphabet: str | None = "dna") -> tuple[dict, dict]:
    """The trial's ``(model_options, train_options)`` drawn from the search space of the data's alphabet
    (:func:`~bioseq.training.search.space_for`)."""
    chosen = {}
    for name, (kind, values, *log) in space_for(alphabet).items():
        if name in task_of(task).fixed:
            continue
        if kind == "cat":
            chosen[name] = trial.suggest_categorical(name, list(values))
        elif kind == "int":
            chosen[name] = trial.suggest_int(name, *values, log=bool(log and log[0]))
        else:
            chosen[name] = trial.suggest_float(name, *values, log=bool(log and log[0]))
    train = {k: chosen.pop(k) for k in TRAIN_PARAMS}
    return chosen, train


@dataclass
class TuneProgress:
    """What the callback receives after each trial and each epoch of a trial."""

    trial: int
    trials_done: int
    best_value: float | None
    best_trial: int | None
    elapsed: float
    budget: float
    epoch: int = 0
    epochs: int = 0

    @property
    def left(self) -> float:
        return max(0.0, self.budget - self.elapsed)

    def text(self) -> str:
        best = f"best val loss {self.best_value:.4f} (trial {self.best_trial})" if self.best_value is not None \
            else "no trial finished yet"
        epoch = f", epoch {self.epoch}/{self.epochs}" if self.epoch else ""
        return (f"trial {self.trial}{epoch} · {self.trials_done} done · {best} · "
                f"{_clock(self.left)} left")


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s"


@dataclass
class Searcher:
    """Everything a worker needs, picklable (it crosses to spawned worker processes)."""

    data: DataOptions
    name: str
    folder: str
    out: str
    base: TrainConfig
    fixed: dict
    task: str
    seed: int
    budget_s: float
    clock: str
    deadline: float  # time.time() at which a wall-clock budget ends
    jobs: int = 1
    threads: int = 1
    records: int = 0
    residues: int = 0
    calibrate: bool = False  # decide bf16 on the two calibration trials (fidelity's rule)
    cv: int | None = None  # tune --cv K: each trial scored by K-fold cross-validation (bioseq.training.cv)
    alphabet: str = "dna"  # the training data's: which encodings and strands are searched (search.space_for)

    def open(self, worker: int = 0, create: bool = False):
        """The shared study; each worker's sampler seeded apart (``seed + 1000 * worker``)."""
        return StudyFolder(self.folder).study(self.name, self.seed + 1000 * worker, create,
                                              pruner=pruner(self.base.epochs), constant_liar=self.jobs > 1)

    def run(self, worker: int = 0, quota: int | None = None, callback: Callable | None = None,
            should_stop: Callable[[], bool] | None = None) -> None:
        """Run trials until ``quota`` (``None``: no limit), the budget, ``should_stop`` or another worker's stop."""
        folder, study, budget = StudyFolder(self.folder), self.open(worker), Clock(self.clock, self.budget_s,
                                                                                     self.deadline, self.jobs)

        def stop_now() -> bool:
            if should_stop is not None and should_stop():
                folder.stop_path.touch()  # the other workers stop too
            return budget.over() or folder.stop_path.exists()

        def report(trial: int, epoch: int = 0, epochs: int = 0) -> None:
            done = complete_trials(study)
            left = budget.left() * (self.jobs if self.clock == "cpu" else 1)
            p = TuneProgress(trial, len(done), done[0].value if done else None, done[0].number if done else None,
                             self.budget_s - left, self.budget_s, epoch, epochs)
            folder.update(progress={**asdict(p), "text": p.text()})
            if callback:
                callback(p)

        def after_trial(study, trial) -> None:
            done = complete_trials(study)
            if done:  # the best so far, its card with the whole history up to now
                keep_best(folder, study, done[0], Path(self.out), self.name)
            if self.calibrate and "amp" not in study.user_attrs:
                self._decide_amp(study)
            started = sum(t.state.name != "WAITING" for t in study.trials)
            folder.update(trials=started, best_value=done[0].value if done else None)
            report(trial.number + 1)
            if stop_now():
                study.stop()

        if quota == 0 or (worker > 0 and stop_now()):  # worker 0 starts one trial, however short the budget
            return
        study.optimize(lambda t: self.objective(t, study, stop_now, report, worker), n_trials=quota,
                       timeout=self.budget_s if self.clock == "wall" else None, callbacks=[after_trial],
                       catch=(TrainingError,))

    def amp_of(self, trial, study) -> str:
        """The precision a trial trains in (fidelity's bf16 rule)."""
        role = trial.user_attrs.get("role")
        if not self.calibrate:
            return self.base.amp
        if role in (FP32_ROLE, BF16_ROLE):
            return "bf16" if role == BF16_ROLE else "off"
        return study.user_attrs.get("amp", "off")

    def _decide_amp(self, study) -> None:
        import optuna

        by_role = {t.user_attrs.get("role"): t for t in study.get_trials(deepcopy=False)}
        pair = [by_role.get(FP32_ROLE), by_role.get(BF16_ROLE)]
        if any(t is None or not t.state.is_finished() for t in pair):
            return
        row = [{"val_loss": t.value if t.state == optuna.trial.TrialState.COMPLETE else None,
                "val_accuracy": t.user_attrs.get("val_accuracy")} for t in pair]
        keep = bf16_keeps_accuracy(*row)
        study.set_user_attr("amp", "bf16" if keep else "off")
        study.set_user_attr("amp_rule", {"float32": row[0], "bf16": row[1], "chosen": "bf16" if keep else "off"})
        StudyFolder(self.folder).update(amp={"float32": row[0], "bf16": row[1], "chosen": "bf16" if keep else "off"})

    def objective(self, trial, study, stop_now, report, worker: int = 0) -> float:
        import optuna

        from .fit import fit

        model_opts, train_opts = suggest(trial, self.task, self.alphabet)
        amp = self.amp_of(trial, study)
        steps = max_steps(self.records, self.residues, train_opts["batch_size"], self.base.max_steps)
        prunable = trial.user_attrs.get("role") not in (FP32_ROLE, BF16_ROLE)
        pruned, reported = [], set()

        def on_progress(p) -> None:
            if p.phase != "epoch":
                return
            val = [r["loss"] for r in p.history if r.get("split") == "val" and r.get("epoch") == p.epoch]
            if val and math.isfinite(val[0]) and p.epoch not in reported:  # with --seeds, the first member's
                reported.add(p.epoch)
                trial.report(val[0], p.epoch)
                if prunable and trial.should_prune():
                    pruned.append(p.epoch)
            report(trial.number, p.epoch, p.epochs)

        folder = StudyFolder(self.folder)
        where = folder.trial_dir(trial.number)
        cfg = replace(self.base, seed=self.seed, amp=amp, max_steps=steps, **train_opts)
        trial.set_user_attr("amp", amp)
        trial.set_user_attr("worker", worker)
        if self.cv:  # scored by cross-validation: no per-epoch pruning (K folds report the same epochs)
            from .cv import cv_trial

            return cv_trial(trial, self.data, {**model_opts, **self.fixed}, cfg, self.cv, where,
                            f"{self.name}-t{trial.number}", stop_now,
                            lambda p: p.phase == "epoch" and report(trial.number, p.epoch, p.epochs))
        trial.set_user_attr("max_steps", steps)
        result = fit(self.data, {**model_opts, **self.fixed}, cfg, out=where / "model.safetensors",
                     name=f"{self.name}-t{trial.number}", log_dir=where, callback=on_progress,
                     should_stop=lambda: bool(pruned) or stop_now(), launcher="tune")
        val = [r["loss"] for r in result.result.history if r.get("split") == "val"]
        value = min((v for v in val if math.isfinite(v)), default=math.inf)
        trial.set_user_attr("val_accuracy", result.result.val_metrics.get("accuracy"))
        trial.set_user_attr("model_options", result.bundle.model.cfg.to_dict())
        trial.set_user_attr("stopped_by_budget", result.result.interrupted and not pruned)
        if pruned:
            raise optuna.TrialPruned(f"validation loss behind its bracket at epoch {pruned[0]}")
        return value


def run_worker(searcher: Searcher, worker: int, quota: int | None) -> None:
    """A spawned worker process: ``searcher.threads`` threads, its trials, and any error in ``tune.json``."""
    import torch

    torch.set_num_threads(searcher.threads)
    try:
        searcher.run(worker, quota)
    except BaseException as e:  # noqa: BLE001 - said once by the calling process, never as a traceback here
        StudyFolder(searcher.folder).update(**{f"worker_{worker}_error": str(e) or type(e).__name__})
        raise SystemExit(1) from None
