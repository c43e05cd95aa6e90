"""Data larger than memory: a labelled dataset backed by the encoded-sequence cache (:mod:`bioseq.data.cache`).

:class:`CachedDataset` is a :class:`~bioseq.data.dataset.Dataset` in bounded memory: the records ``index``
``(N,)`` of a cache, with ``labels (N,)`` int64 in memory and ``ids``/``seqs`` read from the memory map on
demand. ``encoded()`` is an :class:`~bioseq.data.encoded_view.EncodedView`, which the training loop batches straight
from the map. Its split (:func:`split_cached`) is the stratified split of :func:`bioseq.data.dataset.split_indices`
with identical sequences found by their 64-bit hashes, so it chooses the same records; :func:`summarize_cached`
equals :func:`bioseq.data.dataset.summarize`; :func:`hashed_leakage` counts exact duplicates across the split
(the near-copy search of :mod:`bioseq.data.leakage` holds every sequence in memory).

Only one label per sequence: a labeller's per-position tracks (three-line FASTA, label and mask files joined
by id) are read in memory, as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .alphabets import Alphabet
from .cache import SequenceCache, load_or_build
from .dataset import group_ids, split_groups, summary_of
from .encoded_view import EncodedView, record_lengths, small_index
from .leakage import EXAMPLES

STREAM_BYTES = 64 << 20  # ``--cache auto`` uses the cache from this many bytes of training files (gzip x 4)


class LazyList(Sequence):
    """A read-only list whose item i is ``get(i)``, made when asked for."""

    def __init__(self, n: int, get: Callable[[int], object]):
        self.n, self.get = n, get

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.get(j) for j in range(*i.indices(self.n))]
        if not -self.n <= i < self.n:
            raise IndexError(i)
        return self.get(i % self.n)


@dataclass
class CachedDataset:
    """The records ``index`` of ``cache``, with the interface of :class:`~bioseq.data.dataset.Dataset`."""

    cache: SequenceCache
    index: np.ndarray
    files: list[str]

    def __post_init__(self):
        self.index = small_index(self.index, len(self.cache))  # int32 while it fits: 4 bytes a record
        self.labels = self.cache.labels[self.index]
        self.cache.touched(8 * len(self.index))
        self.classes, self.alphabet = self.cache.classes, self.cache.alphabet
        self.truncated = self.cache.truncated if len(self.index) == len(self.cache) else 0
        self.ids = LazyList(len(self.index), lambda i: self.cache.id(self.index[i]))
        self.seqs = LazyList(len(self.index), lambda i: self.cache.seq(self.index[i]))

    def __len__(self) -> int:
        return len(self.index)

    def encoded(self) -> EncodedView:
        return EncodedView(self.cache, self.index)

    def subset(self, index: Sequence[int]) -> CachedDataset:
        return CachedDataset(self.cache, self.index[np.asarray(index, dtype=np.int64)], self.files)

    def lengths(self) -> np.ndarray:
        return record_lengths(self.cache, self.index)

    def hashes(self) -> np.ndarray:
        self.cache.touched(8 * len(self.index))
        return self.cache.hashes[self.index]


def file_bytes(paths: Sequence[str | os.PathLike]) -> int:
    """The training files' size as :data:`STREAM_BYTES` counts it (a gzipped file counts four times)."""
    total = 0
    for p in paths:
        if not os.path.isfile(p):  # reading it says what is wrong, naming the file
            continue
        with open(p, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        total += os.path.getsize(p) * (4 if gz else 1)
    return total


def use_cache(setting: str, paths: Sequence[str | os.PathLike]) -> bool:
    """Whether ``--cache`` (``auto``, ``on``, ``off``) reads ``paths`` through the cache."""
    return setting == "on" or (setting == "auto" and file_bytes(paths) >= STREAM_BYTES)


def load_cached(paths: Sequence[str | os.PathLike], *, labels: str | None = None, alphabet: str | Alphabet | None
                = None, classes: Sequence[str] | None = None, max_length: int | None = None,
                length_policy: str = "start", class_map: dict | None = None) -> CachedDataset:
    """:func:`bioseq.data.dataset.load_dataset` through the cache (built or checked first)."""
    alphabet = alphabet.name if isinstance(alphabet, Alphabet) else alphabet
    cache = load_or_build(list(paths), labels=labels, alphabet=alphabet, classes=list(classes) if classes else None,
                          max_length=max_length, length_policy=length_policy, class_map=class_map or None)
    return CachedDataset(cache, np.arange(len(cache)), [str(p) for p in paths])


def split_cached(ds: CachedDataset, fraction: float, seed: int = 0) -> tuple[CachedDataset, CachedDataset]:
    """The stratified split of :func:`bioseq.data.dataset.split_dataset`, identical sequences by hash."""
    train, val = split_groups(ds.labels, group_ids(ds.hashes()), fraction, seed)
    train, val = ds.subset(train), ds.subset(val)
    ds.cache.release()  # the per-record arrays read: none stays resident
    return train, val


def _letter_counts(view: EncodedView, chunk: int = 8192) -> np.ndarray:
    """Letters ``(256,)`` int64 of the upper-cased sequences of ``view``, counted a chunk at a time."""
    counts = np.zeros(257, dtype=np.int64)
    for a in range(0, len(view), chunk):
        codes, _ = view.codes(np.arange(a, min(a + chunk, len(view))))
        counts += np.bincount(codes.ravel(), minlength=257)
    view.cache.release()
    counts = counts[:256]
    lower = np.arange(ord("a"), ord("z") + 1)
    counts[lower - 32] += counts[lower]
    counts[lower] = 0
    return counts


def summarize_cached(ds: CachedDataset) -> dict:
    """:func:`bioseq.data.dataset.summarize` of a cached dataset, in bounded memory."""
    counts, groups = _letter_counts(ds.encoded()), group_ids(ds.hashes())
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    pairs = np.unique(groups * len(ds.classes) + ds.labels)  # the (group, label) pairs present
    conflicting = int((np.bincount(pairs // len(ds.classes), minlength=n_groups) > 1).sum())
    del groups, pairs
    summary = summary_of(ds, {chr(c): int(counts[c]) for c in np.flatnonzero(counts)}, len(ds) - n_groups, conflicting)
    ds.cache.release()
    return summary


def hashed_leakage(train: CachedDataset, val: CachedDataset) -> dict:
    """The leakage result of :func:`bioseq.data.leakage.leakage` for exact duplicates only, found by hash."""
    th, vh = train.hashes(), val.hashes()
    order = np.argsort(th, kind="stable")
    at = np.minimum(np.searchsorted(th[order], vh), max(len(th) - 1, 0))
    hit = np.flatnonzero(th[order][at] == vh) if len(th) else np.zeros(0, dtype=np.int64)
    examples = [{"val": val.ids[int(i)], "train": train.ids[int(order[at[i]])], "similarity": 1.0}
                for i in hit[:EXAMPLES]]
    train.cache.release()
    val.cache.release()
    return {"method": "exact duplicates", "identity": None, "count": len(hit), "checked": len(val),
            "share": len(hit) / max(len(val), 1), "examples": examples,
            "note": "data read through the cache: exact duplicates only (by a 64-bit hash of each sequence); "
                    "the near-copy search holds every sequence in memory"}
