"""Shared pieces of bioseq's Altair charts: sizes, letter colours, metric titles, binning, empty charts."""

from __future__ import annotations

from types import MappingProxyType

import altair as alt
import numpy as np
import pandas as pd

WIDTH = 560  # nominal size; Streamlit stretches the width and fits axes and titles inside the height
NUC_COLORS = MappingProxyType({"A": "#2ca02c", "C": "#1f77b4", "G": "#ff7f0e", "T": "#d62728", "U": "#d62728"})
_AA_GROUPS = (("#1f77b4", "KRH"), ("#d62728", "DE"), ("#2ca02c", "STNQ"), ("#ff7f0e", "AVLIMC"), ("#9467bd", "FWY"),
              ("#8c564b", "GP"))
AA_COLORS = MappingProxyType({a: c for c, group in _AA_GROUPS for a in group})
METRIC_TITLES = MappingProxyType({"loss": "loss", "accuracy": "accuracy", "balanced_accuracy": "balanced accuracy",
                                  "auroc": "AUROC", "auprc": "AUPRC", "mcc": "MCC", "f1": "F1"})
COUNT_AXIS = alt.Axis(format="d", tickMinStep=1)  # counts: whole numbers, never 0.5 records
LOG_FORMAT = ".1~e"  # every log axis and log colour legend: 1e-8, 2e-3, 4.7e-14 (never 0.000001 beside 1e-8)


def log_axis(**kwargs) -> alt.Axis:
    """The axis of a log scale: one number format for every tick (powers of ten in e-notation)."""
    return alt.Axis(format=LOG_FORMAT, **kwargs)


def whole_axis(**kwargs) -> alt.Axis:
    """The axis of steps, epochs, layers and positions: whole numbers only (no 1.0 or 2.5)."""
    return alt.Axis(format="d", tickMinStep=1, **kwargs)


def letter_scale(letters) -> alt.Scale:
    """Colours for sequence letters: the usual nucleotide colours (IUPAC codes grey) when every letter
    is a nucleotide code, otherwise amino acids by chemistry; anything else grey."""
    letters = sorted({str(x) for x in letters})
    table = NUC_COLORS if set(letters) <= set("ACGTURYSWKMBDHVN") else AA_COLORS
    colors = [table.get(x, "#7f7f7f") for x in letters]
    return alt.Scale(domain=letters, range=colors)


def empty(message: str) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"text": [message]})).mark_text(size=14, color="gray").encode(
        text="text:N").properties(width=WIDTH, height=60)


def binned(values: np.ndarray, groups: pd.Series, bins: int | np.ndarray, name: str) -> pd.DataFrame:
    """Counts per bin and group (pre-aggregated, so a chart of 100,000 records stays small)."""
    values = np.asarray(values, dtype=float)
    edges = np.histogram_bin_edges(values, bins=bins) if np.ndim(bins) == 0 else np.asarray(bins, dtype=float)
    rows = []
    for g, idx in pd.Series(range(len(values))).groupby(groups.to_numpy()).groups.items():
        counts, _ = np.histogram(values[np.asarray(idx)], bins=edges)
        rows += [{name: g, "start": a, "end": b, "records": int(n)}
                 for a, b, n in zip(edges[:-1], edges[1:], counts) if n]
    return pd.DataFrame(rows, columns=[name, "start", "end", "records"])


def whole_ticks(lo: int, hi: int, most: int = 12) -> list[int]:
    """At most ``most`` whole-number ticks from ``lo`` to ``hi`` on a round step (1, 2, 5, 10, 20, 50, ...)."""
    span = max(hi - lo, 1)
    step = next(s for s in (m * 10 ** e for e in range(9) for m in (1, 2, 5)) if span / s < most)
    return list(range(-(-lo // step) * step, hi + 1, step)) or [lo]
