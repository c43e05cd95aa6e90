"""Dashboard data beyond the bundled examples: uploads saved into the workspace, and data reports.

Sources are :class:`bioseq.examples.DataSource` objects (the examples' or the uploads').

Uploaded bytes are written to ``$BIOSEQ_HOME/uploads/<digest>/<name>``, where the digest is the
SHA-256 of the names and contents, so ``fit()`` can read paths and the same upload is stored once.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .data import header_label, load_dataset, summarize
from .errors import InputError, ModelFileError
from .examples import LABEL_MODES, DataSource
from .io import Record, read_many, read_upload
from .store import check_name, load_model, model_path, read_meta, workspace

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def uploads_dir() -> Path:
    return workspace() / "uploads"


def safe_filename(name: str) -> str:
    """A file name without folders or odd characters; keeps suffixes such as ``.fa.gz``."""
    base = _SAFE.sub("_", Path(str(name)).name).lstrip(".") or "upload.fa"
    return base[:120]


def save_uploads(files: Sequence[tuple[str, bytes]]) -> list[Path]:
    """Write uploaded ``(name, bytes)`` pairs into the workspace; return their paths, in order."""
    if not files:
        raise InputError("no files were uploaded")
    h = hashlib.sha256()
    for name, data in files:
        h.update(safe_filename(name).encode() + b"\0" + hashlib.sha256(data).digest())
    folder = uploads_dir() / h.hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    paths, seen = [], set()
    for name, data in files:
        fname = safe_filename(name)
        if fname in seen:
            raise InputError(f"two uploaded files are both called {fname!r}; rename one", fname)
        seen.add(fname)
        path = folder / fname
        if not path.exists() or path.stat().st_size != len(data):
            path.write_bytes(data)
        paths.append(path)
    return paths


def upload_source(files: Sequence[tuple[str, bytes]], label_mode: str = "header",
                  labels: tuple[str, bytes] | None = None, alphabet: str | None = None) -> DataSource:
    """Save uploads and describe them as a :class:`DataSource` (validated by :func:`report`)."""
    if label_mode not in LABEL_MODES:
        raise InputError(f"unknown label source {label_mode!r}; choose one of {', '.join(LABEL_MODES)}")
    if label_mode == "table" and labels is None:
        raise InputError("upload a labels file (CSV or TSV with columns id,label)")
    if label_mode == "files" and len(files) < 2:
        raise InputError("one file per class needs at least two files")
    paths = save_uploads(list(files) + ([labels] if labels else []))
    table = str(paths.pop()) if labels else None
    names = ", ".join(safe_filename(n) for n, _ in files)
    return DataSource(names, tuple(str(p) for p in paths), label_mode, table, alphabet=alphabet,
                      description=f"uploaded: {names}")


@dataclass
class DataReport:
    """What the Data page shows: the summary of :func:`bioseq.data.summarize` and tables for charts."""

    summary: dict
    classes: list[str]
    records: pd.DataFrame  # id, label, length, ambiguous (fraction), file
    composition: pd.DataFrame  # label, letter, fraction, standard
    duplicates: pd.DataFrame  # sequence (first 60 letters), count, ids, labels
    notes: list[str] = field(default_factory=list)


def report(source: DataSource) -> DataReport:
    """Load and check the labelled data of ``source`` and summarise it; raises :class:`InputError`."""
    if source.label_mode == "files":
        tokens = [header_label(r.description) for r in read_many(source.train)]
        if any(t is not None for t in tokens):
            raise InputError("one file per class was chosen, but the headers carry label=VALUE tokens; "
                             "choose 'header' as the label source", ", ".join(source.train))
    ds = load_dataset(list(source.train), labels=source.labels, alphabet=source.alphabet)
    standard = set(ds.alphabet.letters)
    rows, comp = [], defaultdict(Counter)
    for ident, seq, y in zip(ds.ids, ds.seqs, ds.labels):
        up = seq.upper()
        amb = sum(1 for c in up if c not in standard)
        rows.append({"id": ident, "label": ds.classes[int(y)], "length": len(seq), "ambiguous": amb / max(len(seq), 1)})
        comp[ds.classes[int(y)]].update(up)
    comp_rows = []
    for label, counts in comp.items():
        total = sum(counts.values()) or 1
        comp_rows += [{"label": label, "letter": c, "fraction": n / total, "standard": c in standard}
                      for c, n in sorted(counts.items())]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(ds.seqs):
        groups[s.upper()].append(i)
    dups = [{"sequence": s[:60] + ("…" if len(s) > 60 else ""), "count": len(g),
             "ids": ", ".join(ds.ids[i] for i in g[:10]) + (" …" if len(g) > 10 else ""),
             "labels": ", ".join(sorted({ds.classes[int(ds.labels[i])] for i in g}))}
            for s, g in groups.items() if len(g) > 1]
    summary = summarize(ds)
    notes = []
    if summary["conflicting_duplicates"]:
        notes.append(f"{summary['conflicting_duplicates']} identical sequences carry different labels")
    counts = list(summary["per_class"].values())
    if min(counts) < 0.2 * max(counts):
        notes.append("the classes are unbalanced; training weights them by inverse frequency")
    if len(ds) < 50:
        notes.append(f"only {len(ds)} records: expect noisy validation numbers")
    return DataReport(summary, list(ds.classes), pd.DataFrame(rows),
                      pd.DataFrame(comp_rows, columns=["label", "letter", "fraction", "standard"]),
                      pd.DataFrame(dups, columns=["sequence", "count", "ids", "labels"]), notes)


def source_records(source: DataSource, limit: int | None = None) -> list[Record]:
    """Sequences of a source for inspection or prediction: its test files, else its training files."""
    out = []
    for rec in read_many(source.test or source.train):
        out.append(rec)
        if limit and len(out) >= limit:
            break
    return out


def read_uploads(files: Sequence[tuple[str, bytes]]) -> list[Record]:
    """Records of several uploaded sequence files, in order; errors name the file and record."""
    if not files:
        raise InputError("no files were uploaded")
    return [r for name, data in files for r in read_upload(data, name)]


def save_model_upload(data: bytes, name: str, *, register: bool = False) -> Path:
    """Store an uploaded model file after validating its metadata (nothing is unpickled).

    With ``register`` it becomes ``models/<model name>.safetensors`` in the registry (an existing
    model of that name is an error); otherwise it is kept under ``uploads/models/<digest>``.
    """
    digest = hashlib.sha256(data).hexdigest()[:16]
    tmp = uploads_dir() / "models" / f"{digest}.safetensors"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    if not tmp.is_file() or tmp.stat().st_size != len(data):
        tmp.write_bytes(data)
    try:
        meta = read_meta(tmp)
        load_model(tmp)  # metadata, config and weights must agree
    except ModelFileError as e:
        tmp.unlink(missing_ok=True)
        raise ModelFileError(str(e).replace(str(tmp), safe_filename(name))) from None
    if not register:
        return tmp
    target = model_path(check_name(str(meta.get("name") or Path(name).stem)))
    if target.exists():
        tmp.unlink(missing_ok=True)
        raise ModelFileError(f"{target.stem}: a model with this name is already in the registry; "
                             "delete it first or rename the file")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(target)
    return target


def model_records(path: str | Path, limit: int = 500) -> list[Record]:
    """Up to ``limit`` records of the files a model was trained on (named in its model file)."""
    meta = read_meta(path)
    files = [f["path"] for f in (meta.get("training") or {}).get("files", []) if f.get("role") == "train"]
    if not files:
        raise InputError("the model file does not name its training files", str(path))
    out = []
    for rec in read_many(files):
        out.append(rec)
        if len(out) >= limit:
            break
    return out
