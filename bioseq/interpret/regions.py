"""The strongest region of a record: the ``width``-letter window that holds the most attribution.

A view of a long record starts on part of it (the dashboard shows 100 letters at first); it should start where
the model looks. For per-letter scores ``a (L,)`` (any method of :mod:`bioseq.interpret.attribution`), a
window's mass is the sum of ``|a|`` over its letters; the strongest window is the one with the largest mass
(ties go to the one starting first). Positions are 1-based and inclusive, like the dashboard's zoom.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def strongest_window(scores, width: int) -> tuple[int, int]:
    """``(first, last)`` (1-based, inclusive) of the ``width``-letter window with the largest summed ``|score|``;
    the whole record where it is no longer than ``width``; ``(1, min(width, L))`` where every score is 0."""
    a = np.abs(np.nan_to_num(np.asarray(scores, dtype=np.float64)))
    n, width = len(a), max(1, int(width))
    if n <= width:
        return 1, max(n, 1)
    mass = np.convolve(a, np.ones(width), mode="valid")  # mass[s]: letters s .. s + width - 1 (0-based)
    start = int(np.argmax(mass)) if mass.max() > 0 else 0
    return start + 1, start + width


def strongest_region(table: pd.DataFrame, width: int, score: str = "score") -> tuple[int, int]:
    """:func:`strongest_window` of one record's attribution table (``position``, ``score`` columns, as
    :func:`bioseq.interpret.attribution.explain` gives), read in position order."""
    rows = table.sort_values("position")
    return strongest_window(rows[score].to_numpy(), width)
