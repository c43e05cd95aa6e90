"""Is a sequence unlike the training data? Length and letter composition against the model's training set.

A model's training profile (stored in its model file under ``training.profile``) holds the range of
training lengths, the training letters' mean composition ``(alphabet,)`` and a composition cut-off:
1.5 times the distance that 99% of the training records stay within (:data:`MARGIN`, so that the
training data itself is hardly ever flagged). A record is flagged when its length lies outside the
training range, or when its composition is farther from the training mean than the cut-off
(``unusual composition``). The distance is the Jensen-Shannon divergence (base 2,
0..1) between the record's letter frequencies and the training mean; ambiguity codes count as their
fractional letters. Everything is measured on the sequence as the model reads it (after its length policy).

Confident predictions on such records deserve suspicion: a network says *something* about any input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

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
    from ..data.encoding import encoded_lengths

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


def flag_arrays(arrays: Sequence[np.ndarray], profile: dict | None) -> pd.DataFrame:
    """Per encoded sequence: its length, composition distance to the training mean, and a flag ("" when typical).

    Without a profile (models saved before bioseq stored one) the flag says so.
    """
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    if not profile:
        return pd.DataFrame({"length": lengths, "composition_distance": np.nan,
                             "flag": "not checked (no training profile in the model file)"})
    dist = js_divergence(compositions(arrays), np.asarray(profile["composition"], dtype=float)) if len(arrays) \
        else np.zeros(0)
    lo, hi, cut = profile["length_min"], profile["length_max"], profile["composition_cutoff"]
    flags = []
    for n, d in zip(lengths, dist):
        why = []
        if n < lo:
            why.append(f"shorter than any training sequence ({n} < {lo})")
        elif n > hi:
            why.append(f"longer than any training sequence ({n} > {hi})")
        if d > cut:
            why.append(f"unusual composition (distance {d:.3f} > {cut:.3f})")
        flags.append("; ".join(why))
    return pd.DataFrame({"length": lengths, "composition_distance": dist, "flag": flags})


def summary(flags: pd.DataFrame) -> str | None:
    """One sentence for a banner, or ``None`` when every sequence looks like the training data."""
    flagged = flags["flag"].astype(bool) & ~flags["flag"].str.startswith("not checked")
    if not flagged.any():
        return None
    n = int(flagged.sum())
    return (f"{n:,} of {len(flags):,} sequences are unlike the training data (length outside the training range, "
            "or unusual letter composition); their predictions may be confident and still wrong.")
