"""Per-position and segment metrics on hand-made label strings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bioseq.metrics.positions import (
    accuracy_name,
    per_label,
    per_sequence_accuracy,
    position_confusion,
    position_metrics,
    worst_label,
)
from bioseq.metrics.segments import segment_counts, segments, sov_terms

LABELS = ["C", "E", "H"]


def track(s: str) -> np.ndarray:
    """'CCHH-E' -> label indices, '-' unscored."""
    return np.array([-1 if c == "-" else LABELS.index(c) for c in s])


def onehot(s: str) -> np.ndarray:
    return np.eye(3)[[LABELS.index(c) for c in s]]


def test_segments_split_at_unscored_positions():
    assert segments(track("CCHH-HE")) == [(0, 0, 2), (2, 2, 4), (2, 5, 6), (1, 6, 7)]
    assert segments(track("---")) == [] and segments(np.array([])) == []


def test_segment_counts_by_hand():
    # true:  CCCHHHHCC  -> C[0,3) H[3,7) C[7,9)
    # pred:  CCHHCCHHC  -> C[0,2) H[2,4) C[4,6) H[6,8) C[8,9)
    c = segment_counts(track("CCCHHHHCC"), track("CCHHCCHHC").clip(0), 3)
    # C: 2 true, both found; 3 predicted, C[4,6) misses every true C -> 2 hit
    assert c[0].tolist() == [2, 2, 3, 2]
    # H: 1 true, found; 2 predicted, both overlap it
    assert c[2].tolist() == [1, 1, 2, 2]
    assert c[1].tolist() == [0, 0, 0, 0]


def test_sov_by_hand():
    # one true helix [0,8); prediction helix [2,6): minov 4, maxov 8, delta = min(4, 4, 4, 2) = 2
    terms = sov_terms(track("HHHHHHHH"), track("CCHHHHCC"), 3)
    assert terms[2].tolist() == pytest.approx([(4 + 2) / 8 * 8, 8])
    # a perfect prediction scores 1; a true segment nothing overlaps adds to N only
    assert sov_terms(track("HHCC"), track("HHCC"), 3)[:, 0].sum() == pytest.approx(4)
    miss = sov_terms(track("EEE"), track("CCC"), 3)
    assert miss[1].tolist() == [0, 3]


def test_position_metrics_ignore_unscored_positions():
    true = [track("CCHH--"), track("EE")]
    probs = [onehot("CHHHEE"), onehot("EC")]  # scored: C C? -> C,H,H,H vs C,C,H,H ; E,E vs E,C
    m = position_metrics(true, probs, 3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert position_confusion(true, probs, 3) == [[1, 0, 1], [1, 1, 0], [0, 0, 2]]
    acc = per_sequence_accuracy(true, probs)
    assert acc.tolist() == pytest.approx([3 / 4, 1 / 2])
    rows = {r["label"]: r for r in per_label(true, probs, LABELS)}
    assert rows["H"]["precision"] == pytest.approx(2 / 3) and rows["H"]["recall"] == 1.0
    assert rows["C"]["positions"] == 2 and rows["E"]["positions"] == 2


def test_nothing_scored_is_nan():
    m = position_metrics([track("--")], [onehot("CC")], 3)
    assert math.isnan(m["accuracy"]) and math.isnan(m["sov"])
    assert math.isnan(per_sequence_accuracy([track("--")], [onehot("CC")])[0])


def test_accuracy_names():
    assert accuracy_name("HEC") == "Q3" and accuracy_name(list("HGIEBTSC")) == "Q8"
    assert accuracy_name("IMO") == "accuracy"


def test_the_worst_label_is_named_beside_the_headline():
    """A rare label S right 11 times of 20 predicted (precision 0.55) hides behind a near-perfect mean."""
    confusion = [[980, 9], [9, 11]]  # rows true O, S; columns predicted
    label, f1 = worst_label(confusion, ["O", "S"])
    assert label == "S" and f1 == pytest.approx(22 / 40)  # 2 tp / (true + predicted)
    assert worst_label([[5, 0, 0], [0, 0, 0], [1, 0, 4]], LABELS) == ("H", pytest.approx(8 / 9))  # E never seen
    assert worst_label(None, LABELS) is None and worst_label([[0]], ["C"]) is None
    from bioseq.task import task_of
    assert task_of("label").weakest(confusion, ["O", "S"]) == "worst label S: F1 0.550"
    classify = task_of("classify")
    assert classify.worst(confusion, ["a", "b"]) is None and classify.weakest(confusion, ["a", "b"]) == ""
