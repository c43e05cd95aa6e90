"""Sequences to look inside a model with: records of the files a model or a run was trained on (with their true
labels as the model's task keeps them: :func:`labelled_records`), and a
table of records with their true label and prediction, for finding the interesting ones.

:func:`record_table` has one row per record: ``index`` (its place in the input), ``id``, ``length``,
``true`` (``None`` when unknown), ``prediction``, ``confidence`` (probability of the predicted class),
``correct`` (``None`` when the label is unknown) and ``p_<class>...``. :func:`order_records` sorts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.dataset import known_labels, parse_class_map, read_label_table
from ..data.io import Record, read_many
from ..data.position_labels import UNSCORED
from ..data.source import DataSource
from ..errors import InputError
from ..model.store import ModelBundle, read_meta
from ..prediction.predict import predict_records
from ..task import task_of
from ..training.runs import read_run, run_dir


def training_files(model_path: str | Path) -> list[str]:
    """The training files named in a model file (empty when it names none)."""
    meta = read_meta(model_path)
    return [f["path"] for f in (meta.get("training") or {}).get("files", []) if f.get("role") == "train"]


def _first(files: list[str], limit: int) -> list[Record]:
    out = []
    for rec in read_many(files):
        out.append(rec)
        if len(out) >= limit:
            break
    return out


def model_records(path: str | Path, limit: int = 500) -> list[Record]:
    """Up to ``limit`` records of the files a model was trained on (named in its model file)."""
    files = training_files(path)
    if not files:
        raise InputError("the model file does not name its training files", str(path))
    return _first(files, limit)


def run_records(name: str, n: int = 32) -> list[Record]:
    """Up to ``n`` records of a run's training files, spread evenly over the first ``20 n``."""
    info = read_run(name)
    model = info.get("model_path")
    files = training_files(model) if model and Path(model).is_file() else []
    files = files or list((info.get("data") or {}).get("train") or [])
    if not files:
        raise InputError("the run does not name its training files", str(run_dir(name)))
    pool = _first(files, 20 * n)
    return pool[:: max(1, len(pool) // n)][:n]


ORDERS = ("file order", "misclassified first", "most confident per class")


def labels_for(records: list[Record], labels_table: str | None = None, class_map: str | None = None) -> list:
    """Each record's true label as training saw it (from a labels table, ``label=`` tokens or file names,
    renamed by the class map), ``None`` where it cannot be found."""
    table = read_label_table(labels_table) if labels_table else None
    cmap = parse_class_map(class_map)
    return [cmap.get(lab, lab) or None if lab is not None else None for lab in known_labels(records, table)]


def model_labels(path: str | Path, records: list[Record]) -> list:
    """:func:`labels_for` with the labels table and class map recorded in a model file."""
    training = read_meta(path).get("training") or {}
    labels = training.get("labels")
    return labels_for(records, labels if labels and Path(labels).is_file() else None, training.get("class_map"))


def labelled_records(path: str | Path, origin: str, source: DataSource | None = None,
                     files: Sequence[tuple[str, bytes]] = (), limit: int = 500) -> tuple[list[Record], list | None]:
    """Up to ``limit`` records from ``origin`` and their true labels as the model's task keeps them (for
    :func:`record_table`): ``data`` (the files the model at ``path`` was trained on), ``dataset`` (``source``) or
    ``upload`` (``files``, ``(name, bytes)`` pairs). A task with an output per position reads label tracks
    (:mod:`.position_data`; ``None`` when the files carry none); a classifier's labels are found as in training."""
    from .position_data import labelled
    from .uploads import read_uploads

    meta = read_meta(path)
    if task_of(meta).per_position:
        return labelled(meta, origin, source, files, limit)
    if origin == "data":
        records = model_records(path, limit)
        return records, model_labels(path, records)
    if origin == "dataset":
        records = source.records(limit)
        return records, labels_for(records, source.labels, source.class_map)
    records = read_uploads(files)[:limit]
    return records, labels_for(records)


def record_table(bundle: ModelBundle, records: list[Record], labels: list | None = None,
                 probs: list | None = None) -> pd.DataFrame:
    """One row per record: ``index, id, length, true`` (``None`` when unknown; a labeller's ``"known"``),
    ``prediction`` (the label predicted most often: a classifier's output is one position), ``confidence``
    (the mean probability of the predicted labels), ``correct`` (``None`` when unknown, else every scored
    position right), then the task's columns (:attr:`~bioseq.task.Task.record_columns`): a classifier's
    ``p_<class>...``; a labeller's ``scored``, ``accuracy`` (share of scored positions right; NaN when unknown),
    ``segments`` (predicted) and ``share_<label>`` (positions predicted so).

    ``labels`` as the task keeps them (:meth:`~bioseq.task.Task.truth`): a classifier's class names (found as in
    training when ``None``), a labeller's tracks (``UNSCORED`` = -100; unknown when ``None``); ``probs`` the
    probabilities if known."""
    from ..metrics.segments import segments

    task = task_of(bundle)
    probs = probs if probs is not None else [p for _, p in predict_records(bundle, records)]
    classes = np.asarray(bundle.classes, dtype=object)
    rows = []
    for k, (r, p, t) in enumerate(zip(records, probs, task.truth(bundle.classes, records, labels))):
        p = np.asarray(p).reshape(-1, len(classes))
        pred = p.argmax(1)
        t = np.full(len(pred), UNSCORED) if t is None else np.asarray(t)
        scored = t >= 0
        acc = float((pred[scored] == t[scored]).mean()) if scored.any() else float("nan")
        counts = np.bincount(pred, minlength=len(classes))
        rows.append({"index": k, "id": r.id, "length": len(r.seq), "true": task.true_cell(t, classes),
                     "prediction": classes[counts.argmax()] if len(pred) else "",
                     "confidence": float(p.max(1).mean()) if len(pred) else float("nan"),
                     "correct": None if not scored.any() else bool(acc == 1.0), "scored": int(scored.sum()),
                     "accuracy": acc, "segments": len(segments(pred)),
                     **{f"p_{c}": float(p[:, j].mean()) for j, c in enumerate(classes)},
                     **{f"share_{c}": counts[j] / max(len(pred), 1) for j, c in enumerate(classes)}})
    own = [name + (c if name.endswith("_") else "") for name in task.record_columns
           for c in (classes if name.endswith("_") else [""])]
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object if c in ("true", "correct") else None)
                         for c in ["index", "id", "length", "true", "prediction", "confidence", "correct", *own]})


def order_records(table: pd.DataFrame, order: str = "file order") -> pd.DataFrame:
    """The table in one of :data:`ORDERS`: as read; wrong predictions first (the most confident mistakes
    leading, then records whose label is unknown, then the right ones); or per predicted class, most
    confident first, the classes taking turns so that every class shows near the top."""
    if order == "file order":
        return table
    if order == "misclassified first" and "accuracy" in table:  # a labeller's records: the least accurate first
        return table.sort_values(["accuracy", "confidence"], ascending=[True, False], kind="stable",
                                 na_position="last")
    if order == "misclassified first":
        rank = table["correct"].map(lambda c: {False: 0, True: 2}.get(c, 1))
        return table.assign(_r=rank).sort_values(["_r", "confidence"], ascending=[True, False],
                                                 kind="stable").drop(columns="_r")
    if order == "most confident per class":
        ranked = table.sort_values("confidence", ascending=False, kind="stable")
        turn = ranked.groupby("prediction", sort=False).cumcount()
        return ranked.assign(_t=turn).sort_values("_t", kind="stable").drop(columns="_t")
    raise ValueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")


def describe_row(row) -> str:
    """One line for a record picker: ``id · true X · predicted Y (0.93) ✗ · 120 letters``; for a labeller's
    row (it has a share of positions right) ``id · accuracy 0.93 · mostly O (mean p 0.81) · 120 letters``."""
    if "accuracy" in row:
        said = "labels unknown" if row["correct"] is None else f"accuracy {row['accuracy']:.2f}"
        said += f" · mostly {row['prediction']} (mean p {row['confidence']:.2f})"
    else:
        mark = "" if row["correct"] is None else (" ✓" if row["correct"] else " ✗")
        said = (f"true {row['true']}" if row["true"] is not None else "label unknown") + \
            f" · predicted {row['prediction']} ({row['confidence']:.2f}){mark}"
    return f"{row['id']} · {said} · {row['length']} letters"

