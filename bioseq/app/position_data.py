"""Per-position data (one label per letter) for the dashboard: labelled records to look inside a labeller with
(the true label track of each record as ``(length,)`` int64 indices, ``UNSCORED`` = -100). The Data page's
report on such data is :func:`bioseq.app.data_report.position_report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from pathlib import Path

import numpy as np

from ..data.io import Record
from ..data.position_labels import is_position_data, read_positions, read_sequences
from ..data.source import DataSource

__all__ = ["labelled", "model_labelled", "read_labelled", "source_labelled", "spread"]


def read_labelled(files: Sequence[str], label_set: Sequence[str] | None = None, *, labels_fasta: Sequence[str] = (),
                  mask: Sequence[str] = (), ignore_label: str | None = None, limit: int | None = None
                  ) -> tuple[list[Record], list[np.ndarray] | None]:
    """Up to ``limit`` records of ``files`` and their true label tracks (``None`` when the files carry no
    per-position labels: plain FASTA without ``labels_fasta``). Labels outside ``label_set`` are an error."""
    files = [str(f) for f in files]
    if not is_position_data(files, list(labels_fasta) or None):
        return list(islice(read_sequences(files), limit)), None
    ds = read_positions(files, labels_fasta=list(labels_fasta) or None, mask=list(mask) or None,
                        ignore_label=ignore_label, label_set=label_set)
    n = len(ds) if limit is None else min(limit, len(ds))
    records = [Record(ds.ids[i], ds.ids[i], ds.seqs[i], files[0], i + 1) for i in range(n)]
    return records, ds.targets()[:n]


def source_labelled(source: DataSource, label_set: Sequence[str] | None = None, limit: int | None = None
                    ) -> tuple[list[Record], list[np.ndarray] | None]:
    """:func:`read_labelled` of a dataset's test files (else its training files)."""
    files = source.test or source.train
    extra = {} if source.test else {"labels_fasta": source.labels_fasta, "mask": source.mask}
    return read_labelled(files, label_set, ignore_label=source.ignore_label, limit=limit, **extra)


def model_labelled(meta: dict, limit: int | None = None) -> tuple[list[Record], list[np.ndarray] | None]:
    """:func:`read_labelled` of the files a labeller was trained on (named in its model file's metadata)."""
    from ..errors import InputError

    files = {role: [f["path"] for f in (meta.get("training") or {}).get("files", []) if f.get("role") == role]
             for role in ("train", "labels", "mask")}
    if not files["train"] or not all(Path(p).is_file() for group in files.values() for p in group):
        raise InputError("the model file does not name its training files, or they are gone",
                         str(meta.get("name") or ""))
    return read_labelled(files["train"], meta.get("classes"), labels_fasta=files["labels"], mask=files["mask"],
                         ignore_label=_ignored(meta), limit=limit)


def labelled(meta: dict, origin: str, source: DataSource | None = None, files: Sequence[tuple[str, bytes]] = (),
             limit: int | None = None) -> tuple[list[Record], list[np.ndarray] | None]:
    """Records and label tracks for the labeller of ``meta`` from ``data`` (:func:`model_labelled`), ``dataset``
    (:func:`source_labelled`) or ``upload`` (``files``, ``(name, bytes)`` pairs: three-line FASTA or plain)."""
    from .uploads import save_uploads

    if origin == "data":
        return model_labelled(meta, limit)
    if origin == "dataset":
        return source_labelled(source, meta.get("classes"), limit)
    return read_labelled([str(p) for p in save_uploads(list(files))], meta.get("classes"),
                         ignore_label=_ignored(meta), limit=limit)


def _ignored(meta: dict) -> str | None:  # the label a labeller never scores (its model file's rule)
    return (meta.get("labelling") or {}).get("ignore_label")


def spread(items: list, n: int) -> list:
    """``n`` items spread evenly over ``items``."""
    return items[:: max(1, len(items) // n)][:n]
