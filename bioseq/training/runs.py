"""Training runs in the workspace, read back as tables: ``$BIOSEQ_HOME/runs/<name>/``.

:func:`bioseq.fit.fit` writes each run's ``run.json`` (status, options, data summary),
``metrics.csv`` (``epoch, split, loss, accuracy, ...`` per epoch and split) and ``gradients.csv``
(``epoch, step, layer, grad_norm, ...`` per recurrent layer and recorded step). This module lists
runs and reads those files into DataFrames; it never writes them, except :func:`delete_run`.

A run whose ``run.json`` says ``running`` but whose recorded process (``pid``, written by the
dashboard's training worker) is gone is reported as ``interrupted``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..metrics import METRICS
from ..model.store import describe_config
from ..workspace import atomic_write, check_name, runs_dir
from .recorder import COLUMNS as GRAD_COLUMNS


def write_csv(path: Path, rows: list[dict], columns: Sequence[str]) -> None:
    def _write(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    atomic_write(path, _write)


def write_status(run_dir: Path, **info) -> None:
    path = run_dir / "run.json"
    current = {}
    if path.exists():
        try:
            current = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            current = {}
    current.update(info, updated=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(current, indent=1, default=str)))


METRIC_COLUMNS = ("epoch", "split", *METRICS)
GRADIENT_COLUMNS = ("epoch", "step", "layer", *GRAD_COLUMNS)


RUN_COLUMNS = ("name", "status", "architecture", "cell", "alphabet", "classes", "epoch", "epochs", "best_epoch",
               "val_accuracy", "val_auroc", "started", "updated", "model_path", "has_model", "error")


def run_dir(name: str) -> Path:
    return runs_dir() / check_name(name)


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def _status(info: dict) -> str:
    status = info.get("status", "unknown")
    if status == "running" and info.get("pid") is not None and not _alive(info["pid"]):
        return "interrupted"
    return status


def read_run(name: str) -> dict:
    """The run's ``run.json`` with ``status`` corrected for dead workers; raises :class:`InputError`."""
    path = run_dir(name) / "run.json"
    if not path.is_file():
        raise InputError("no such run (no run.json)", str(path.parent))
    try:
        info = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"run.json is not readable ({e})", str(path)) from None
    info["status"] = _status(info)
    info.setdefault("name", name)
    return info


def _row(info: dict) -> dict:
    cfg = info.get("model_config") or {}
    val = info.get("val_metrics") or {}
    summary = info.get("summary") or {}
    model = info.get("model_path") or ""
    return {
        "name": info.get("name"), "status": info.get("status"),
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


def _read_csv(path: Path, columns: Iterable[str]) -> pd.DataFrame:
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=list(columns))
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read ({e})", str(path)) from None


def read_metrics(name: str) -> pd.DataFrame:
    """``metrics.csv`` of a run: one row per epoch and split (empty until the first epoch ends)."""
    return _read_csv(run_dir(name) / "metrics.csv", METRIC_COLUMNS)


def read_gradients(name: str) -> pd.DataFrame:
    """``gradients.csv`` of a run: one row per layer per recorded step (written when the run ends)."""
    return _read_csv(run_dir(name) / "gradients.csv", GRADIENT_COLUMNS)


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


def delete_run(name: str) -> None:
    d = run_dir(name)
    if not d.is_dir():
        raise InputError("no such run", str(d))
    shutil.rmtree(d)
