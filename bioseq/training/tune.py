"""Search the model and training options with Optuna: ``bioseq tune`` and the Train page's Tune panel.

A **study** lives in its own folder, ``$BIOSEQ_HOME/runs/<name>/`` (or ``--log-dir``):

* ``study.db``: Optuna's SQLite storage (trials, parameters, values, per-epoch values): ``--resume`` continues it;
* ``tune.json``: the study's options (data, budget, seed, search space) and status, for the dashboard;
* ``trial-<n>/``: each trial's ordinary run folder (:mod:`bioseq.training.runs`) and its model file
  ``trial-<n>/model.safetensors``.

Sampler: TPE seeded with the study's seed. Pruner: median pruning on the per-epoch **validation loss**
(after two epochs and three complete trials). The objective is the best validation loss of a trial, so
selection uses validation data only (a test file is never read). The first trial of a new study is
the defaults, so the best trial is never worse on validation than the defaults. A trial that would run
past the budget is stopped early and keeps its best epoch (``stopped_by_budget``). After every trial,
the best trial's model file is copied to the registry as ``<name>`` with the trial history in its
model card (``meta["tuning"]``): stopping a search keeps the best model found so far.

The search space (:data:`SPACE`, README "Tuning") leaves out what the Task says does not apply (a labeller's read-out).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..data.fingerprint import data_files, differences, fingerprint
from ..data.source import DataOptions
from ..errors import InputError, TrainingError, ref
from ..model.config import ModelConfig
from ..model.store import combine, load_model, model_path, save_model
from ..options import alphabet_defaults
from ..outputs import check_output
from ..task import task_of
from ..workspace import check_name, runs_dir
from .claims import Claim, claim
from .config import TrainConfig
from .runs import checked_status, write_status
from .search import (  # noqa: F401 - the search space and the search's options, importable from here as before
    ENSEMBLE,
    PRUNE_AFTER_EPOCHS,
    PRUNE_AFTER_TRIALS,
    SEARCH_OPTIONS,
    SPACE,
    TRAIN_PARAMS,
    TRIALS,
    check_inputs,
    parse_budget,
    space_for,
)

IMPORTANCE_TRIALS = 5  # complete trials before the parameter importances are worth showing


def data_alphabet(data: DataOptions, task: str = "classify") -> str:
    """The alphabet of the training data: ``--alphabet``, or detected from the records."""
    from .fit import loader

    if data.alphabet:
        return data.alphabet
    return loader(data, task_of(task).per_position)(data, 0)[0].alphabet.name


def default_params(data: DataOptions, train_cfg: TrainConfig, task: str = "classify", alphabet: str | None = None
                   ) -> dict:
    """The defaults as a point of :data:`SPACE` (the alphabet's model defaults and ``train_cfg``)."""
    alphabet = alphabet or data_alphabet(data, task)
    model = {f: getattr(ModelConfig, f, None) for f in space_for(alphabet) if f not in TRAIN_PARAMS}
    model.update({k: v for k, v in alphabet_defaults(alphabet, task).items() if k in model})
    params = {**model, **{k: getattr(train_cfg, k) for k in TRAIN_PARAMS}}
    return {k: v for k, v in params.items() if k not in task_of(task).fixed}


def suggest(trial, task: str = "classify", alphabet: str | None = "dna") -> tuple[dict, dict]:
    """The trial's ``(model_options, train_options)`` drawn from :data:`SPACE` (:func:`space_for` the alphabet)."""
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
class TuneResult:
    name: str
    folder: Path
    model_path: Path | None
    best_value: float | None
    best_params: dict = field(default_factory=dict)
    trials: list[dict] = field(default_factory=list)
    seconds: float = 0.0


class StudyFolder:
    """The files of one study (see the module docstring)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.db = self.path / "study.db"
        self.info_path = self.path / "tune.json"

    @classmethod
    def named(cls, name: str) -> StudyFolder:
        return cls(runs_dir() / check_name(name))

    @property
    def storage(self) -> str:
        return f"sqlite:///{self.db.resolve()}"

    def trial_dir(self, number: int) -> Path:
        return self.path / f"trial-{number}"

    def info(self) -> dict:
        try:
            return json.loads(self.info_path.read_text())
        except (OSError, ValueError):
            return {}

    def update(self, **info) -> None:
        """Merge ``info`` into ``tune.json``, atomically (the run folder's writer)."""
        write_status(self.info_path, {**self.info(), **info})

    def study(self, name: str, seed: int, create: bool):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=seed)
        pruner = optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER_TRIALS,
                                             n_warmup_steps=PRUNE_AFTER_EPOCHS)
        if create:  # made under another name and renamed, so a reader never sees a half-made schema
            tmp = self.db.with_name("study.db.creating")
            tmp.unlink(missing_ok=True)
            storage = optuna.storages.RDBStorage(f"sqlite:///{tmp.resolve()}")
            optuna.create_study(storage=storage, study_name=name, direction="minimize")
            storage.engine.dispose()
            os.replace(tmp, self.db)
        return optuna.load_study(storage=self.storage, study_name=name, sampler=sampler, pruner=pruner)


def trials_table(study) -> list[dict]:
    """One dict per trial: number, state, value (best validation loss), seconds, accuracy and params."""
    rows = []
    for t in study.trials:
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        rows.append({"trial": t.number, "state": t.state.name.lower(), "val_loss": t.value,
                     "val_accuracy": t.user_attrs.get("val_accuracy"), "epochs": len(t.intermediate_values),
                     "stopped_by_budget": bool(t.user_attrs.get("stopped_by_budget")),
                     "seconds": seconds, **t.params})
    return rows


def best_trial(rows: list[dict]) -> dict | None:
    """The complete trial of a trials table with the lowest validation loss (``None`` if none is complete)."""
    done = [r for r in rows if r["state"] == "complete"]
    return min(done, key=lambda r: r["val_loss"]) if done else None


def chosen_options(row: dict) -> dict:
    """The searched options of a trials-table row, in :data:`SPACE` order."""
    return {k: row[k] for k in SPACE if row.get(k) is not None and row.get(k) == row.get(k)}


def tune(data: DataOptions, name: str | None = None, budget: float | str = "10m", *, seed: int = 0,
         resume: bool = False, max_trials: int | None = None, train_cfg: TrainConfig | None = None,
         model_options: dict | None = None, log_dir: str | os.PathLike | None = None,
         callback: Callable[[TuneProgress], None] | None = None,
         should_stop: Callable[[], bool] | None = None, ensemble: int = 1, claimed: Claim | None = None,
         out: str | os.PathLike | None = None, cv: int | None = None) -> TuneResult:
    """Run (or with ``resume`` continue) the study ``name`` for ``budget``; save its best model as ``name``
    (or to the file ``out``, the study then named after it).

    ``model_options`` fix options the search leaves alone (e.g. ``task``); ``train_cfg`` gives the
    per-trial epochs, patience and the rest of the training options (its ``lr``, ``batch_size`` and
    ``weight_decay`` are the first trial's). With ``ensemble`` k > 1 the saved model is the ensemble of the
    k best complete trials (probabilities averaged); ``cv`` K scores each trial by K-fold CV (:func:`.cv.cv_trial`).
    The name is claimed as a run's is (:mod:`bioseq.training.claims`; ``claimed``: a claim the caller holds); a
    resumed study must be on the same data (files, record options and seed) and task.
    """
    from .fit import detect_task

    budget_s = parse_budget(budget)
    base = check_inputs(data, train_cfg or TrainConfig(), max_trials, ensemble, cv)
    fixed = dict(model_options or {})
    task = fixed["task"] = detect_task(data, fixed.get("task")).name
    if out is not None and name is None:
        name = Path(out).name.removesuffix(".safetensors")
    name = check_name(name or f"tune-{time.strftime('%Y%m%d-%H%M%S')}")
    folder = StudyFolder(log_dir) if log_dir else StudyFolder.named(name)
    if out is not None:
        out = check_output(out, data.inputs())
    else:
        out = model_path(name) if log_dir is None else folder.path / f"{name}.safetensors"
    held = claimed or claim(name, folder.path, out, resume=resume, resume_from=folder.db, kind="study")
    try:
        return _search(data, name, folder, out, budget_s, base, fixed, task, seed, resume, max_trials, callback,
                       should_stop, ensemble, cv)
    finally:
        held.release()


def _search(data: DataOptions, name: str, folder: StudyFolder, out: Path, budget_s: float, base: TrainConfig,
            fixed: dict, task: str, seed: int, resume: bool, max_trials: int | None, callback, should_stop,
            ensemble: int, cv: int | None = None) -> TuneResult:
    """:func:`tune` once the study's name is claimed."""
    import optuna

    from .cv import cv_trial
    from .fit import fit

    print_ = fingerprint(data, data_files(data), seed)
    if resume:
        _check_same_data(folder, name, print_, task)
    study = folder.study(name, seed, create=not resume)
    alphabet = data_alphabet(data, task)
    if not resume:
        study.enqueue_trial(default_params(data, base, task, alphabet))  # trial 0: the defaults
    folder.update(name=name, status="running", pid=os.getpid(), seed=seed, budget=budget_s,
                  data=asdict(data), space={k: list(v[1]) for k, v in space_for(alphabet).items()}, task=task,
                  fingerprint=print_, cv=cv, started=folder.info().get("started") or time.strftime("%Y-%m-%dT%H:%M:%S"))
    t0 = time.monotonic()
    deadline = t0 + budget_s

    def stop_now() -> bool:
        return time.monotonic() >= deadline or bool(should_stop and should_stop())

    def report(trial: int, epoch: int = 0, epochs: int = 0) -> None:
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        best = min(done, key=lambda t: t.value) if done else None
        p = TuneProgress(trial, len(done), best.value if best else None, best.number if best else None,
                         time.monotonic() - t0, budget_s, epoch, epochs)
        folder.update(progress={**asdict(p), "text": p.text()})
        if callback:
            callback(p)

    def objective(trial) -> float:
        model_opts, train_opts = suggest(trial, task, alphabet)
        pruned, reported = [], set()

        def on_progress(p) -> None:
            if p.phase != "epoch":
                return
            val = [r["loss"] for r in p.history if r.get("split") == "val" and r.get("epoch") == p.epoch]
            if val and math.isfinite(val[0]) and p.epoch not in reported:  # with --seeds, the first member's
                reported.add(p.epoch)
                trial.report(val[0], p.epoch)
                if trial.should_prune():
                    pruned.append(p.epoch)
            report(trial.number, p.epoch, p.epochs)

        where = folder.trial_dir(trial.number)
        cfg = replace(base, seed=seed, **train_opts)
        if cv:  # scored by cross-validation: no per-epoch pruning (K folds report the same epochs)
            return cv_trial(trial, data, {**model_opts, **fixed}, cfg, cv, where, f"{name}-t{trial.number}", stop_now,
                            lambda p: p.phase == "epoch" and report(trial.number, p.epoch, p.epochs))
        result = fit(data, {**model_opts, **fixed}, cfg, out=where / "model.safetensors",
                     name=f"{name}-t{trial.number}", log_dir=where, callback=on_progress,
                     should_stop=lambda: bool(pruned) or stop_now(), launcher="tune")
        val = [r["loss"] for r in result.result.history if r.get("split") == "val"]
        value = min((v for v in val if math.isfinite(v)), default=math.inf)
        trial.set_user_attr("val_accuracy", result.result.val_metrics.get("accuracy"))
        trial.set_user_attr("model_options", result.bundle.model.cfg.to_dict())
        trial.set_user_attr("stopped_by_budget", result.result.interrupted and not pruned)
        if pruned:
            raise optuna.TrialPruned(f"validation loss behind the median at epoch {pruned[0]}")
        return value

    def after_trial(study, trial) -> None:
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if complete:  # the best so far, its card with the whole history up to now
            _keep_best(folder, study, min(complete, key=lambda t: t.value), out, name)
        folder.update(trials=len(study.trials), best_value=study.best_value if complete else None)
        report(trial.number + 1)
        if stop_now() or (max_trials is not None and _finished(study) >= max_trials):
            study.stop()

    try:
        study.optimize(objective, n_trials=None if max_trials is None else max(0, max_trials - _finished(study)),
                       timeout=budget_s, callbacks=[after_trial], catch=(TrainingError,))
    except BaseException as e:
        folder.update(status="failed", error=str(e))
        raise
    rows = trials_table(study)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = min(complete, key=lambda t: t.value) if complete else None
    if ensemble > 1 and len(complete) > 1:
        _keep_ensemble(folder, study, sorted(complete, key=lambda t: t.value)[:ensemble], out, name)
    folder.update(status="done", finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                  best_value=best.value if best else None, best_trial=best.number if best else None,
                  model_path=str(out) if best else None)
    return TuneResult(name, folder.path, out if best else None, best.value if best else None,
                      best.params if best else {}, rows, time.monotonic() - t0)


def _check_same_data(folder: StudyFolder, name: str, print_: dict, task: str) -> None:
    """Refuse to continue a study on other data than its own (its trials would mix two datasets)."""
    info = folder.info()
    diffs = differences(info["fingerprint"], print_) if "fingerprint" in info else []
    if info.get("task", task) != task:
        diffs.append(f"{ref('task', task)} (it used {info['task']})")
    if diffs:
        raise InputError(f"cannot resume the study {name!r} on other data: {'; '.join(diffs[:3])}; resume with the "
                         "study's data, or start a new study with another --name", str(folder.path))


def _finished(study) -> int:
    return sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))


def _keep_best(folder: StudyFolder, study, trial, out: Path, name: str) -> None:
    """Copy the best trial's model to ``out`` as model ``name``, its card holding the trial history."""
    bundle = load_model(folder.trial_dir(trial.number) / "model.safetensors")
    bundle.meta = {**bundle.meta, "name": name, "tuning": {
        "study": str(folder.db.resolve()), "best_trial": trial.number, "best_val_loss": trial.value,
        "params": trial.params, "trials": trials_table(study), "seed": folder.info().get("seed"),
    }}
    save_model(out, bundle)


def _keep_ensemble(folder: StudyFolder, study, trials: list, out: Path, name: str) -> None:
    """Save the ensemble of ``trials`` (best first) to ``out`` as model ``name``."""
    bundle = combine([load_model(folder.trial_dir(t.number) / "model.safetensors") for t in trials],
                     origin=f"top {len(trials)} trials of study {name}")
    bundle.meta = {**bundle.meta, "name": name, "tuning": {
        "study": str(folder.db.resolve()), "members": [t.number for t in trials],
        "best_val_loss": trials[0].value, "trials": trials_table(study), "seed": folder.info().get("seed")}}
    save_model(out, bundle)


def read_study(name: str) -> tuple[dict, list[dict]]:
    """``(tune.json, trials table)`` of a study in the workspace, for the dashboard; a study whose process
    died while it searched reads as ``interrupted``."""
    folder = StudyFolder.named(name)
    info = checked_status(folder.info())  # interrupted: its process died while it searched
    if not folder.db.exists():
        return info, []
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return info, trials_table(optuna.load_study(storage=folder.storage, study_name=info.get("name", name)))
    except KeyError:  # the database is there but the study is still being created
        return info, []


def importances(name: str) -> dict[str, float]:
    """Optuna's parameter importances (fANOVA) of a study; empty with fewer than :data:`IMPORTANCE_TRIALS`
    complete trials (on fewer, the forest's numbers are noise)."""
    import optuna

    folder = StudyFolder.named(name)
    try:
        study = optuna.load_study(storage=folder.storage, study_name=folder.info().get("name", name))
    except KeyError:
        return {}
    if sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) < IMPORTANCE_TRIALS:
        return {}
    try:
        return dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError):
        return {}


def list_studies() -> list[str]:
    """Studies in the workspace (folders with a ``study.db``), newest first."""
    folder = runs_dir()
    found = [d for d in folder.iterdir() if (d / "study.db").is_file()] if folder.is_dir() else []
    return [d.name for d in sorted(found, key=lambda d: d.stat().st_mtime, reverse=True)]
