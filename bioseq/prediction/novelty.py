"""Is a sequence unlike the training data? Length and letter composition against the model's training set.

A model's training profile (:func:`bioseq.data.profile.training_profile`, stored in its model file under
``training.profile``) holds the range of training lengths, the training letters' mean composition
``(alphabet,)`` and a composition cut-off: 1.5 times the distance that 99% of the training records stay within
(:data:`~bioseq.data.profile.MARGIN`, so that the training data itself is hardly ever flagged). A record is
flagged when its length lies outside the training range, or when its composition is farther from the training
mean than the cut-off (``unusual composition``). The distance is the Jensen-Shannon divergence (base 2, 0..1)
between the record's letter frequencies and the training mean; ambiguity codes count as their fractional
letters. Everything is measured on the sequence as the model reads it (after its length policy).

Confident predictions on such records deserve suspicion: a network says *something* about any input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data.profile import compositions, js_divergence


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
