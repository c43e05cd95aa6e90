"""Segments of a label track, segment-level precision/recall/F1, and the segment overlap score SOV'99.

A track is an int array ``(length,)`` of label indices; a negative value marks an unscored position, which
belongs to no segment and splits segments around it. A segment is a maximal run ``(label, start, end)``
with ``end`` exclusive.

* Segment precision of a label: the share of predicted segments that overlap a true segment of that label;
  recall: the share of true segments overlapped by a predicted segment of that label.
* SOV (Zemla et al. 1999, "SOV'99"): for each label, over pairs (s1 true, s2 predicted) of overlapping
  segments of that label, ``Σ (minov + δ) / maxov · len(s1)`` divided by ``N``, where ``minov`` is the
  overlap, ``maxov`` the extent of the two, ``δ = min(maxov − minov, minov, ⌊len(s1)/2⌋, ⌊len(s2)/2⌋)``
  and ``N`` sums ``len(s1)`` over those pairs plus the true segments no prediction overlaps. Per label
  and overall (all labels pooled), in 0..1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def segments(track: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs ``(label, start, end)`` of scored positions (negative labels are not scored)."""
    track = np.asarray(track)
    if not track.size:
        return []
    cuts = np.flatnonzero(np.diff(track)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [track.size]])
    return [(int(track[s]), int(s), int(e)) for s, e in zip(starts, ends) if track[s] >= 0]


def _overlaps(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
    return max(0, min(a[2], b[2]) - max(a[1], b[1]))


def segment_counts(true: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    """Per label: true segments, true segments found, predicted segments, predicted segments that hit.

    Shape ``(n_labels, 4)``. Positions unscored in ``true`` are unscored in ``pred`` too.
    """
    true = np.asarray(true)
    pred = np.where(true < 0, -1, np.asarray(pred))
    ts, ps = segments(true), segments(pred)
    out = np.zeros((n_labels, 4), dtype=np.int64)
    for s in ts:
        out[s[0], 0] += 1
        out[s[0], 1] += any(p[0] == s[0] and _overlaps(s, p) for p in ps)
    for p in ps:
        out[p[0], 2] += 1
        out[p[0], 3] += any(s[0] == p[0] and _overlaps(s, p) for s in ts)
    return out


def segment_scores(counts: np.ndarray, labels: Sequence[str]) -> list[dict]:
    """Segment precision, recall and F1 per label from summed :func:`segment_counts`."""
    rows = []
    for name, (n_true, found, n_pred, hits) in zip(labels, counts):
        precision = hits / n_pred if n_pred else float("nan")
        recall = found / n_true if n_true else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else float("nan")
        rows.append({"label": name, "true_segments": int(n_true), "predicted_segments": int(n_pred),
                     "segment_precision": precision, "segment_recall": recall, "segment_f1": f1})
    return rows


def sov_terms(true: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    """Per label ``(sum of the SOV numerator terms, N)`` for one sequence: ``(n_labels, 2)``; add over
    sequences and divide to get SOV."""
    true = np.asarray(true)
    pred = np.where(true < 0, -1, np.asarray(pred))
    ts, ps = segments(true), segments(pred)
    out = np.zeros((n_labels, 2))
    for s1 in ts:
        hits = [s2 for s2 in ps if s2[0] == s1[0] and _overlaps(s1, s2)]
        len1 = s1[2] - s1[1]
        if not hits:
            out[s1[0], 1] += len1
        for s2 in hits:
            minov = _overlaps(s1, s2)
            maxov = max(s1[2], s2[2]) - min(s1[1], s2[1])
            delta = min(maxov - minov, minov, len1 // 2, (s2[2] - s2[1]) // 2)
            out[s1[0], 0] += (minov + delta) / maxov * len1
            out[s1[0], 1] += len1
    return out
