"""The score of a scan along each record, as a track (``bioseq scan``; the Predict page's scan panel).

The table is :func:`bioseq.prediction.scan.scan_records`' ``record, start, end, p_<class>...``, one row per
window. A window is drawn at its centre; past ``most`` windows in a record, the record is cut into ``most``
bins and each bin shows its highest score (a peak never disappears in the thinning).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .common import WIDTH, empty

COLUMNS = ["record", "position", "start", "end", "score"]


def track_points(table: pd.DataFrame, column: str, most: int = 2000) -> pd.DataFrame:
    """``record, position, start, end, score`` per point: every window (position = its centre), or the top
    window of each of ``most`` bins of a record."""
    parts = []
    for record, g in table.groupby("record", sort=False):
        pts = pd.DataFrame({"record": record, "position": (g["start"].to_numpy() + g["end"].to_numpy()) / 2,
                            "start": g["start"].to_numpy(), "end": g["end"].to_numpy(),
                            "score": g[column].to_numpy(dtype=float)})
        if len(pts) > most:
            edges = np.linspace(pts["position"].min(), pts["position"].max(), most + 1)
            pts["bin"] = np.clip(np.searchsorted(edges, pts["position"], side="right") - 1, 0, most - 1)
            pts = pts.loc[pts.groupby("bin", sort=True)["score"].idxmax()].drop(columns="bin")
        parts.append(pts)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def scan_track(table: pd.DataFrame, column: str, most: int = 2000) -> alt.Chart:
    """A line of ``column`` (a class's probability) along each record, one colour per record."""
    pts = track_points(table, column, most)
    if pts.empty:
        return empty("No windows to draw")
    label = column.removeprefix("p_")
    several = pts["record"].nunique() > 1
    return alt.Chart(pts, title=f"p({label}) along the sequence").mark_line(point=len(pts) <= 60).encode(
        x=alt.X("position:Q", title="position (window centre, 0-based)", axis=alt.Axis(format="~s")),
        y=alt.Y("score:Q", title=f"p({label})", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("record:N", title="record", legend=alt.Legend() if several else None),
        tooltip=["record:N", alt.Tooltip("start:Q", title="window start", format=","),
                 alt.Tooltip("end:Q", title="window end", format=","), alt.Tooltip("score:Q", format=".3f")],
    ).properties(width=WIDTH, height=220)
