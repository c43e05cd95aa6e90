"""A run folder, written and read by this module alone: ``$BIOSEQ_HOME/runs/<name>/`` or ``--log-dir``.

* ``run.json`` — status (``running``, ``done``, ``failed``, ``stopped``), who started it (``launcher``:
  ``cli``, ``dashboard`` or ``python``) and its process (``pid``), options, data summary, live progress
  (``progress``: epoch, epochs, step, steps_per_epoch, running loss, elapsed seconds; written at most
  about once a second), then the result (``best_epoch``, ``val_metrics``) or the ``error``;
* ``metrics.csv`` — ``epoch, split, loss, accuracy, ...``: one row per epoch and split, after each epoch (an
  ensemble of seeds: member 1's; member k's in ``metrics-<k>.csv``, and ``run.json`` says which ``member`` trains;
  a cross-validation run likewise per fold, with its ``cv`` figures in ``run.json``: :mod:`bioseq.training.cv`);
* ``gradients.csv`` — ``epoch, step, layer, grad_norm, ...``: one row per recurrent layer and recorded
  step, when the run ends;
* ``checkpoint.safetensors`` — for ``--resume``; its content is :mod:`bioseq.training.checkpoint`'s.

A :class:`RunFolder` writes one run (:meth:`~RunFolder.start`, :meth:`~RunFolder.progress`,
:meth:`~RunFolder.epoch_done`, :meth:`~RunFolder.finish`, :meth:`~RunFolder.fail`) and reads it back
(:meth:`~RunFolder.info`, :meth:`~RunFolder.metrics`, :meth:`~RunFolder.gradients`). A run whose
``run.json`` says ``running`` but whose process is gone reads back as ``interrupted``, whoever started it.
The functions below read the workspace's runs by name, as tables, and rename (:func:`rename_run`) or delete
(:func:`delete_run`) a run, never one that is being trained; :func:`crowding` counts the runs training now
against the machine's CPU cores (the Train page and ``bioseq train`` warn with it).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import BioseqError, InputError
from ..metrics import METRICS
from ..model.card import describe_config
from ..workspace import LOCK, atomic_write, check_name, holding, runs_dir
from .recorder import COLUMNS as GRAD_COLUMNS

METRIC_COLUMNS = ("epoch", "split", *METRICS)
GRADIENT_COLUMNS = ("epoch", "step", "layer", *GRAD_COLUMNS)
PROGRESS_FIELDS = ("epoch", "epochs", "step", "steps_per_epoch", "loss", "elapsed")
RUN_COLUMNS = ("name", "status", "launcher", "architecture", "cell", "alphabet", "classes", "epoch", "epochs",
               "best_epoch", "val_accuracy", "val_auroc", "started", "updated", "model_path", "has_model", "error")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def error_message(e: BaseException | str) -> str:
    """One line for a failed run: a :class:`BioseqError`'s own text, else the exception's type and text."""
    if isinstance(e, str) or isinstance(e, BioseqError):
        return str(e)
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def _write_csv(path: Path, rows: list[dict], columns: Sequence[str]) -> None:
    def _write(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    atomic_write(path, _write)


def _read_csv(path: Path, columns: Iterable[str]) -> pd.DataFrame:
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=list(columns))
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read ({e})", str(path)) from None


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def write_status(path: Path, info: dict) -> None:
    """``info`` as the status file ``path`` (a run's ``run.json``, a study's ``tune.json``), atomically: written
    under a unique temporary name and renamed over it (:func:`bioseq.workspace.atomic_write`)."""
    text = json.dumps(info, indent=1, default=str)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def checked_status(info: dict) -> dict:
    """A status file's ``info`` with ``status`` ``interrupted`` when it says ``running`` but its process (``pid``)
    is gone: the one liveness check of run and study folders."""
    if info.get("status") == "running" and info.get("pid") is not None and not _alive(info["pid"]):
        info["status"] = "interrupted"
    return info


@dataclass
class RunProgress:
    """Where a run is, from its ``run.json`` (``progress`` and ``status``)."""

    status: str = "running"
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    loss: float = math.nan
    elapsed: float = 0.0

    @classmethod
    def of(cls, info: dict) -> RunProgress:
        p = {k: v for k, v in (info.get("progress") or {}).items() if k in PROGRESS_FIELDS and v is not None}
        p.setdefault("epochs", (info.get("train_config") or {}).get("epochs") or 0)
        return cls(status=info.get("status", "unknown"), **p)

    @property
    def fraction(self) -> float:
        """Share of the planned optimiser steps done (0..1)."""
        if self.status == "done":
            return 1.0
        total = self.epochs * self.steps_per_epoch
        return min(1.0, ((self.epoch - 1) * self.steps_per_epoch + self.step) / total) if total else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current pace (early stopping may end the run sooner)."""
        f = self.fraction
        return self.elapsed * (1 - f) / f if 0 < f < 1 and self.elapsed > 0 else None


class RunFolder:
    """The files of one run: their paths, the writers a training run calls, and the readers."""

    PROGRESS_EVERY = 1.0  # seconds between per-batch progress writes

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.status_path = self.path / "run.json"
        self.metrics_path = self.path / "metrics.csv"
        self.gradients_path = self.path / "gradients.csv"
        self.checkpoint_path = self.path / "checkpoint.safetensors"
        self._info: dict | None = None  # what this writer last wrote
        self._last_progress = -math.inf
        self._member = 1  # the ensemble member being trained: its epochs go to member_metrics_path(member)

    def member_metrics_path(self, k: int) -> Path:
        """The metrics of ensemble member ``k`` (1-based): ``metrics.csv`` for the first (and a single model),
        ``metrics-<k>.csv`` for the others."""
        return self.metrics_path if k == 1 else self.path / f"metrics-{k}.csv"

    @classmethod
    def named(cls, name: str) -> RunFolder:
        """The run folder of a workspace run (raises for an invalid name)."""
        return cls(runs_dir() / check_name(name))

    # ---- writers ----

    def update(self, **info) -> None:
        """Merge ``info`` into ``run.json``, atomically (the first call reads what is there)."""
        if self._info is None:
            try:
                self._info = self._read_json()
            except InputError:
                self._info = {}
        self._info.update(info, updated=_now())
        write_status(self.status_path, self._info)

    def clear(self) -> None:
        """Remove this run's files (``run.json``, logs, checkpoints), for a run started again in its place."""
        for p in [self.status_path, self.metrics_path, self.gradients_path, *self.path.glob("checkpoint*.safetensors"),
                  *self.path.glob("metrics-*.csv")]:
            p.unlink(missing_ok=True)
        self._info = None

    def start(self, name: str, launcher: str, **info) -> None:
        """A fresh ``run.json``: ``running`` in this process, with ``info`` (options, data summary)."""
        self._info = {}
        self.update(name=name, status="running", launcher=launcher, pid=os.getpid(), started=_now(), **info)

    def progress(self, p) -> None:
        """A training :class:`~bioseq.training.loop.Progress` (the loop's callback): after a batch, written
        at most every ``PROGRESS_EVERY`` seconds; at the end of an epoch, :meth:`epoch_done`."""
        if p.phase == "epoch":
            self.epoch_done(p)
        elif time.monotonic() - self._last_progress >= self.PROGRESS_EVERY:
            self._write_progress(p)

    def begin_member(self, k: int) -> None:
        """Ensemble member ``k`` (1-based) starts training: its epochs are written to its own metrics file."""
        self._member = k
        self.update(member=k)

    def epoch_done(self, p) -> None:
        """The end of an epoch: ``metrics.csv`` so far (the member's file, for an ensemble), the completed epoch
        count and the progress."""
        _write_csv(self.member_metrics_path(self._member), p.history, METRIC_COLUMNS)
        self._write_progress(p, epoch=p.epoch, epochs=p.epochs)

    def _write_progress(self, p, **info) -> None:
        self._last_progress = time.monotonic()
        self.update(progress={k: getattr(p, k) for k in PROGRESS_FIELDS}, **info)

    def finish(self, result, model_path: str | os.PathLike) -> None:
        """A :class:`~bioseq.training.loop.TrainResult` saved as ``model_path``: status done (or stopped)."""
        _write_csv(self.metrics_path, result.history, METRIC_COLUMNS)
        _write_csv(self.gradients_path, result.gradients, GRADIENT_COLUMNS)
        self.update(status="stopped" if result.interrupted else "done", model_path=str(model_path),
                    best_epoch=result.best_epoch, val_metrics=result.val_metrics,
                    confusion=getattr(result, "confusion", None))  # absent from results written by hand

    def fail(self, error: BaseException | str) -> None:
        """Status failed, with the error in the command line's words and, as ``error_markup``, with its
        option references kept, for the dashboard to word (:func:`bioseq.errors.render`)."""
        raw = Exception.__str__(error) if isinstance(error, BioseqError) else error_message(error)
        self.update(status="failed", error=error_message(error), error_markup=raw)

    # ---- readers ----

    def _read_json(self) -> dict:
        if not self.status_path.is_file():
            raise InputError("no such run (no run.json)", str(self.path))
        try:
            return json.loads(self.status_path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(f"run.json is not readable ({e})", str(self.status_path)) from None

    def info(self) -> dict:
        """``run.json``, a fresh copy, with ``status`` ``interrupted`` when its process is gone."""
        info = checked_status(self._read_json())
        info.setdefault("name", self.path.name)
        return info

    def metrics(self) -> pd.DataFrame:
        """``metrics.csv``: one row per epoch and split (empty until the first epoch ends)."""
        return _read_csv(self.metrics_path, METRIC_COLUMNS)

    def member_metrics(self) -> pd.DataFrame:
        """For an ensemble run, every member's metrics so far, with a ``run`` column (``member 1``, ...); for a
        cross-validation run (``cv`` in ``run.json``, :mod:`bioseq.training.cv`) every fold's (``fold 1``, ...,
        even while only the first has begun); for a single model, :meth:`metrics`."""
        try:
            folds = "cv" in self._read_json()
        except InputError:
            folds = False
        frames, k = [], 1
        while self.member_metrics_path(k).is_file():
            frames.append(_read_csv(self.member_metrics_path(k), METRIC_COLUMNS).assign(
                run=f"{'fold' if folds else 'member'} {k}"))
            k += 1
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 or (folds and frames) else self.metrics()

    def gradients(self) -> pd.DataFrame:
        """``gradients.csv``: one row per layer per recorded step (written when the run ends)."""
        return _read_csv(self.gradients_path, GRADIENT_COLUMNS)


def run_dir(name: str) -> Path:
    return RunFolder.named(name).path


def read_run(name: str) -> dict:
    """The run's ``run.json`` with ``status`` corrected for dead workers; raises :class:`InputError`."""
    return RunFolder.named(name).info()


def _row(info: dict) -> dict:
    cfg = info.get("model_config") or {}
    val = info.get("val_metrics") or {}
    summary = info.get("summary") or {}
    model = info.get("model_path") or ""
    return {
        "name": info.get("name"), "status": info.get("status"), "launcher": info.get("launcher"),
        "architecture": describe_config(cfg) if cfg else "", "cell": cfg.get("cell"),
        "alphabet": summary.get("alphabet"), "classes": ", ".join(summary.get("per_class") or {}),
        "epoch": info.get("epoch"), "epochs": (info.get("train_config") or {}).get("epochs"),
        "best_epoch": info.get("best_epoch"), "val_accuracy": val.get("accuracy"), "val_auroc": val.get("auroc"),
        "started": info.get("started"), "updated": info.get("updated"), "model_path": model,
        "has_model": bool(model) and Path(model).is_file(), "error": info.get("error", ""),
    }


def list_runs() -> pd.DataFrame:
    """One row per run folder (``RUN_COLUMNS``), newest first; unreadable folders are skipped."""
    rows = []
    folder = runs_dir()
    for d in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not (d / "run.json").is_file():
            continue
        try:
            rows.append(_row(read_run(d.name)))
        except InputError:
            continue
    df = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    return df.sort_values("started", ascending=False, na_position="last", ignore_index=True)


def read_metrics(name: str) -> pd.DataFrame:
    """``metrics.csv`` of a run: one row per epoch and split (empty until the first epoch ends)."""
    return RunFolder.named(name).metrics()


def read_gradients(name: str) -> pd.DataFrame:
    """``gradients.csv`` of a run: one row per layer per recorded step (written when the run ends)."""
    return RunFolder.named(name).gradients()


def compare_metrics(names: Iterable[str]) -> pd.DataFrame:
    """The metrics of several runs stacked, with a ``run`` column, for overlaid curves."""
    frames = []
    for n in names:
        df = read_metrics(n)
        if len(df):
            frames.append(df.assign(run=n))
    if not frames:
        return pd.DataFrame(columns=["run", *METRIC_COLUMNS])
    return pd.concat(frames, ignore_index=True)


def layer_gradients(name: str) -> pd.DataFrame:
    """Per-layer gradient norms in long form: ``step, epoch, layer, direction, grad_norm``.

    ``direction`` is ``both`` (the layer's whole gradient), ``forward`` or ``reverse`` (the
    latter two only for bidirectional runs).
    """
    g = read_gradients(name)
    out = []
    for direction, col in (("both", "grad_norm"), ("forward", "forward_norm"), ("reverse", "reverse_norm")):
        if col in g and g[col].notna().any():
            out.append(g[["epoch", "step", "layer"]].assign(direction=direction, grad_norm=g[col]))
    if not out:
        return pd.DataFrame(columns=["epoch", "step", "layer", "direction", "grad_norm"])
    return pd.concat(out, ignore_index=True)


@dataclass
class GradientSummary:
    """Per-layer mean gradient norms and the first/last ratio of one run (``ratio`` NaN for one layer)."""

    per_layer: dict[int, float] = field(default_factory=dict)
    ratio: float = math.nan


def gradient_summary(name: str) -> GradientSummary:
    from .recorder import layer_ratio

    g = read_gradients(name)
    if not len(g):
        return GradientSummary()
    r = layer_ratio(g.to_dict("records"))
    ratio = r["ratio"] if len(r["per_layer"]) > 1 else math.nan
    return GradientSummary(r["per_layer"], ratio)


def _existing(name: str) -> Path:
    d = run_dir(name)
    if not (d / "run.json").is_file():
        raise InputError("no such run", str(d))
    return d


def delete_run(name: str) -> None:
    """Delete run ``name`` (its folder: logs, checkpoints); refused while it is being trained. Its model, if
    any, stays."""
    d = _existing(name)
    with holding(name):
        shutil.rmtree(d)


def rename_run(old: str, new: str, *, overwrite: bool = False) -> Path:
    """Rename run ``old`` to ``new``: its files move into ``runs/<new>/`` (each move atomic) and ``run.json``
    says the new name. A run called ``new`` is refused unless ``overwrite``; so is either name while it is
    being trained. Its model keeps its name (:func:`bioseq.model.store.rename_model` renames a model)."""
    src, dst = _existing(old), run_dir(new)
    if new == old:
        return src
    with holding(old, new):
        there = [p for p in dst.iterdir() if p.name != LOCK]
        if there and not overwrite:
            raise InputError(f"a run called {new!r} already exists; choose another name", str(dst))
        for p in there:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        for p in src.iterdir():
            if p.name != LOCK:
                os.replace(p, dst / p.name)
        RunFolder(dst).update(name=new)
    try:
        src.rmdir()
    except OSError:
        pass  # a claim on the old name made it again meanwhile
    return dst
