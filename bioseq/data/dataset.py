"""Labelled datasets: labels from headers, a CSV/TSV, or one file per class; splits and summaries.

A :class:`Dataset` holds parallel lists ``ids``, ``seqs`` and ``labels`` (class indices into
``classes``) plus the detected or chosen alphabet. ``encoded()`` gives one ``(length, alphabet)``
float32 array per record.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, ref
from .alphabets import Alphabet, detect_alphabet, get_alphabet
from .encoding import clean, encode, fit_length
from .io import Record, read_records
from .streams import reopenable

LABEL_TOKEN = re.compile(r"(?:^|[\s|;])label=([^\s|;]+)")
NOT_A_LETTER = re.compile(r"[^A-Za-z*]")
NO_TOKEN = (f"no label=VALUE token in the header; label every header, give {ref('labels')}, or give one file "
            "per class")


def header_label(description: str) -> str | None:
    """The value of a ``label=VALUE`` token in a FASTA header, or ``None``."""
    m = LABEL_TOKEN.search(description)
    return m.group(1) if m else None


def class_from_filename(path: str | os.PathLike) -> str:
    """A class name from a file name, up to its first dot: ``AMP.tr.fa`` -> ``AMP``."""
    return Path(path).name.split(".", 1)[0]


def read_label_table(path: str | os.PathLike) -> dict[str, str]:
    """Read ``id,label`` pairs from a CSV or TSV file with a header row (a pipe too: read once). An id may appear
    again with the same label; with another label it is an error naming the id and both lines."""
    p = reopenable(path)
    if not p.is_file():
        raise InputError("no such labels file" if not p.exists() else "is not a file", str(path))
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("labels file is not UTF-8 text", str(path)) from None
    first = text.splitlines()[0] if text.strip() else ""
    delim = "\t" if "\t" in first else ","
    rows = list(csv.DictReader(text.splitlines(), delimiter=delim))
    if not rows or not {"id", "label"} <= set(rows[0]):
        raise InputError("labels file needs a header row with columns id,label", str(path))
    table: dict[str, str] = {}
    line: dict[str, int] = {}
    for n, row in enumerate(rows, 2):
        ident, label = (row.get("id") or "").strip(), (row.get("label") or "").strip()
        if not ident or not label:
            raise InputError(f"line {n}: empty id or label", str(path))
        if table.setdefault(ident, label) != label:
            raise InputError(f"line {n}: id {ident!r} is labelled {label!r} here but {table[ident]!r} on line "
                             f"{line[ident]}; give each id one label", str(path))
        line.setdefault(ident, n)
    return table


@dataclass
class Dataset:
    """Labelled sequences. ``labels[i]`` indexes ``classes``."""

    ids: list[str]
    seqs: list[str]
    labels: np.ndarray
    classes: list[str]
    alphabet: Alphabet
    files: list[str] = field(default_factory=list)
    truncated: int = 0

    def __len__(self) -> int:
        return len(self.seqs)

    def encoded(self) -> list[np.ndarray]:
        return [encode(s, self.alphabet, record=i) for s, i in zip(self.seqs, self.ids)]

    def subset(self, index: Sequence[int]) -> Dataset:
        idx = list(index)
        return Dataset([self.ids[i] for i in idx], [self.seqs[i] for i in idx], self.labels[idx],
                       self.classes, self.alphabet, self.files, 0)

    def with_classes(self, class_map: Mapping[str, str]) -> Dataset:
        """The records renamed, merged or dropped under ``class_map`` (see :func:`parse_class_map`)."""
        keep, names = renamed([self.classes[int(y)] for y in self.labels], class_map)
        idx = [i for i, k in enumerate(keep) if k]
        classes = sorted(set(names))
        index = {c: i for i, c in enumerate(classes)}
        sub = self.subset(idx)
        return Dataset(sub.ids, sub.seqs, np.array([index[n] for n in names], dtype=np.int64), classes,
                       self.alphabet, self.files, self.truncated)

    def lengths(self) -> np.ndarray:
        return np.fromiter((len(s) for s in self.seqs), dtype=np.int64, count=len(self.seqs))


def known_labels(records: Sequence[Record], table: dict[str, str] | None = None) -> list[str | None]:
    """Each record's label where one can be found (a labels table, a ``label=`` token, or, when the
    records come from several files and no header has a token, the file name), else ``None``."""
    if table is not None:
        return [table.get(r.id) for r in records]
    tokens = [header_label(r.description) for r in records]
    if all(t is None for t in tokens) and len({r.file for r in records}) > 1:
        return [class_from_filename(r.file) for r in records]
    return tokens


def _label_records(records: list[Record], paths: list[str], table: dict[str, str] | None) -> list[str]:
    if table is not None:
        missing = next((r for r in records if r.id not in table), None)
        if missing:
            raise InputError(f"id {missing.id!r} is not in the labels file", missing.file, missing.where)
        return [table[r.id] for r in records]
    tokens = [header_label(r.description) for r in records]
    if all(t is not None for t in tokens):
        return tokens  # type: ignore[return-value]
    if len(paths) > 1 and all(t is None for t in tokens):
        return [class_from_filename(r.file) for r in records]
    r = records[tokens.index(None)]
    raise InputError(NO_TOKEN, r.file, r.where)


def parse_class_map(text: str | None) -> dict[str, str]:
    """``"AMP=antimicrobial,weak=enhancer,strong=enhancer,junk="`` -> a rename map; an empty new name drops
    the class, the same new name for two classes merges them."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        old, sep, new = part.partition("=")
        if not sep or not old.strip():
            raise InputError(f"class map entries are OLD=NEW (NEW empty to drop a class), not {part.strip()!r}")
        out[old.strip()] = new.strip()
    return out


def renamed(names: Sequence[str], class_map: Mapping[str, str]) -> tuple[list[bool], list[str]]:
    """Which labels are kept, and the kept labels renamed, under ``class_map``."""
    new = [class_map.get(n, n) for n in names]
    return [bool(n) for n in new], [n for n in new if n]


def format_class_map(mapping: Mapping[str, str]) -> str | None:
    """The inverse of :func:`parse_class_map` (``None`` for no change)."""
    text = ",".join(f"{k}={v}" for k, v in mapping.items() if v != k)
    return text or None


def load_dataset(paths: Sequence[str | os.PathLike], *, labels: str | os.PathLike | None = None,
                 alphabet: str | Alphabet | None = None, classes: Sequence[str] | None = None,
                 max_length: int | None = None, length_policy: str = "start",
                 records: Sequence[Record] | None = None, class_map: Mapping[str, str] | None = None) -> Dataset:
    """Read labelled sequences from ``paths`` (labels from headers, a table, or file names).

    ``classes`` fixes the class list (e.g. a model's, for validation data); otherwise classes are
    the sorted label values. ``class_map`` renames labels first (see :func:`parse_class_map`): two
    labels given one name merge, a label mapped to ``""`` is dropped with its records. Every sequence
    is checked against the alphabet here, so errors name the file and record before any training
    starts. ``records`` are the files' records when the caller has read them already.
    """
    paths = [str(p) for p in paths]
    if not paths:
        raise InputError("no input files given")
    records = list(records) if records is not None else [r for p in paths for r in read_records(p)]
    table = read_label_table(labels) if labels else None
    names = _label_records(records, paths, table)
    if class_map:
        keep, names = renamed(names, class_map)
        records = [r for r, k in zip(records, keep) if k]
        if not records:
            raise InputError("every class was dropped", ", ".join(paths))
    if isinstance(alphabet, str):
        alphabet = get_alphabet(alphabet)
    if alphabet is None:
        for r in records:  # a character of no alphabet is no evidence of protein: name it exactly
            bad = NOT_A_LETTER.search(r.seq)
            if bad:
                raise InputError(f"invalid character {bad.group()!r} (not a letter of any alphabet)",
                                 r.file, r.where, bad.start() + 1)
        try:
            alphabet = detect_alphabet((r.seq for r in records), ", ".join(paths))
        except ValueError as e:
            raise InputError(str(e)) from None
    seqs = []
    truncated = 0
    for r in records:
        encode(r.seq, alphabet, file=r.file, record=r.where)  # validates letters (encode drops one terminal *)
        s = clean(r.seq, alphabet)
        cut = fit_length(s, max_length, length_policy)
        truncated += len(cut) < len(s)
        seqs.append(cut)
    class_list = list(classes) if classes is not None else sorted(set(names))
    unknown = next((i for i, n in enumerate(names) if n not in class_list), None)
    if unknown is not None:
        r = records[unknown]
        raise InputError(f"label {names[unknown]!r} is not one of the classes {class_list}", r.file, r.where)
    if classes is None and len(class_list) < 2:
        raise InputError(f"needs at least two classes; found only {class_list}", ", ".join(paths))
    index = {c: i for i, c in enumerate(class_list)}
    return Dataset([r.id for r in records], seqs, np.array([index[n] for n in names], dtype=np.int64),
                   class_list, alphabet, paths, truncated)


def split_dataset(ds: Dataset, fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Stratified random split; identical sequences always land on the same side.

    Groups of identical sequences (case-insensitive) are assigned whole, class by class (by the
    group's first label), until each class has ``fraction`` of its records in the validation part.
    """
    train, val = split_indices(ds, fraction, seed)
    return ds.subset(train), ds.subset(val)


def split_indices(ds: Dataset, fraction: float, seed: int = 0,
                  groups: Sequence[int] | None = None) -> tuple[list[int], list[int]]:
    """The record indices ``(train, val)`` of :func:`split_dataset`; ``groups`` (one key per record, e.g.
    a homology cluster) are kept whole instead of the groups of identical sequences."""
    keys = groups if groups is not None else [s.upper() for s in ds.seqs]
    train, val = split_groups(ds.labels, group_ids(keys), fraction, seed)
    return train.tolist(), val.tolist()


def group_ids(keys) -> np.ndarray:
    """One group number per record, ``(N,)`` int64, equal keys one group, numbered by first appearance.
    ``keys`` is a NumPy array (e.g. sequence hashes, sorted out by NumPy) or any sequence of hashable keys."""
    if isinstance(keys, np.ndarray):
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        return rank[inverse.reshape(-1)]
    number: dict = {}
    return np.fromiter((number.setdefault(k, len(number)) for k in keys), dtype=np.int64, count=len(keys))


def split_groups(labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Record indices ``(train, val)``, each ascending: whole groups (numbered by first appearance, see
    :func:`group_ids`) go to validation, class by class (by the group's first label), in a random order of
    the seed, until each class has ``fraction`` of its records there (at least one group)."""
    if not 0 < fraction < 1:
        raise ValueError("the validation fraction must be between 0 and 1")
    groups = np.asarray(groups, dtype=np.int64)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    first = np.full(n_groups, len(groups), dtype=np.int64)
    np.minimum.at(first, groups, np.arange(len(groups)))
    size, group_class = np.bincount(groups, minlength=n_groups), np.asarray(labels)[first]
    rng = np.random.default_rng(seed)
    held = np.zeros(n_groups, dtype=bool)
    for c in np.unique(group_class):
        mine = np.flatnonzero(group_class == c)  # in order of first appearance
        target = max(round(fraction * int(size[mine].sum())), 1)
        order = mine[rng.permutation(len(mine))]
        before = np.cumsum(size[order]) - size[order]  # records taken before each group
        held[order[before < target]] = True
    val = held[groups]
    return np.flatnonzero(~val), np.flatnonzero(val)


def summarize(ds: Dataset) -> dict:
    """Counts per class, lengths, alphabet, ambiguous-letter fraction, duplicates, letter composition."""
    letters = Counter()
    for s in ds.seqs:
        letters.update(s.upper())
    seq_count = Counter(s.upper() for s in ds.seqs)
    label_sets: dict[str, set[int]] = defaultdict(set)
    for s, y in zip(ds.seqs, ds.labels):
        label_sets[s.upper()].add(int(y))
    return summary_of(ds, letters, int(sum(n - 1 for n in seq_count.values() if n > 1)),
                      int(sum(1 for v in label_sets.values() if len(v) > 1)))


def summary_of(ds, letters: Mapping[str, int], duplicates: int, conflicting: int) -> dict:
    """The :func:`summarize` dict of ``ds`` (its labels, lengths and alphabet) from upper-case letter counts and
    the duplicate counts."""
    lengths, standard = ds.lengths(), set(ds.alphabet.letters)
    total = sum(letters.values()) or 1
    ambiguous = sum(n for c, n in letters.items() if c not in standard)
    return {
        "records": len(ds),
        "per_class": {c: int((ds.labels == i).sum()) for i, c in enumerate(ds.classes)},
        "length_min": int(lengths.min()), "length_median": float(np.median(lengths)),
        "length_max": int(lengths.max()),
        "alphabet": ds.alphabet.name,
        "ambiguous_fraction": ambiguous / total,
        "duplicate_records": duplicates,
        "conflicting_duplicates": conflicting,
        "composition": {c: n / total for c, n in sorted(letters.items())},
        "truncated": ds.truncated,
    }


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(reopenable(path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
