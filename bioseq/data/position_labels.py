"""Per-position labels: one label character for every letter of a sequence (sequence labelling).

Layouts read:

* **three-line FASTA** (as in DeepTMHMM and SignalP 6): a header, the sequence on one line, then the label
  string on one line of the same length;
* **paired files**: a sequence FASTA and a label FASTA with the same record ids, whose "sequence" is the
  label string (the NetSurfP / TAPE / FLIP layout); records are matched by id, not by order;
* an optional **mask** of scored positions: a third FASTA of ``0``/``1`` with the same ids (1 = scored), or a
  label character declared unscored (``ignore_label``, e.g. ``-``).

A :class:`PositionDataset` holds, per record, the sequence and its label string, and a boolean mask
``(length,)`` of scored positions. :meth:`PositionDataset.targets` gives ``(length,)`` int64 label indices,
with :data:`UNSCORED` (PyTorch's ``ignore_index``) where a position is not scored, so unscored positions
never enter the loss, the metrics or batch statistics. Labels are single characters; the label set is
the sorted set of characters seen (minus the ignored one) unless one is declared.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from .alphabets import Alphabet
from .io import Record, read_blocks, read_records

UNSCORED = -100  # torch.nn.functional.cross_entropy's default ignore_index


@dataclass
class PositionDataset:
    """Sequences with a label per position. ``labels[i]`` is a string as long as ``seqs[i]``."""

    ids: list[str]
    seqs: list[str]
    labels: list[str]
    masks: list[np.ndarray]  # bool (length,), True = scored
    label_set: list[str]
    alphabet: Alphabet | None = None
    files: list[str] = field(default_factory=list)
    ignore_label: str | None = None
    truncated: int = 0

    def __len__(self) -> int:
        return len(self.seqs)

    @property
    def classes(self) -> list[str]:
        """The labels, as a classifier's classes (the model's ``n_classes`` and ``bundle.classes``)."""
        return self.label_set

    def targets(self) -> list[np.ndarray]:
        """Label indices ``(length,)`` int64 per record; :data:`UNSCORED` where a position is not scored."""
        lut = np.full(256, UNSCORED, dtype=np.int64)
        for i, c in enumerate(self.label_set):
            lut[ord(c)] = i
        out = []
        for lab, mask in zip(self.labels, self.masks):
            t = lut[np.frombuffer(lab.encode("latin-1"), dtype=np.uint8)]
            out.append(np.where(mask, t, UNSCORED))
        return out

    def subset(self, index: Sequence[int]) -> PositionDataset:
        idx = list(index)
        return PositionDataset([self.ids[i] for i in idx], [self.seqs[i] for i in idx],
                               [self.labels[i] for i in idx], [self.masks[i] for i in idx], self.label_set,
                               self.alphabet, self.files, self.ignore_label)

    def encoded(self) -> list[np.ndarray]:
        """One-hot ``(length, alphabet)`` float32 per record (the alphabet must be set)."""
        from .encoding import encode

        return [encode(s, self.alphabet, record=i) for s, i in zip(self.seqs, self.ids)]

    def lengths(self) -> np.ndarray:
        return np.fromiter((len(s) for s in self.seqs), dtype=np.int64, count=len(self.seqs))


def looks_three_line(path: str | os.PathLike, sample: int = 200) -> bool:
    """True when the first ``sample`` records of a FASTA file look like three-line FASTA: at least half of them
    have exactly two lines, at least 90% of those two lines of equal length, and the second lines use other
    characters than the first lines (a wrapped FASTA of fixed-length sequences has two equal lines too, but of
    the same letters). The records that break the layout are then reported by :func:`read_three_line`
    (a label string of the wrong length, a missing label line), not mistaken for another kind of data."""
    seq_chars, label_chars, n, two, equal = set(), set(), 0, 0, 0
    for _, lines in read_blocks(path, "fasta"):
        n += 1
        if len(lines) == 2:
            two += 1
            equal += len(lines[0]) == len(lines[1])
            seq_chars.update(lines[0].upper())
            label_chars.update(lines[1])
        if n >= sample:
            break
    return (n > 0 and two >= 0.5 * n and equal >= 0.9 * two and equal > 0 and label_chars != seq_chars
            and len(label_chars) <= 64)


def read_sequences(paths: Sequence[str | os.PathLike], hold: int | None = None) -> Iterator[Record]:
    """Records of ``paths`` in order, streaming; a three-line FASTA gives its sequences (labels dropped). ``hold``:
    a longer record of a plain FASTA file is not held (:func:`bioseq.data.io.read_records`)."""
    from .io import read_many

    for p in paths:
        if looks_three_line(p):
            yield from (rec for rec, _ in read_three_line(p))
        else:
            yield from read_many([p], hold=hold)


def read_three_line(path: str | os.PathLike) -> Iterator[tuple[Record, str]]:
    """``(record, label string)`` per record of a three-line FASTA file; the record holds the sequence only."""
    for rec, lines in read_blocks(path, "fasta"):
        if len(lines) != 2:
            raise InputError(f"a three-line FASTA record has a sequence line and a label line; this one has "
                             f"{len(lines)} line{'s' if len(lines) != 1 else ''}{_others(path)}", rec.file,
                             rec.where)
        seq, labels = lines
        _check_lengths(rec, len(seq), len(labels), rec.file)
        yield Record(rec.id, rec.description, seq, rec.file, rec.number), labels


def _others(path: str | os.PathLike, shown: int = 5) -> str:
    """Which records of a three-line FASTA file lack the layout (not two lines), for the error's end."""
    bad, n = [], 0
    for rec, lines in read_blocks(path, "fasta"):
        n += 1
        if len(lines) != 2:
            bad.append(rec.where)
    more = f" and {len(bad) - shown} more" if len(bad) > shown else ""
    return f" ({len(bad)} of {n} records lack a label line or have more lines: {', '.join(bad[:shown])}{more})"


def _check_lengths(rec: Record, n_seq: int, n_labels: int, label_file: str) -> None:
    if n_labels != n_seq:
        raise InputError(f"the label string has {n_labels} characters but the sequence has {n_seq} letters",
                         label_file, rec.where)


def _label_char(c: str) -> bool:
    return c.isascii() and c.isprintable()


def _check_label_chars(rec: Record, labels: str, labels_fasta: Sequence[str] | None) -> None:
    """A label is one printable ASCII character (a byte per position): refuse anything else by record and
    position."""
    if labels.isascii() and labels.isprintable():
        return
    at = next(i for i, c in enumerate(labels) if not _label_char(c))
    label_file = labels_fasta[0] if labels_fasta and len(labels_fasta) == 1 else rec.file
    raise InputError(f"label {labels[at]!r} is not a printable ASCII character; a label is one ASCII letter, "
                     "digit or sign per position", label_file, rec.where, at + 1)


def _by_id(paths: Sequence[str | os.PathLike], what: str) -> dict[str, tuple[str, str, str]]:
    """``id -> (string, file, where)`` for every record of label or mask files; a repeated id is an error."""
    table: dict[str, tuple[str, str, str]] = {}
    for path in paths:
        for rec in read_records(path, "fasta"):
            if rec.id in table:
                raise InputError(f"id {rec.id!r} appears twice in the {what} files", rec.file, rec.where)
            table[rec.id] = (rec.seq, rec.file, rec.where)
    return table


def read_paired(seq_paths: Sequence[str | os.PathLike], label_paths: Sequence[str | os.PathLike],
                ) -> Iterator[tuple[Record, str]]:
    """``(record, label string)`` for sequence files and label files matched by record id."""
    table = _by_id(label_paths, "label")
    seen = set()
    for rec in (r for p in seq_paths for r in read_records(p)):
        if rec.id not in table:
            raise InputError(f"id {rec.id!r} has no label string in {', '.join(map(str, label_paths))}",
                             rec.file, rec.where)
        labels, file, _ = table[rec.id]
        _check_lengths(rec, len(rec.seq), len(labels), file)
        seen.add(rec.id)
        yield rec, labels
    extra = next((k for k in table if k not in seen), None)
    if extra is not None:
        _, file, where = table[extra]
        raise InputError(f"id {extra!r} has a label string but no sequence in "
                         f"{', '.join(map(str, seq_paths))}", file, where)


def read_masks(paths: Sequence[str | os.PathLike]) -> dict[str, tuple[np.ndarray, str, str]]:
    """``id -> (scored (length,) bool, file, where)`` from FASTA files of ``0``/``1``."""
    out = {}
    for ident, (text, file, where) in _by_id(paths, "mask").items():
        bad = next((c for c in text if c not in "01"), None)
        if bad is not None:
            raise InputError(f"a mask is made of 0 (not scored) and 1 (scored); found {bad!r}", file, where)
        out[ident] = (np.frombuffer(text.encode(), dtype=np.uint8) == ord("1"), file, where)
    return out


def is_position_data(paths: Sequence[str | os.PathLike], labels_fasta: Sequence[str] | None = None) -> bool:
    """Whether the inputs are per-position data: label files are given, or every file is three-line FASTA."""
    return bool(labels_fasta) or (bool(paths) and all(looks_three_line(p) for p in paths))


def read_positions(paths: Sequence[str | os.PathLike], *, labels_fasta: Sequence[str] | None = None,
                   mask: Sequence[str] | None = None, ignore_label: str | None = None,
                   label_set: Sequence[str] | None = None) -> PositionDataset:
    """Read per-position data from three-line FASTA files, or from sequence files plus ``labels_fasta``.

    ``mask`` files mark scored positions; ``ignore_label`` is a label character that is never scored.
    ``label_set`` fixes the labels (e.g. a model's); otherwise it is the sorted set of label characters.
    The alphabet is not checked here (see :func:`bioseq.data.dataset.load_positions`).
    """
    paths = [str(p) for p in paths]
    if not paths:
        raise InputError("no input files given")
    if ignore_label is not None and (len(ignore_label) != 1 or not _label_char(ignore_label)):
        raise InputError(f"the unscored label must be one ASCII character, not {ignore_label!r}")
    pairs = read_paired(paths, labels_fasta) if labels_fasta else (
        pair for p in paths for pair in read_three_line(p))
    masks = read_masks(mask) if mask else None
    ids, seqs, labels, scored, where = [], [], [], [], []
    for rec, lab in pairs:
        _check_label_chars(rec, lab, labels_fasta)
        codes = np.frombuffer(lab.encode("ascii"), dtype=np.uint8)
        if masks is not None:
            if rec.id not in masks:
                raise InputError(f"id {rec.id!r} has no mask in {', '.join(map(str, mask))}", rec.file, rec.where)
            m, file, _ = masks[rec.id]
            if len(m) != len(rec.seq):
                raise InputError(f"the mask has {len(m)} characters but the sequence has {len(rec.seq)} letters",
                                 file, rec.where)
        else:
            m = np.ones(len(rec.seq), dtype=bool)
        if ignore_label is not None:
            m = m & (codes != ord(ignore_label))
        ids.append(rec.id)
        seqs.append(rec.seq)
        labels.append(lab)
        scored.append(m)
        where.append((rec, codes))
    seen = np.zeros(256, dtype=bool)
    for (_, codes), m in zip(where, scored):
        seen[codes[m]] = True
    found = [chr(c) for c in np.flatnonzero(seen)]
    chosen = list(label_set) if label_set is not None else found
    allowed = np.zeros(256, dtype=bool)
    allowed[[ord(c) for c in chosen]] = True
    for (rec, codes), m in zip(where, scored):
        bad = np.flatnonzero(m & ~allowed[codes])
        if bad.size:
            label_file = labels_fasta[0] if labels_fasta and len(labels_fasta) == 1 else rec.file
            raise InputError(f"label {chr(codes[bad[0]])!r} is not one of the labels {''.join(chosen)}",
                             label_file, rec.where, int(bad[0]) + 1)
    if label_set is None and len(chosen) < 2:
        raise InputError(f"per-position labels need at least two labels among the scored positions; "
                         f"found only {chosen}", ", ".join(paths))
    return PositionDataset(ids, seqs, labels, scored, chosen, None,
                           paths + [str(Path(p)) for p in labels_fasta or []], ignore_label)


def load_positions(paths: Sequence[str | os.PathLike], *, labels_fasta: Sequence[str] | None = None,
                   mask: Sequence[str] | None = None, ignore_label: str | None = None,
                   alphabet: str | Alphabet | None = None, label_set: Sequence[str] | None = None,
                   max_length: int | None = None, length_policy: str = "start") -> PositionDataset:
    """:func:`read_positions`, then the alphabet detected (or given) and every sequence checked against it.

    Sequences longer than ``max_length`` are cut by ``length_policy``, their labels and masks with them. A
    protein's terminal ``*`` is kept as a position only if it has a label; here it is refused like any other
    non-letter (labels and letters must stay aligned).
    """
    from .alphabets import detect_alphabet, get_alphabet
    from .encoding import encode, fit_length

    ds = read_positions(paths, labels_fasta=labels_fasta, mask=mask, ignore_label=ignore_label, label_set=label_set)
    if isinstance(alphabet, str):
        alphabet = get_alphabet(alphabet)
    if alphabet is None:
        try:
            alphabet = detect_alphabet(ds.seqs, ", ".join(ds.files[: len(paths)]))
        except ValueError as e:
            raise InputError(str(e)) from None
    for i, (ident, seq) in enumerate(zip(ds.ids, ds.seqs)):
        if seq.endswith("*") and alphabet.name == "protein":
            raise InputError("a terminal '*' has a label of its own here; remove it from the sequence and its "
                             "label string", ds.files[0], f"{i + 1} ({ident})", len(seq))
        encode(seq, alphabet, file=", ".join(map(str, paths)), record=f"{i + 1} ({ident})")
    truncated = 0
    if max_length is not None:
        for i, seq in enumerate(ds.seqs):
            if len(seq) > max_length:
                truncated += 1
                ds.seqs[i] = fit_length(seq, max_length, length_policy)
                ds.labels[i] = fit_length(ds.labels[i], max_length, length_policy)
                ds.masks[i] = fit_length(ds.masks[i], max_length, length_policy)
    ds.alphabet, ds.truncated = alphabet, truncated
    return ds


def split_positions(ds: PositionDataset, fraction: float, seed: int = 0, identity: float | None = None
                    ) -> tuple[PositionDataset, PositionDataset, dict]:
    """``(train, val, rule)`` as :func:`bioseq.data.splits.split` does for classification: a random split
    keeping identical sequences on one side, or a homology-aware one with ``identity``."""
    from .dataset import Dataset
    from .splits import split

    proxy = Dataset([str(i) for i in range(len(ds))], ds.seqs, np.zeros(len(ds), dtype=np.int64), ["all"],
                    ds.alphabet, ds.files)
    train, val, rule = split(proxy, fraction, seed, identity)
    return ds.subset([int(i) for i in train.ids]), ds.subset([int(i) for i in val.ids]), rule


def summarize_positions(ds: PositionDataset) -> dict:
    """Records, scored positions per label (``per_class``, as for classification), lengths, alphabet,
    the scored share and the labels."""
    lengths = ds.lengths()
    counts = np.zeros(len(ds.label_set), dtype=np.int64)
    for t in ds.targets():
        counts += np.bincount(t[t >= 0], minlength=len(ds.label_set))
    total = int(lengths.sum())
    return {
        "records": len(ds), "task": "label",
        "per_class": {c: int(n) for c, n in zip(ds.label_set, counts)},
        "positions": total, "scored_fraction": float(counts.sum() / total) if total else float("nan"),
        "length_min": int(lengths.min()), "length_median": float(np.median(lengths)),
        "length_max": int(lengths.max()), "alphabet": ds.alphabet.name if ds.alphabet else None,
        "truncated": ds.truncated, "ignore_label": ds.ignore_label,
    }
