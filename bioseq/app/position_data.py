"""Per-position data (one label per letter) for the dashboard: the Data page's report on a labelling dataset
(label composition, segment lengths per label, the masked share), and labelled records to look inside a
labeller with (the true label track of each record as ``(length,)`` int64 indices, ``UNSCORED`` = -100).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.io import Record
from ..data.position_labels import is_position_data, load_positions, read_positions, read_sequences, summarize_positions
from ..data.source import DataSource
from ..metrics.segments import segments
from .data_report import DataReport, size_notes

NOT_SCORED = "(not scored)"


def is_positions(source: DataSource) -> bool:
    """Whether a dataset has a label per position (chosen so, label FASTA files given, or three-line FASTA)."""
    return source.label_mode == "positions" or is_position_data(source.train, list(source.labels_fasta) or None)


def position_report(source: DataSource) -> DataReport:
    """The Data page's report on per-position data (raises :class:`~bioseq.errors.InputError`).

    ``summary`` is :func:`~bioseq.data.position_labels.summarize_positions` plus ``masked`` (unscored
    positions) and ``ambiguous_fraction``; ``records`` has ``id, label, length, ambiguous, scored``;
    ``composition`` the letters per position label; ``segments`` one row per segment ``label, length``.
    """
    ds = load_positions(list(source.train), labels_fasta=list(source.labels_fasta) or None,
                        mask=list(source.mask) or None, ignore_label=source.ignore_label, alphabet=source.alphabet)
    summary = summarize_positions(ds)
    standard = set(ds.alphabet.letters)
    comp: dict[str, Counter] = defaultdict(Counter)
    rows, segs, ambiguous = [], [], 0
    names = np.array(ds.label_set, dtype=object)
    for ident, seq, track in zip(ds.ids, ds.seqs, ds.targets()):
        up = seq.upper()
        amb = sum(1 for c in up if c not in standard)
        ambiguous += amb
        scored = track >= 0
        rows.append({"id": ident, "label": "sequences", "length": len(seq), "ambiguous": amb / max(len(seq), 1),
                     "scored": float(scored.mean()) if len(seq) else float("nan")})
        for letter, t in zip(up, track):
            comp[names[t] if t >= 0 else NOT_SCORED][letter] += 1
        segs += [{"label": names[k], "length": end - start} for k, start, end in segments(track)]
    comp_rows = [{"label": label, "letter": c, "fraction": n / (sum(counts.values()) or 1), "standard": c in standard}
                 for label, counts in comp.items() for c, n in sorted(counts.items())]
    masked = summary["positions"] - sum(summary["per_class"].values())
    summary.update(masked=int(masked), ambiguous_fraction=ambiguous / max(summary["positions"], 1),
                   labels=list(ds.label_set))
    notes = []
    if masked:
        how = "the mask" if source.mask else f"label {ds.ignore_label!r}" if ds.ignore_label else "the data"
        notes.append(f"{masked:,} of {summary['positions']:,} positions ({masked / summary['positions']:.1%}) are "
                     f"not scored ({how}): they count in no loss and no metric")
    notes += size_notes(summary["per_class"], len(ds), "labels")
    return DataReport(summary, list(ds.label_set), pd.DataFrame(rows),
                      pd.DataFrame(comp_rows, columns=["label", "letter", "fraction", "standard"]),
                      pd.DataFrame(columns=["sequence", "count", "ids", "labels"]), notes, dict(summary["per_class"]),
                      task="label", segments=pd.DataFrame(segs, columns=["label", "length"]))


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
                         ignore_label=(meta.get("labelling") or {}).get("ignore_label"), limit=limit)


def spread(items: list, n: int) -> list:
    """``n`` items spread evenly over ``items``."""
    return items[:: max(1, len(items) // n)][:n]
