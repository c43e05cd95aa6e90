"""The window a labeller actually uses around a position, against its theoretical receptive field.

For a record of length L and an output position t (1-based), an attribution method (any of
:data:`bioseq.interpret.attribution.METHODS`) gives scores ``a (L,)`` for the label predicted at t. The
attribution mass is ``|a|``; the **used window** for a share q (0.9, 0.99) is the narrowest span of
input positions ``[t − back, t + ahead]`` containing t that holds at least q of the mass
(:func:`narrowest_window`; ties go to the more centred span, then the one reaching less far back).

The **theoretical receptive field** at t is what the architecture allows (:func:`receptive_field`):
a recurrent layer sees the whole past (``back = t − 1``); ahead, a forward-only model sees only what its
convolution's right half reaches (``(conv_width − 1) − (conv_width − 1) // 2`` letters, none without a
front end), a bidirectional one the whole rest of the sequence (``ahead = L − t``).

Cost: one attribution run per measured position over the records that reach it; positions are
``max_positions`` spread evenly over 1..longest length (:func:`~bioseq.interpret.position_gradients.sample_positions`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data.io import Record
from ..model import encodings
from ..model.store import ModelBundle
from .attribution import attribute
from .inputs import per_position_only, prepared_lengths
from .position_gradients import sample_positions

MASSES = (0.9, 0.99)
COLUMNS = ["id", "t", "length", "mass", "back", "ahead", "width", "rf_back", "rf_ahead", "past_share",
           "future_share"]
SUMMARY_COLUMNS = ["mass", "back_mean", "back_median", "ahead_mean", "ahead_median", "width_mean", "width_median",
                   "rf_back_mean", "rf_ahead_mean", "past_share", "future_share", "positions", "records"]


def narrowest_window(scores: np.ndarray, t: int, mass: float) -> tuple[int, int] | None:
    """``(back, ahead)`` of the narrowest span ``[t − back, t + ahead]`` (``t`` 0-based) holding at least
    ``mass`` of ``|scores|``; ``None`` when the scores are all zero."""
    w = np.abs(np.asarray(scores, dtype=np.float64))
    total = w.sum()
    if not total > 0:
        return None
    c = np.concatenate([[0.0], np.cumsum(w)])  # c[i] = mass of positions < i
    lefts = np.arange(t + 1)
    need = c[lefts] + mass * total * (1 - 1e-12)  # rounding must not make the whole sequence fall short
    rights = np.maximum(np.searchsorted(c, need, side="left") - 1, t)
    ok = rights < len(w)
    lefts, rights = lefts[ok], rights[ok]
    back, ahead = t - lefts, rights - t
    best = np.lexsort((back, np.maximum(back, ahead), rights - lefts))[0]
    return int(back[best]), int(ahead[best])


def receptive_field(bundle: ModelBundle, t: int, length: int) -> tuple[int, int]:
    """``(back, ahead)`` letters the architecture lets the output at 1-based ``t`` see (module docstring)."""
    cfg = bundle.model.cfg
    if cfg.bidirectional:
        return t - 1, length - t
    right = ((cfg.conv_width - 1) - (cfg.conv_width - 1) // 2 if cfg.conv else 0) + encodings.reach(cfg)[1]
    return t - 1, min(right, length - t)


def receptive_field_words(bundle: ModelBundle) -> str:
    """The theoretical receptive field in plain words, for a caption."""
    cfg = bundle.model.cfg
    if cfg.bidirectional:
        return "the whole sequence (bidirectional: both sides of every position)"
    right = ((cfg.conv_width - 1) - (cfg.conv_width - 1) // 2 if cfg.conv else 0) + encodings.reach(cfg)[1]
    ahead = (f" and {right} letter{'s' if right != 1 else ''} ahead (the {'convolution' if cfg.conv else 'k-mers'})"
             if right else ", nothing ahead")
    return f"the whole past{ahead} (forward only)"


def used_window(bundle: ModelBundle, records: Sequence[Record], method: str = "saliency",
                masses: Sequence[float] = MASSES, positions: Sequence[int] | None = None, max_positions: int = 16,
                target: str | None = None, **options) -> pd.DataFrame:
    """The used window and the receptive field per record, measured position and mass: columns :data:`COLUMNS`.

    The label explained at t is ``target``, or the one the model predicts there. ``positions`` (1-based) are the
    output positions measured (a record shorter than a position is skipped there); by default
    ``max_positions`` spread over the longest record. ``past_share`` and ``future_share`` are the shares
    of the mass before and after t. A record whose scores at t are all zero gets NaN windows.
    """
    per_position_only(bundle, "the window a model uses")
    lengths = prepared_lengths(bundle, records)
    if positions is None:
        positions = sample_positions(max(lengths, default=0), max_positions).tolist()
    rows = []
    for t in positions:
        keep = [i for i, n in enumerate(lengths) if n >= t]
        if not keep:
            continue
        found = attribute(bundle, [records[i] for i in keep], method, target, position=int(t), **options)
        for i, scores in zip(keep, found.scores):
            w = np.abs(scores)
            total = w.sum()
            shares = (w[: t - 1].sum() / total, w[t:].sum() / total) if total > 0 else (math.nan, math.nan)
            rf_back, rf_ahead = receptive_field(bundle, int(t), lengths[i])
            for q in masses:
                win = narrowest_window(scores, int(t) - 1, q)
                back, ahead = win if win is not None else (math.nan, math.nan)
                rows.append({"id": records[i].id, "t": int(t), "length": lengths[i], "mass": float(q), "back": back,
                             "ahead": ahead, "width": back + ahead + 1, "rf_back": rf_back, "rf_ahead": rf_ahead,
                             "past_share": shares[0], "future_share": shares[1]})
    return pd.DataFrame(rows, columns=COLUMNS)


def window_summary(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`used_window` averaged over positions and records, one row per mass: columns :data:`SUMMARY_COLUMNS`
    (``positions`` counts the (record, t) pairs with a window, ``records`` the records)."""
    if table.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    t = table.dropna(subset=["back"])
    out = t.groupby("mass", as_index=False).agg(
        back_mean=("back", "mean"), back_median=("back", "median"), ahead_mean=("ahead", "mean"),
        ahead_median=("ahead", "median"), width_mean=("width", "mean"), width_median=("width", "median"),
        rf_back_mean=("rf_back", "mean"), rf_ahead_mean=("rf_ahead", "mean"), past_share=("past_share", "mean"),
        future_share=("future_share", "mean"), positions=("t", "size"), records=("id", "nunique"))
    return out[SUMMARY_COLUMNS]
