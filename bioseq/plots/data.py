"""Charts of a dataset: records per class, lengths, letter composition, ambiguous letters."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .common import COUNT_AXIS, WIDTH, binned, empty, whole_ticks


def class_counts(per_class: dict, title: str = "Records per class", unit: str = "records") -> alt.Chart:
    """Bars of ``per_class`` counts (records per class; or, with ``unit="positions"``, positions per label)."""
    df = pd.DataFrame({"class": list(per_class), unit: list(per_class.values())})
    return alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X(f"{unit}:Q", title=unit, axis=COUNT_AXIS),
        y=alt.Y("class:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("class:N", legend=None), tooltip=["class:N", f"{unit}:Q"]).properties(
        width=WIDTH, height=130 + 36 * len(df))  # the title and the x axis are fitted inside the height


def length_histogram(records: pd.DataFrame, title: str = "Sequence length", unit: str = "records",
                     legend: str = "class") -> alt.Chart:
    """Records per length (``length`` grouped by ``label``), one bar per length when they span under 40 letters
    (a single length included). :func:`bioseq.plots.segment_lengths` draws segments the same way."""
    lengths = records["length"].to_numpy()
    if not len(lengths):
        return empty(f"no {unit}")
    lo, hi = int(lengths.min()), int(lengths.max())
    if hi - lo < 40:  # one bar per length, centred on it
        edges = np.arange(lo, hi + 2) - 0.5
    else:
        edges = np.unique(np.round(np.linspace(lo, hi + 1, 41))) - 0.5
    df = binned(lengths, records["label"], edges, "class").rename(columns={"records": unit})
    df = df.assign(first=np.ceil(df["start"]).astype(int), last=np.ceil(df["end"]).astype(int) - 1)
    return alt.Chart(df, title=title).mark_bar(opacity=0.7, binSpacing=0, orient="vertical").encode(
        x=alt.X("start:Q", title="length (letters)", scale=alt.Scale(zero=False, domain=[edges[0], edges[-1]]),
                axis=alt.Axis(values=whole_ticks(lo, hi), format="d")), x2="end:Q",
        y=alt.Y(f"{unit}:Q", stack=None, title=unit, axis=COUNT_AXIS),
        color=alt.Color("class:N", title=legend),
        tooltip=[alt.Tooltip("class:N", title=legend), alt.Tooltip("first:Q", title="from"),
                 alt.Tooltip("last:Q", title="to"), f"{unit}:Q"],
    ).properties(width=WIDTH, height=300)


def composition(comp: pd.DataFrame, legend: str = "class") -> alt.Chart:
    """Letter shares per class (``label, letter, fraction, standard``); for labellers per position label."""
    return alt.Chart(comp, title="Letter composition").mark_bar().encode(
        x=alt.X("letter:N", title=None, axis=alt.Axis(labelOverlap=False, labelAngle=0)), xOffset="label:N",
        y=alt.Y("fraction:Q", axis=alt.Axis(format="%")),
        color=alt.Color("label:N", title=legend),
        opacity=alt.condition("datum.standard", alt.value(1.0), alt.value(0.45)),
        tooltip=[alt.Tooltip("label:N", title=legend), "letter:N", alt.Tooltip("fraction:Q", format=".2%"),
                 alt.Tooltip("standard:N", title="standard letter")]).properties(width=WIDTH, height=300)


AMBIGUOUS_TITLE = "Ambiguous letters per record"
NO_AMBIGUOUS = "no ambiguous letters: every record holds only standard letters"


def ambiguous_histogram(records: pd.DataFrame) -> alt.Chart:
    """Records by their share of ambiguous letters (``ambiguous``, 0-1, grouped by ``label``); a line of text
    saying so when no record has any (not one bar over every record)."""
    percent = records["ambiguous"].to_numpy() * 100
    top = float(percent.max()) if len(percent) else 0.0
    if not top > 0:
        return empty(NO_AMBIGUOUS).properties(title=AMBIGUOUS_TITLE)
    edges = np.linspace(0, top, 21)
    df = binned(percent, records["label"], edges, "class")
    return alt.Chart(df, title=AMBIGUOUS_TITLE).mark_bar(binSpacing=0, orient="vertical").encode(
        x=alt.X("start:Q", title="ambiguous letters (% of the record)", axis=alt.Axis(format="~g"),
                scale=alt.Scale(domain=[0, edges[-1]])), x2="end:Q",
        y=alt.Y("records:Q", title="records", axis=COUNT_AXIS), color=alt.Color("class:N", title="class"),
        tooltip=["class:N", alt.Tooltip("start:Q", title="from %", format=".2f"),
                 alt.Tooltip("end:Q", title="to %", format=".2f"), "records:Q"],
    ).properties(width=WIDTH, height=260)
