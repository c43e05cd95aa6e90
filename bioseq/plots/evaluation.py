"""Charts of an evaluation on labelled data: ROC and precision-recall curves, and what the decision threshold
of a two-class model does to precision and recall (tables of :mod:`bioseq.prediction.evaluate`)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from .common import WIDTH, empty


def roc_curve(roc: pd.DataFrame) -> alt.Chart:
    """False against true positive rate per class (``class, fpr, tpr, threshold``), with the chance diagonal."""
    if not len(roc):
        return empty("no ROC curve: the labelled data hold only one class")
    diagonal = alt.Chart(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="gray").encode(x="fpr:Q", y="tpr:Q")
    curve = alt.Chart(roc).mark_line(interpolate="step-after").encode(
        x=alt.X("fpr:Q", title="false positive rate", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("tpr:Q", title="true positive rate (recall)", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("class:N", title="positive class"),
        tooltip=["class:N", alt.Tooltip("threshold:Q", format=".3f"), alt.Tooltip("fpr:Q", format=".3f"),
                 alt.Tooltip("tpr:Q", format=".3f")])
    return (diagonal + curve).properties(title="ROC curve", width=WIDTH // 2, height=260)


def pr_curve(pr: pd.DataFrame) -> alt.Chart:
    """Recall against precision per class (``class, recall, precision, threshold``)."""
    if not len(pr):
        return empty("no precision-recall curve: the labelled data hold only one class")
    return alt.Chart(pr, title="Precision-recall curve").mark_line(interpolate="step-before").encode(
        x=alt.X("recall:Q", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("precision:Q", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("class:N", title="positive class"),
        tooltip=["class:N", alt.Tooltip("threshold:Q", format=".3f"), alt.Tooltip("recall:Q", format=".3f"),
                 alt.Tooltip("precision:Q", format=".3f")]).properties(width=WIDTH // 2, height=260)


def threshold_effect(sweep: pd.DataFrame, chosen: float) -> alt.Chart:
    """Precision, recall and F1 of a two-class model at every decision threshold, the chosen one marked
    (``threshold_sweep`` table)."""
    long = sweep.melt(id_vars=["threshold"], value_vars=["precision", "recall", "f1"], var_name="metric")
    long = long.dropna(subset=["value"])
    lines = alt.Chart(long).mark_line().encode(
        x=alt.X("threshold:Q", title="decision threshold: p(positive) at or above it is called positive",
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("metric:N", title=None, sort=["precision", "recall", "f1"]),
        tooltip=[alt.Tooltip("threshold:Q", format=".2f"), "metric:N", alt.Tooltip("value:Q", format=".3f")])
    rule = alt.Chart(pd.DataFrame({"threshold": [chosen]})).mark_rule(color="black").encode(x="threshold:Q")
    return (lines + rule).properties(title="What the threshold does", width=WIDTH, height=240)
