"""Sequences to look inside a model with: records of the files a model or a run was trained on."""

from __future__ import annotations

from pathlib import Path

from ..data.io import Record, read_many
from ..errors import InputError
from ..model.store import read_meta
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
