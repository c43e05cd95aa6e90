"""What a model's training data looked like: the training profile stored in its model file (under
``training.profile``), against which :mod:`bioseq.prediction.novelty` flags records unlike it.

The profile holds the range of training lengths, the training letters' mean composition ``(alphabet,)`` and a
composition cut-off: :data:`MARGIN` times the distance that 99% of the training records stay within. The
distance is the Jensen-Shannon divergence (base 2, 0..1) between a record's letter frequencies and the
training mean; ambiguity codes count as their fractional letters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MARGIN = 1.5  # the composition cut-off, in units of the 99th percentile of the training records' distances


def compositions(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Letter frequencies ``(N, alphabet)`` of encoded sequences ``(length, alphabet)``: the mean one-hot row,
    so an ambiguity code counts as its fractional letters. An empty sequence gives a row of zeros."""
    if not len(arrays):
        return np.zeros((0, 0))
    return np.stack([a.mean(0) if len(a) else np.zeros(a.shape[1]) for a in arrays]).astype(np.float64)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (bits) between rows of ``p (N, K)`` and the distribution ``q (K,)``."""
    p = np.atleast_2d(p)
    m = (p + q) / 2

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 0, a * np.log2(a / np.where(b > 0, b, 1)), 0.0).sum(1)

    return np.clip((kl(p, m) + kl(np.broadcast_to(q, p.shape), m)) / 2, 0.0, 1.0)


def training_profile(arrays: Sequence[np.ndarray]) -> dict:
    """The profile stored in a model file: length range, mean composition, composition-distance cut-off."""
    from .encoding import encoded_lengths  # loads PyTorch

    if hasattr(arrays, "composition_chunks"):  # a cache: two passes by chunks, never (N, alphabet) at once
        mean = np.zeros(arrays.table.shape[1])
        for part in arrays.composition_chunks():  # row after row, as comp.mean(0) adds them: the same bits
            mean = np.add.reduce(np.vstack([mean[None], part]), axis=0)
        mean = mean / max(len(arrays), 1) if len(arrays) else np.full(len(mean), np.nan)
        parts = [js_divergence(part, mean) for part in arrays.composition_chunks()]
        dist = np.concatenate(parts) if parts else np.zeros(0)
    else:
        comp = compositions(arrays)
        mean = comp.mean(0)
        dist = js_divergence(comp, mean)
    lengths = np.asarray(encoded_lengths(arrays))
    return {"length_min": int(lengths.min()) if len(lengths) else 0,
            "length_max": int(lengths.max()) if len(lengths) else 0,
            "composition": [float(x) for x in mean],
            "composition_cutoff": float(MARGIN * np.quantile(dist, 0.99)) if len(dist) else 1.0}
