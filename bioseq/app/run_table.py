"""The Train page's comparison of runs: one sortable row per run with its data, metrics, options and time,
and which runs can fairly be drawn together (the same alphabet and classes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..model.store import SUFFIX
from ..task import task_of
from ..training.runs import RunProgress, list_runs, read_run
from ..workspace import models_dir

OPTION_COLUMNS = ("cell", "layers", "hidden", "bidirectional", "conv", "pooling", "norm", "skip", "dropout")
TRAIN_COLUMNS = ("lr", "batch_size", "weight_decay", "epochs")
METRIC_COLUMNS = ("accuracy", "balanced_accuracy", "auroc", "mcc", "f1")
COLUMNS = ("run", "status", "alphabet", "classes", "records", *(f"val_{m}" for m in METRIC_COLUMNS), "val_worst_label",
           "val_worst_f1", "best_epoch",
           "epochs_run", "minutes", *OPTION_COLUMNS, *TRAIN_COLUMNS, "started")


def comparison_table(names: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows of :data:`COLUMNS` for ``names`` (default: every run), newest first."""
    names = list(list_runs()["name"]) if names is None else list(names)
    rows = []
    for name in names:
        try:
            info = read_run(name)
        except InputError:
            continue
        model, train = info.get("model_config") or {}, info.get("train_config") or {}
        val, summary = info.get("val_metrics") or {}, info.get("summary") or {}
        progress = RunProgress.of(info)
        worst = task_of(info.get("model_config")).worst(*_matrix(info))
        rows.append({
            "run": name, "status": info.get("status"), "alphabet": summary.get("alphabet"),
            "classes": ", ".join(summary.get("per_class") or {}), "records": summary.get("records"),
            **{f"val_{m}": val.get(m) for m in METRIC_COLUMNS}, "val_worst_label": worst[0] if worst else None,
            "val_worst_f1": worst[1] if worst else None, "best_epoch": info.get("best_epoch"),
            "epochs_run": info.get("epoch"), "minutes": round(progress.elapsed / 60, 2) if progress.elapsed else None,
            **{k: model.get(k) for k in OPTION_COLUMNS}, **{k: train.get(k) for k in TRAIN_COLUMNS},
            "started": info.get("started")})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _matrix(info: dict) -> tuple:
    """A finished run's validation confusion matrix and its classes (in the order of its rows)."""
    return info.get("confusion"), list((info.get("summary") or {}).get("per_class") or {})


def weakest(info: dict) -> str:
    """What a finished run's headline shows beside it (:meth:`bioseq.task.Task.weakest`): a labeller's worst
    label's F1; '' for a classifier or a run saved without its confusion matrix."""
    return task_of(info.get("model_config")).weakest(*_matrix(info))


def comparable(table: pd.DataFrame, name: str) -> list[str]:
    """Runs of ``table`` (``list_runs`` or :func:`comparison_table`) with the same alphabet and classes as
    ``name``, ``name`` first: curves of a DNA and a protein run on one chart compare nothing."""
    key = "name" if "name" in table.columns else "run"
    row = table[table[key] == name]
    if not len(row):
        return []
    same = table[(table["alphabet"] == row["alphabet"].iloc[0]) & (table["classes"] == row["classes"].iloc[0])]
    return [name] + [n for n in same[key] if n != name]


def run_notes(info: dict) -> list[str]:
    """Warnings about a finished run's validation figures (:func:`bioseq.metrics.metric_notes`), e.g. a
    high AUROC next to chance accuracy, or one class making up most of the data."""
    from ..metrics import metric_notes

    task = task_of(info.get("model_config"))
    counts = ((info.get("summary") or {}).get("per_class") or {}).values()
    return metric_notes(info["val_metrics"], counts, task.unit, task.word) if info.get("val_metrics") else []


def ensemble_words(info: dict) -> str | None:
    """A run that trains an ensemble of seeds, in words (which member trains now, while it runs); ``None`` for
    one network."""
    tc = info.get("train_config") or {}
    n = int(tc.get("seeds") or 1)
    if n < 2:
        return None
    seed = int(tc.get("seed") or 0)
    now = f"; member {info.get('member', 1)} of {n} is training" if info.get("status") == "running" else ""
    return (f"An ensemble of {n} networks (seeds {', '.join(str(seed + k) for k in range(n))}), their probabilities "
            f"averaged{now}. The curves show each member's epochs.")


def cv_words(info: dict) -> str | None:
    """A cross-validation run (:mod:`bioseq.training.cv`) in words: its folds, how they were made, which fold
    trains now; ``None`` for any other run."""
    from ..data.splits import describe_split

    cv = info.get("cv")
    if not cv:
        return None
    k, done = cv.get("k") or len(cv.get("folds") or []), len(cv.get("folds") or [])
    now = (f"; fold {info.get('member', 1)} of {k} is training ({done} done)" if info.get("status") == "running"
           else "")
    return (f"A cross-validation: {describe_split(info.get('split') or cv.get('split'))}. Each fold is tested once by "
            f"a model trained on the other folds{now}. The curves show each fold's training (against its inner "
            "validation split); the table gives each fold's test figures and their mean ± sd.")


def cv_table(info: dict) -> pd.DataFrame | None:
    """A cross-validation run's summary: one row per figure, its ``mean`` and ``sd`` over the folds done, then each
    fold's value (:func:`bioseq.training.cv.fold_table`); ``None`` for another run or before a fold is done."""
    from ..training.cv import fold_table

    cv = info.get("cv") or {}
    if not cv.get("folds"):
        return None
    return pd.DataFrame(fold_table(cv["folds"], cv["mean"], cv["sd"]))


def cv_headline(info: dict) -> str:
    """A finished cross-validation run's result in a line: the headline figures' mean ± sd and its model."""
    cv, model = info.get("cv") or {}, model_of(info)
    shown = [k for k in task_of(info.get("model_config")).headline if k in (cv.get("mean") or {})]
    figures = ", ".join(f"{k} {cv['mean'][k]:.3f} ± {cv['sd'][k]:.3f}" for k in shown)
    return (f"Cross-validation of {len(cv.get('folds') or [])} folds: mean test {figures} (± the sd over folds)"
            + (f"; the fold models are saved as the ensemble model **{model}**." if model else "; no model saved "
               "(bioseq cv --ensemble saves the fold models as one)."))


def model_of(info: dict) -> str | None:
    """The registry name of a run's model, when the model file is in the registry; else ``None``."""
    path = Path(info.get("model_path") or "")
    if path.name.endswith(SUFFIX) and path.is_file() and path.parent.resolve() == models_dir().resolve():
        return path.name.removesuffix(SUFFIX)
    return None


def verdict(info: dict):
    """The diagnosis' verdict on a finished run (:func:`bioseq.interpret.diagnose_training.run_verdict`), from
    its validation figures, its class counts, its per-epoch history and its training options."""
    from ..interpret.diagnose_training import run_verdict
    from ..training.runs import RunFolder

    history = RunFolder.named(info["name"]).metrics().to_dict("records") if info.get("name") else None
    return run_verdict(info.get("val_metrics"), (info.get("summary") or {}).get("per_class"),
                       task_of(info.get("model_config")).name, history,
                       {"train_config": info.get("train_config"), "leakage": info.get("leakage")})
