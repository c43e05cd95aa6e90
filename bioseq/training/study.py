"""The files of a ``bioseq tune`` study and what reads them (the dashboard, the CLI's summary): the folder
(:class:`StudyFolder`: ``study.db``, ``tune.json``, ``trial-<n>/``, see :mod:`bioseq.training.tune`), the trials
table, the best trial's model copied to the registry, and the study readers (:func:`read_study`,
:func:`importances`, :func:`list_studies`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..model.store import load_model, save_model
from ..workspace import check_name, runs_dir
from .runs import checked_status, write_status
from .search import SPACE

IMPORTANCE_TRIALS = 5  # complete trials before the parameter importances are worth showing
SQLITE_WAIT_S = 60  # how long a worker waits for another worker's write to the study database


class StudyFolder:
    """The files of one study (see the module docstring)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.db = self.path / "study.db"
        self.info_path = self.path / "tune.json"
        self.stop_path = self.path / "stop"

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

    def study(self, name: str, seed: int, create: bool, *, pruner=None, constant_liar: bool = False):
        """The study in ``study.db`` (made first with ``create``), seeded TPE, ``pruner`` (none: never prunes);
        several worker processes may open it at once (each waits up to :data:`SQLITE_WAIT_S` for a write)."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=constant_liar)
        if create:  # made under another name and renamed, so a reader never sees a half-made schema
            tmp = self.db.with_name("study.db.creating")
            tmp.unlink(missing_ok=True)
            storage = optuna.storages.RDBStorage(f"sqlite:///{tmp.resolve()}")
            optuna.create_study(storage=storage, study_name=name, direction="minimize")
            storage.engine.dispose()
            os.replace(tmp, self.db)
        storage = optuna.storages.RDBStorage(self.storage,
                                             engine_kwargs={"connect_args": {"timeout": SQLITE_WAIT_S}})
        return optuna.load_study(storage=storage, study_name=name, sampler=sampler,
                                 pruner=pruner or optuna.pruners.NopPruner())


def trials_table(study) -> list[dict]:
    """One dict per trial: number, state, value (best validation loss), seconds, accuracy, the precision it
    trained in, its role (``defaults``, ``portfolio``, ``amp check`` or none) and params; enqueued trials not
    started yet (the rest of the portfolio: a resumed study runs them first) are left out."""
    rows = []
    for t in study.trials:
        if t.state.name == "WAITING":
            continue
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        rows.append({"trial": t.number, "state": t.state.name.lower(), "val_loss": t.value,
                     "val_accuracy": t.user_attrs.get("val_accuracy"), "epochs": len(t.intermediate_values),
                     "stopped_by_budget": bool(t.user_attrs.get("stopped_by_budget")),
                     "seconds": seconds, "amp": t.user_attrs.get("amp"), "role": t.user_attrs.get("role"),
                     "worker": t.user_attrs.get("worker"),
                     **t.params})
    return rows


def best_trial(rows: list[dict]) -> dict | None:
    """The complete trial of a trials table with the lowest validation loss (``None`` if none is complete)."""
    done = [r for r in rows if r["state"] == "complete"]
    return min(done, key=lambda r: r["val_loss"]) if done else None


def chosen_options(row: dict) -> dict:
    """The searched options of a trials-table row, in :data:`SPACE` order."""
    return {k: row[k] for k in SPACE if row.get(k) is not None and row.get(k) == row.get(k)}


def complete_trials(study) -> list:
    """The study's complete trials with a finite validation loss (a trial stopped before its first epoch has
    none), best (lowest) first."""
    import optuna

    done = [t for t in study.get_trials(deepcopy=False)
            if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)]
    return sorted(done, key=lambda t: t.value)


def keep_best(folder: StudyFolder, study, trial, out: Path, name: str) -> None:
    """Copy the best trial's model to ``out`` as model ``name``, its card holding the trial history."""
    bundle = load_model(folder.trial_dir(trial.number) / "model.safetensors")
    bundle.meta = {**bundle.meta, "name": name, "tuning": {
        "study": str(folder.db.resolve()), "best_trial": trial.number, "best_val_loss": trial.value,
        "params": trial.params, "trials": trials_table(study), "seed": folder.info().get("seed"),
    }}
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
