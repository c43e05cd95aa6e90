"""Training runs in the workspace, read back as tables: ``$BIOSEQ_HOME/runs/<name>/``.

:func:`bioseq.fit.fit` writes each run's ``run.json`` (status, options, data summary),
``metrics.csv`` (``epoch, split, loss, accuracy, ...`` per epoch and split) and ``gradients.csv``
(``epoch, step, layer, grad_norm, ...`` per recurrent layer and recorded step). This module lists
runs and reads those files into DataFrames; it never writes them, except :func:`delete_run`.

A run whose ``run.json`` says ``running`` but whose recorded process (``pid``, written by the
dashboard's training worker) is gone is reported as ``interrupted``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputError
from .fit import GRADIENT_COLUMNS, METRIC_COLUMNS
from .store import check_name, describe_config, runs_dir

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
    from .gradients import layer_ratio

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


def run_records(name: str, n: int = 32) -> list:
    """Up to ``n`` records of a run's training files, spread evenly over the first ``20 n``."""
    from .io import read_many
    from .store import read_meta

    info = read_run(name)
    files = []
    model = info.get("model_path")
    if model and Path(model).is_file():
        files = [f["path"] for f in (read_meta(model).get("training") or {}).get("files", []) if f["role"] == "train"]
    files = files or list((info.get("data") or {}).get("train") or [])
    if not files:
        raise InputError("the run does not name its training files", str(run_dir(name)))
    pool = []
    for rec in read_many(files):
        pool.append(rec)
        if len(pool) >= 20 * n:
            break
    step = max(1, len(pool) // n)
    return pool[::step][:n]


@dataclass
class FlowReport:
    """Everything the Gradient flow page shows for one run."""

    name: str
    architecture: str
    layers: pd.DataFrame  # layer_gradients(): epoch, step, layer, direction, grad_norm
    summary: GradientSummary
    time: pd.DataFrame  # layer, direction, distance, grad_norm (mean over records)
    memory: pd.DataFrame  # distance, influence, relative, sequences
    effective_memory: int | None
    diagnosis: object  # bioseq.diagnose.Diagnosis
    records: int = 0
    note: str = ""


def gradient_flow(name: str, n: int = 32, records: list | None = None) -> FlowReport:
    """Per-layer norms (recorded in training), per-step ∂C/∂h(t) and memory on ``n`` training records,
    and the plain-words diagnosis, for one finished run. Raises :class:`InputError` without a model."""
    from .diagnose import diagnose_run, memory_summary
    from .gradients import time_gradients, time_profile
    from .interpret import effective_memory, memory_curve
    from .store import load_model

    info = read_run(name)
    model = info.get("model_path")
    if info.get("status") not in ("done", "stopped") or not model or not Path(model).is_file():
        raise InputError(f"run {name!r} has no saved model yet (status: {info.get('status')})")
    bundle = load_model(model)
    time = pd.DataFrame(columns=["layer", "direction", "distance", "grad_norm"])
    memory = pd.DataFrame(columns=["distance", "influence", "relative", "sequences"])
    eff, note = None, ""
    try:
        records = records if records is not None else run_records(name, n)
    except InputError as e:
        records, note = [], f"per-position views skipped: {e}"
    if records:
        time = time_profile(time_gradients(bundle, records))
        memory = memory_curve(bundle, records)
        eff = effective_memory(memory)
    grads, hist = read_gradients(name), read_metrics(name)
    diagnosis = diagnose_run(grads.to_dict("records"), hist.to_dict("records"),
                             memory_summary(memory) if records else None)
    return FlowReport(name, describe_config(bundle.model.cfg.to_dict()), layer_gradients(name), gradient_summary(name),
                      time, memory, eff, diagnosis, len(records), note)


def stack(reports: list[FlowReport], part: str) -> pd.DataFrame:
    """One table from several reports' ``part`` (``layers``, ``time`` or ``memory``), with a ``run`` column."""
    frames = [getattr(r, part).assign(run=r.name) for r in reports if len(getattr(r, part))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run"])


def layer_table(reports: list[FlowReport]) -> pd.DataFrame:
    """Mean gradient norm per layer of each run: ``run, layer, grad_norm``."""
    rows = [{"run": r.name, "layer": layer, "grad_norm": v}
            for r in reports for layer, v in r.summary.per_layer.items()]
    return pd.DataFrame(rows, columns=["run", "layer", "grad_norm"])
