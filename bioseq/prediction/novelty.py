"""Is a sequence unlike the training data? Length and letter composition against the model's training set.

A model's training profile (:func:`bioseq.data.profile.training_profile`, stored in its model file under
``training.profile``) holds the range of training lengths, the training letters' mean composition
``(alphabet,)`` and a composition cut-off: 1.5 times the distance that 99% of the training records stay
within (:data:`~bioseq.data.profile.MARGIN`, so that the training data itself is hardly ever flagged). A
record is flagged when its length is real extrapolation (:func:`length_range`): longer than
:data:`LENGTH_MARGIN` (1.25) times the longest training sequence, or shorter than the shortest one divided by
it, so a protein of 405 residues against a longest of 404 is not flagged, one of 506 is (404 × 1.25 = 505);
or when its composition is farther from the training mean than the cut-off (``unusual composition``). The
distance is the Jensen-Shannon divergence (base 2, 0..1) between the record's letter frequencies and the
training mean; ambiguity codes count as their fractional letters. Everything is measured on the sequence as
the model reads it (after its length policy).

Confident predictions on such records deserve suspicion: a network says *something* about any input.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data.profile import compositions, js_divergence

LENGTH_MARGIN = 1.25  # lengths within this factor of the training range are interpolation, not flagged
REASONS = {"short": "shorter than any training sequence", "long": "longer than any training sequence",
           "composition": "unusual composition"}  # the flag's reasons, each a prefix of its words
SAID = {"short": "much shorter than any training sequence", "long": "much longer than any training sequence",
        "composition": "with an unusual letter composition"}  # each reason in the summary sentence
NOT_CHECKED = "not checked (no training profile in the model file)"


def length_range(profile: dict) -> tuple[int, int]:
    """``(shortest, longest)`` length not flagged for a training profile: ``ceil(min / LENGTH_MARGIN)`` to
    ``floor(max × LENGTH_MARGIN)`` (training lengths 6-404 give 5-505)."""
    return (math.ceil(profile["length_min"] / LENGTH_MARGIN - 1e-9),
            math.floor(profile["length_max"] * LENGTH_MARGIN + 1e-9))


def flag_arrays(arrays: Sequence[np.ndarray], profile: dict | None) -> pd.DataFrame:
    """Per encoded sequence: its length, composition distance to the training mean, and a flag ("" when typical).

    Without a profile (models saved before bioseq stored one) the flag says so.
    """
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    if not profile:
        return pd.DataFrame({"length": lengths, "composition_distance": np.nan, "flag": NOT_CHECKED})
    dist = js_divergence(compositions(arrays), np.asarray(profile["composition"], dtype=float)) if len(arrays) \
        else np.zeros(0)
    (lo, hi), cut = length_range(profile), profile["composition_cutoff"]
    flags = []
    for n, d in zip(lengths, dist):
        why = []
        if n < lo:
            why.append(f"{REASONS['short']} by over {1 - 1 / LENGTH_MARGIN:.0%} ({n} letters; the shortest "
                       f"{profile['length_min']})")
        elif n > hi:
            why.append(f"{REASONS['long']} by over {LENGTH_MARGIN - 1:.0%} ({n} letters; the longest "
                       f"{profile['length_max']})")
        if d > cut:
            why.append(f"{REASONS['composition']} (distance {d:.3f} > {cut:.3f})")
        flags.append("; ".join(why))
    return pd.DataFrame({"length": lengths, "composition_distance": dist, "flag": flags})


def tally(flags: pd.DataFrame | Sequence[str]) -> Counter:
    """Counts of a flag column (or a table with ``flag`` / ``unlike_training``): ``records``, ``flagged``,
    ``not checked`` and one per reason of :data:`REASONS`. Counters add up, chunk by chunk or rank by rank."""
    if isinstance(flags, pd.DataFrame):
        flags = flags["flag" if "flag" in flags else "unlike_training"]
    counts: Counter = Counter(records=0)
    for flag in flags:
        counts["records"] += 1
        flag = "" if not isinstance(flag, str) else flag  # a CSV read back gives NaN for an empty cell
        if flag == NOT_CHECKED:
            counts["not checked"] += 1
        elif flag:
            counts["flagged"] += 1
            for part in flag.split("; "):
                counts.update(k for k, words in REASONS.items() if part.startswith(words))
    return counts


def summary(flags: pd.DataFrame | Counter) -> str | None:
    """The one sentence every surface words the flags with (the Predict page's banner, ``bioseq predict``'s
    warning): how many records are unlike the training data, and why, by reason; ``None`` when none is.
    ``flags`` is a flag table or a :func:`tally`."""
    counts = flags if isinstance(flags, Counter) else tally(flags)
    n = counts["flagged"]
    if not n:
        return None
    why = ", ".join(f"{counts[k]:,} {words}" for k, words in SAID.items() if counts[k])
    noun = "sequence is" if counts["records"] == 1 else "sequences are"
    return (f"{n:,} of {counts['records']:,} {noun} unlike the training data ({why}); their predictions may be "
            "confident and still wrong.")
