"""The Data page's report on a dataset: the summary, per-record rows, composition and duplicates (for
per-position data the label composition, segment lengths per label and the masked share); and the homology
check of its test files against its training files (:func:`overlap_check`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.dataset import header_label, load_dataset, parse_class_map, summarize
from ..data.io import read_many
from ..data.overlap import Overlap, check_overlap
from ..data.position_labels import load_positions, summarize_positions
from ..data.source import DataSource
from ..errors import InputError
from ..metrics.segments import segments
from ..task import Task, detect, weight_warnings

NOT_SCORED = "(not scored)"


@dataclass
class DataReport:
    """What the Data page shows: the summary of :func:`bioseq.data.summarize` and tables for charts."""

    summary: dict
    classes: list[str]
    records: pd.DataFrame  # id, label, length, ambiguous (fraction), file
    composition: pd.DataFrame  # label, letter, fraction, standard
    duplicates: pd.DataFrame  # sequence (first 60 letters), count, ids, labels
    notes: list[str] = field(default_factory=list)
    labelled: dict[str, int] = field(default_factory=dict)  # records per class as labelled, before renaming
    task: str = "classify"  # the name of the data's task (:func:`source_task`; "label": :func:`position_report`)
    segments: pd.DataFrame | None = None  # labellers: label, length (one row per segment)


def report(source: DataSource) -> DataReport:
    """Load and check the labelled data of ``source`` and summarise it; raises :class:`InputError`.
    Per-position data gets :func:`position_report`."""
    if source_task(source).per_position:
        return position_report(source)
    if source.label_mode == "files":
        tokens = [header_label(r.description) for r in read_many(source.train)]
        if any(t is not None for t in tokens):
            raise InputError("one file per class was chosen, but the headers carry label=VALUE tokens; "
                             "choose 'header' as the label source", ", ".join(source.train))
    if source.regions:
        from ..data.region_data import region_dataset

        raw = region_dataset(source.data_options().validate())
    else:
        raw = load_dataset(list(source.train), labels=source.labels, alphabet=source.alphabet)
    labelled = {c: int((raw.labels == i).sum()) for i, c in enumerate(raw.classes)}
    ds = raw.with_classes(parse_class_map(source.class_map)) if source.class_map else raw
    if len(ds.classes) < 2:
        raise InputError(f"training needs at least two classes; after renaming there is only {ds.classes}",
                         ", ".join(source.train or source.regions))
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
    groups = duplicate_groups(ds.seqs)
    dups = [{"sequence": s[:60] + ("…" if len(s) > 60 else ""), "count": len(g),
             "ids": ", ".join(ds.ids[i] for i in g[:10]) + (" …" if len(g) > 10 else ""),
             "labels": ", ".join(sorted({ds.classes[int(ds.labels[i])] for i in g}))}
            for s, g in groups.items()]
    summary = summarize(ds)
    notes = duplicate_notes(groups, [int(y) for y in ds.labels], len(ds), "labels")
    notes += size_notes(summary["per_class"], len(ds), "classes")
    return DataReport(summary, list(ds.classes), pd.DataFrame(rows),
                      pd.DataFrame(comp_rows, columns=["label", "letter", "fraction", "standard"]),
                      pd.DataFrame(dups, columns=["sequence", "count", "ids", "labels"]), notes, labelled)


def source_task(source: DataSource) -> Task:
    """A dataset's task (:func:`bioseq.task.detect`): labels per position when chosen so, when label FASTA files
    are given, or in three-line FASTA."""
    per_position = source.label_mode == "positions" or "regions_labels" in dict(source.region_options)
    return detect(source.train, list(source.labels_fasta) or None, per_position=per_position)


def position_report(source: DataSource) -> DataReport:
    """The Data page's report on per-position data (raises :class:`~bioseq.errors.InputError`).

    ``summary`` is :func:`~bioseq.data.position_labels.summarize_positions` plus ``masked`` (unscored
    positions) and ``ambiguous_fraction``; ``records`` has ``id, label, length, ambiguous, scored``;
    ``composition`` the letters per position label; ``segments`` one row per segment ``label, length``.
    """
    if source.regions:  # genome regions labelled per letter from BED (--regions-labels)
        from ..data.region_data import region_dataset

        ds = region_dataset(source.data_options().validate())
    else:
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
    notes = duplicate_notes(duplicate_groups(ds.seqs), [t.tobytes() for t in ds.targets()], len(ds), "label strings")
    if masked:
        how = "the mask" if source.mask else f"label {ds.ignore_label!r}" if ds.ignore_label else "the data"
        notes.append(f"{masked:,} of {summary['positions']:,} positions ({masked / summary['positions']:.1%}) are "
                     f"not scored ({how}): they count in no loss and no metric")
    notes += size_notes(summary["per_class"], len(ds), "labels")
    return DataReport(summary, list(ds.label_set), pd.DataFrame(rows),
                      pd.DataFrame(comp_rows, columns=["label", "letter", "fraction", "standard"]),
                      pd.DataFrame(columns=["sequence", "count", "ids", "labels"]), notes, dict(summary["per_class"]),
                      task="label", segments=pd.DataFrame(segs, columns=["label", "length"]))


def duplicate_groups(seqs) -> dict[str, list[int]]:
    """The records (indices) of each sequence that occurs more than once, letter case aside."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, seq in enumerate(seqs):
        groups[seq.upper()].append(i)
    return {s: g for s, g in groups.items() if len(g) > 1}


def duplicate_notes(groups: dict[str, list[int]], labels: list, records: int, what: str = "labels") -> list[str]:
    """A warning naming how many records repeat another's sequence exactly (:func:`duplicate_groups`), and how
    many of the repeated sequences carry conflicting ``labels`` (one hashable per record); none when none repeat."""
    if not groups:
        return []
    repeats = sum(len(g) - 1 for g in groups.values())
    conflicting = sum(1 for g in groups.values() if len({labels[i] for i in g}) > 1)
    return [f"{repeats:,} of {records:,} records repeat another record's sequence exactly ({len(groups):,} "
            f"{'sequences occur' if len(groups) > 1 else 'sequence occurs'} more than once"
            + (f", {conflicting:,} with different {what}" if conflicting else "")
            + "): a repeated sequence counts more than once in training and in the metrics"]


def size_notes(per_class: dict[str, int], records: int, what: str = "classes") -> list[str]:
    """Warnings about unbalanced ``per_class`` counts and a small dataset (``what``: classes or labels)."""
    notes = []
    counts = list(per_class.values())
    if counts and min(counts) < 0.2 * max(counts):
        notes.append(f"the {what} are unbalanced; training weights them by inverse frequency")
    if records < 50:
        notes.append(f"only {records} records: expect noisy validation numbers")
    unit, word = ("sequences", "class") if what == "classes" else ("positions", "label")
    return notes + weight_warnings(per_class, unit=unit, word=word)


def overlap_check(source: DataSource, identity: float = 0.4, tool: str | None = None) -> Overlap:
    """The Data page's homology check: which of the source's test files' sequences (else its validation
    files') have a training sequence at ``identity`` or more (:func:`bioseq.data.overlap.check_overlap`).

    Raises :class:`InputError` when the source has neither, and :class:`~bioseq.errors.ToolError` (its
    message says how to install MMseqs2 or CD-HIT) without a tool.
    """
    against = source.test or source.val
    if not against:
        raise InputError("no test or validation files to check against the training files",
                         ", ".join(source.train))
    return check_overlap(list(source.train), list(against), identity, tool, source.alphabet)
