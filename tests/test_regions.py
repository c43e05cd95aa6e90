"""The strongest region: the width-letter window with the most attribution mass (|score| summed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _linear import MOTIF, motif_bundle, rec

from bioseq.interpret.attribution import explain
from bioseq.interpret.regions import strongest_region, strongest_window


def test_the_window_holding_the_most_mass():
    scores = np.zeros(12)
    scores[7], scores[9] = 2.0, -3.0  # positions 8 and 10; |−3| counts as much as +3
    assert strongest_window(scores, 4) == (7, 10)  # 7..10 and 8..11 both hold 5: the first wins
    assert strongest_window(scores, 1) == (10, 10)
    assert strongest_window(scores, 3) == (8, 10)


def test_short_records_and_flat_scores():
    assert strongest_window([1.0, 2.0], 100) == (1, 2)
    assert strongest_window(np.zeros(300), 100) == (1, 100)
    assert strongest_window([], 100) == (1, 1)
    assert strongest_window([np.nan, 0.0, 5.0, 0.0], 2) == (2, 3)


def test_a_site_near_the_end_of_a_long_record():
    """The issue's case: a motif at 184-190 of a 200-letter record is off a 1-100 view; the strongest 100-letter
    window holds it."""
    seq = "C" * 183 + MOTIF + "C" * (200 - 183 - len(MOTIF))
    table = explain(motif_bundle(bias=-3.5), [rec(seq)], target="motif")
    first, last = strongest_region(table, 100)
    assert last - first == 99 and first <= 184 and 184 + len(MOTIF) - 1 <= last
    assert strongest_region(table.iloc[::-1], 100) == (first, last)  # read in position order
    assert strongest_region(pd.DataFrame({"position": [1, 2, 3], "score": [0.0, 1.0, 0.0]}), 1) == (2, 2)
