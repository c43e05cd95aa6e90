"""Batches straight from the encoded-sequence cache (:mod:`bioseq.data.cache`) for the training loop.

An :class:`EncodedView` holds, per record of its index, only the index and the length (4 bytes each while the
cache has under 2**31 records and letters a record); a record's place in the codes is read from the cache's
mapped offsets when its batch is made. Every read is counted on the cache (:meth:`SequenceCache.touched`) as the
pages it maps in (a record read at random maps a block of pages), and the mapped pages are released past a few
MiB and at the end of every whole pass: resident memory stays flat however many records the cache holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from .cache import SequenceCache

PAD = 256  # the code of a padded position: the zero row of the batch table
CHUNK_RECORDS = 1 << 20  # records whose lengths are read from the map at a time
FAULT = 1 << 16  # bytes a read of one place maps in at most (the kernel's fault-around: 16 pages)


def small_index(index, n: int) -> np.ndarray:
    """``index`` as int32 when every entry fits (``n`` records), else int64: half the memory per record."""
    return np.asarray(index, dtype=np.int32 if n < 2**31 else np.int64)


def record_lengths(cache: SequenceCache, index: np.ndarray) -> np.ndarray:
    """The lengths of the records ``index``, int32 when they fit, read from the mapped offsets a chunk at a time
    (never an int64 array of every record)."""
    longest = int(cache.meta["total"])  # no record is longer than all the letters
    out = np.empty(len(index), dtype=np.int32 if longest < 2**31 else np.int64)
    for a in range(0, len(index), CHUNK_RECORDS):
        part = index[a:a + CHUNK_RECORDS].astype(np.int64)
        out[a:a + len(part)] = cache.offsets[part + 1] - cache.offsets[part]
        cache.touched(16 * len(part))
    return out


class EncodedView:
    """The encoded sequences of the records ``index`` of a cache, as the training loop reads them: item i is
    the ``(length, alphabet)`` float32 array of :func:`bioseq.data.encoding.encode`, :meth:`batch` builds
    a padded batch straight from the memory map (identical to :func:`bioseq.data.encoding.pad_batch`)."""

    def __init__(self, cache: SequenceCache, index: np.ndarray):
        self.cache, self.index = cache, small_index(index, len(cache))
        self.lengths = record_lengths(cache, self.index)
        self.table = np.vstack([np.nan_to_num(cache.alphabet.table(), nan=0.0),
                                np.zeros((1, cache.alphabet.size), dtype=np.float32)])  # (257, K): PAD is 0

    def __len__(self) -> int:
        return len(self.index)

    def starts(self, idx) -> np.ndarray:
        """Where the records ``idx`` of this view start in the codes (read from the mapped offsets)."""
        return self.cache.offsets[np.asarray(self.index[idx], dtype=np.int64)]

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.starts(i))
        return self.table[self.cache.codes[start:start + int(self.lengths[i])]]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def codes(self, idx: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Letter codes ``(B, T)`` int64 (:data:`PAD` past each end, T the longest) and lengths ``(B,)`` int64."""
        idx = np.asarray(idx, dtype=np.int64)
        lengths = self.lengths[idx].astype(np.int64)
        pos = np.arange(int(lengths.max()) if len(lengths) else 0)
        inside = pos[None, :] < lengths[:, None]
        where = np.where(inside, self.starts(idx)[:, None] + pos[None, :], 0)
        codes = np.where(inside, self.cache.codes[where].astype(np.intp), PAD)
        self.cache.touched(int(lengths.sum()) + 2 * FAULT * len(idx))  # a random record maps its pages, and its
        # offset's, in blocks: counted as such, the resident part of the map stays under RELEASE
        return codes, lengths

    def batch(self, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, alphabet)`` float32 and ``lengths (B,)`` for the records ``idx`` of this view."""
        codes, lengths = self.codes(idx)
        return torch.from_numpy(self.table[codes]), torch.from_numpy(lengths)

    def composition_chunks(self, chunk: int = 8192) -> Iterator[np.ndarray]:
        """Letter frequencies ``(n, alphabet)`` float64 (:func:`bioseq.data.profile.compositions`), ``chunk``
        records at a time; the pages read are released at the end."""
        for a in range(0, len(self), chunk):
            codes, lengths = self.codes(np.arange(a, min(a + chunk, len(self))))
            rows = np.arange(len(codes))[:, None] * (PAD + 1) + codes
            counts = np.bincount(rows.ravel(), minlength=len(codes) * (PAD + 1)).reshape(len(codes), PAD + 1)
            yield counts @ self.table.astype(np.float64) / np.maximum(lengths, 1)[:, None]
        self.cache.release()
