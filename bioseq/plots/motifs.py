"""Charts of the named motifs (:func:`bioseq.interpret.named_motifs.named_motifs`): a motif's logo, where its
seqlets sit in the sequences, and its best matches."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd

from ..interpret.motifs import logo_rows
from .common import COUNT_AXIS, WIDTH, empty
from .sequence import motif_logo


def named_logo(row, letters: str) -> alt.LayerChart:
    """The logo (bits) of one row of the named motif table: its position probability matrix ``ppm``."""
    title = f"{row['target']} {row['motif']} ({row['sign']}): {row['consensus']}"
    if row.get("match_name"):
        title += f" ~ {row['match_id']} {row['match_name']}"
    return motif_logo(logo_rows(json.loads(row["ppm"]), letters), title=title)


def motif_positions(table: pd.DataFrame, length: int | None = None) -> alt.Chart:
    """Where each motif's seqlets sit: a histogram of their centres (1-based letters), one colour per motif."""
    rows = [(f"{r.target} {r.motif}", p) for r in table.itertuples() for p in json.loads(r.positions)]
    if not rows:
        return empty("no seqlets")
    df = pd.DataFrame(rows, columns=["motif", "position"])
    top = length or int(df["position"].max())
    return alt.Chart(df, title="Where the motifs sit (seqlet centres)").mark_bar(opacity=0.7).encode(
        x=alt.X("position:Q", bin=alt.Bin(maxbins=min(50, max(5, top // 4)), extent=[1, top + 1]),
                title="position in the sequence"),
        y=alt.Y("count():Q", stack=None, title="seqlets", axis=COUNT_AXIS),
        color=alt.Color("motif:N", title="motif"),
        tooltip=["motif:N", alt.Tooltip("count():Q", title="seqlets")],
    ).properties(width=WIDTH, height=160)
