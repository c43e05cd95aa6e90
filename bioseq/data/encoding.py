"""One-hot encoding with a byte lookup table, length policies and length-grouped padded batches.

Shapes:

* one sequence encodes to ``(length, alphabet)`` float32;
* a batch is ``x (batch, max_length_in_batch, alphabet)`` plus ``lengths (batch,)`` int64;
  rows past a sequence's length are zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import InputError
from .alphabets import PROTEIN, Alphabet
from .lengths import LENGTH_POLICIES, fit_length, fit_span  # noqa: F401 - importable from here as before

BLOCK = 1 << 20  # letters checked at a time by check_letters


def clean(seq: str, alphabet: Alphabet) -> str:
    """Apply the alphabet's documented rules that change length (a protein's terminal ``*``)."""
    if alphabet.name == PROTEIN.name and seq.endswith("*"):
        return seq[:-1]
    return seq


def encode(seq: str, alphabet: Alphabet, *, file: str | None = None, record: str | None = None) -> np.ndarray:
    """Encode one sequence to ``(length, alphabet.size)`` float32 with no per-letter Python loop.

    Any character outside the alphabet raises :class:`InputError` naming the file, record, the
    1-based position and the character.
    """
    return encode_span(clean(seq, alphabet), alphabet, file=file, record=record)


def encode_span(seq: str, alphabet: Alphabet, *, offset: int = 0, file: str | None = None,
                record: str | None = None) -> np.ndarray:
    """Encode a cleaned sequence, or the piece of one that starts at its 0-based ``offset``, to
    ``(len(seq), alphabet.size)``; an error names the position in the whole sequence."""
    try:
        codes = np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError as e:
        raise InputError(f"invalid character {seq[e.start]!r} (not a {alphabet.name} letter)",
                         file, record, offset + e.start + 1) from None
    rows = alphabet.table()[codes]
    bad = np.flatnonzero(np.isnan(rows[:, 0])) if rows.size else []
    if len(bad):
        p = int(bad[0])
        raise InputError(f"invalid character {seq[p]!r} (not a {alphabet.name} letter; "
                         f"accepted: {alphabet.accepted})", file, record, offset + p + 1)
    return rows


def check_letters(seq: str, alphabet: Alphabet, *, file: str | None = None, record: str | None = None,
                  block: int = BLOCK) -> None:
    """Raise :func:`encode`'s error for the first letter outside the alphabet, ``block`` letters at a time
    (memory bounded by the block, whatever the length)."""
    check_span(clean(seq, alphabet), alphabet, file=file, record=record, block=block)


def check_span(seq: str, alphabet: Alphabet, *, offset: int = 0, file: str | None = None, record: str | None = None,
               block: int = BLOCK) -> None:
    """:func:`check_letters` of letters already cleaned, or of the piece of a sequence that starts at its 0-based
    ``offset`` (a record read a block at a time): errors name the position in the whole sequence."""
    for start in range(0, len(seq), block):
        encode_span(seq[start:start + block], alphabet, offset=offset + start, file=file, record=record)


def encode_cut(seq: str, alphabet: Alphabet, max_length: int | None, policy: str = "start", *,
               file: str | None = None, record: str | None = None) -> np.ndarray:
    """``fit_length(encode(seq), ...)`` in bounded memory: every letter is checked, a block at a time,
    but only the part the model keeps is encoded (and nothing else stays referenced)."""
    seq = clean(seq, alphabet)
    start, stop = fit_span(len(seq), max_length, policy)
    if stop - start < len(seq):
        check_letters(seq, alphabet, file=file, record=record)
    return encode_span(seq[start:stop], alphabet, offset=start, file=file, record=record)


def pad_batch(arrays: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(length_i, alphabet)`` arrays into ``x (batch, max length_i, alphabet)`` and ``lengths``."""
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    width = arrays[0].shape[1]
    x = np.zeros((len(arrays), int(lengths.max()), width), dtype=np.float32)
    for i, a in enumerate(arrays):
        x[i, : len(a)] = a
    return torch.from_numpy(x), torch.from_numpy(lengths)


def encoded_lengths(arrays) -> np.ndarray | list[int]:
    """The lengths of encoded sequences; an :class:`~bioseq.data.encoded_view.EncodedView` knows them without
    reading."""
    known = getattr(arrays, "lengths", None)
    return known if isinstance(known, np.ndarray) else [len(a) for a in arrays]


def take_batch(arrays, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`pad_batch` of ``arrays[i] for i in idx``; an :class:`~bioseq.data.encoded_view.EncodedView` builds the
    same batch straight from its memory map."""
    if hasattr(arrays, "batch"):
        return arrays.batch(idx)
    return pad_batch([arrays[i] for i in idx])


def length_batches(lengths: Sequence[int], batch_size: int, *, shuffle: bool = False,
                   rng: np.random.Generator | None = None, group: bool = True,
                   letters: int | None = None) -> list[np.ndarray]:
    """Split indices into batches of similar length, so each batch pads only a little.

    Indices are sorted by length (ties broken at random when shuffling) and cut into batches;
    with ``shuffle`` the order of the batches is random too. ``group=False`` gives plain
    (optionally shuffled) batches, for comparison. ``letters`` also bounds a batch's padded size
    ``(members × its longest length)``, so long sequences come in smaller batches (at least one each).
    """
    n = len(lengths)
    rng = rng or np.random.default_rng(0)
    order = rng.permutation(n) if shuffle else np.arange(n)
    if group:
        order = order[np.argsort(np.asarray(lengths)[order], kind="stable")]
    if letters is None:
        batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    else:
        batches, start, longest = [], 0, 0
        for i, j in enumerate(order):
            longest = max(longest, int(lengths[j]))
            if i > start and (i - start >= batch_size or (i - start + 1) * longest > letters):
                batches.append(order[start:i])
                start, longest = i, int(lengths[j])
        if n:
            batches.append(order[start:])
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches
