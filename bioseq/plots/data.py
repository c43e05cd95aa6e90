"""Charts of a dataset: records per class, lengths, letter composition, ambiguous letters."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .common import WIDTH, binned


def class_counts(per_class: dict) -> alt.Chart:
    df = pd.DataFrame({"class": list(per_class), "records": list(per_class.values())})
    return alt.Chart(df, title="Records per class").mark_bar().encode(
        x=alt.X("records:Q", title="records"), y=alt.Y("class:N", sort="-x", title=None),
        color=alt.Color("class:N", legend=None), tooltip=["class:N", "records:Q"]).properties(width=WIDTH)


def length_histogram(records: pd.DataFrame) -> alt.Chart:
    lengths = records["length"].to_numpy()
    bins = np.arange(lengths.min(), lengths.max() + 2) if np.ptp(lengths) < 40 else 40
    df = binned(lengths, records["label"], bins, "class")
    return alt.Chart(df, title="Sequence length").mark_bar(opacity=0.7, binSpacing=0).encode(
        x=alt.X("start:Q", title="length (letters)", scale=alt.Scale(zero=False)), x2="end:Q",
        y=alt.Y("records:Q", stack=None, title="records"), color=alt.Color("class:N", title="class"),
        tooltip=["class:N", alt.Tooltip("start:Q", title="from", format=".0f"),
                 alt.Tooltip("end:Q", title="to (excl.)", format=".0f"), "records:Q"],
    ).properties(width=WIDTH, height=300)


def composition(comp: pd.DataFrame) -> alt.Chart:
    return alt.Chart(comp, title="Letter composition").mark_bar().encode(
        x=alt.X("letter:N", title=None), xOffset="label:N", y=alt.Y("fraction:Q", axis=alt.Axis(format="%")),
        color=alt.Color("label:N", title="class"),
        opacity=alt.condition("datum.standard", alt.value(1.0), alt.value(0.45)),
        tooltip=[alt.Tooltip("label:N", title="class"), "letter:N", alt.Tooltip("fraction:Q", format=".2%"),
                 alt.Tooltip("standard:N", title="standard letter")]).properties(width=WIDTH, height=300)


def ambiguous_histogram(records: pd.DataFrame) -> alt.Chart:
    percent = records["ambiguous"].to_numpy() * 100
    df = binned(percent, records["label"], np.linspace(0, max(float(percent.max()), 1e-9), 21), "class")
    return alt.Chart(df, title="Ambiguous letters per record").mark_bar(binSpacing=0).encode(
        x=alt.X("start:Q", title="ambiguous letters (% of the record)"), x2="end:Q",
        y=alt.Y("records:Q", title="records"), color=alt.Color("class:N", title="class"),
        tooltip=["class:N", alt.Tooltip("start:Q", title="from %", format=".2f"),
                 alt.Tooltip("end:Q", title="to %", format=".2f"), "records:Q"],
    ).properties(width=WIDTH, height=260)
