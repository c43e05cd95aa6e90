"""Charts of training: loss and metric curves per epoch, the confusion matrix."""

from __future__ import annotations

import altair as alt
import pandas as pd

from .common import METRIC_TITLES, WIDTH, empty, whole_ticks


def _long_metrics(df: pd.DataFrame, metrics) -> pd.DataFrame:
    keep = [m for m in metrics if m in df.columns]
    ids = [c for c in ("run", "epoch", "split") if c in df.columns]
    return df.melt(id_vars=ids, value_vars=keep, var_name="metric", value_name="value").dropna(subset=["value"])


def training_curves(metrics: pd.DataFrame, metrics_shown=("loss", "accuracy"), title: str = "",
                    width: int = WIDTH) -> alt.HConcatChart:
    """Loss and accuracy per epoch, train against validation; with a ``run`` column, one colour per run."""
    if metrics is None or not len(metrics):
        return empty("no finished epoch yet")
    long = _long_metrics(metrics, metrics_shown)
    by_run = "run" in long.columns and long["run"].nunique() > 1
    epochs = whole_ticks(int(long["epoch"].min()), int(long["epoch"].max())) if len(long) else [1]
    panels = []
    for m in metrics_shown:
        d = long[long["metric"] == m]
        color = alt.Color("run:N", title="run") if by_run else alt.Color(
            "split:N", title="split", scale=alt.Scale(domain=["train", "val"], range=["#1f77b4", "#ff7f0e"]))
        tips = ["epoch:Q", "split:N", alt.Tooltip("value:Q", title=METRIC_TITLES.get(m, m), format=".4f")]
        if "run" in d.columns:
            tips.insert(0, "run:N")
        panels.append(alt.Chart(d, title=METRIC_TITLES.get(m, m)).mark_line(point=True).encode(
            x=alt.X("epoch:Q", axis=alt.Axis(values=epochs, format="d")),
            y=alt.Y("value:Q", title=METRIC_TITLES.get(m, m), scale=alt.Scale(zero=False)),
            color=color, strokeDash=alt.StrokeDash("split:N", title="split", legend=alt.Legend() if by_run else None),
            tooltip=tips).properties(width=width // 2 - 20, height=280))
    chart = alt.hconcat(*panels)
    return chart.properties(title=title) if title else chart


def confusion_matrix(matrix: list[list[int]], classes: list[str],
                     title: str = "Validation confusion matrix") -> alt.LayerChart:
    """Counts of true (rows) against predicted (columns) classes."""
    rows = [{"true": t, "predicted": p, "count": int(matrix[i][j])}
            for i, t in enumerate(classes) for j, p in enumerate(classes)]
    base = alt.Chart(pd.DataFrame(rows), title=title).encode(
        x=alt.X("predicted:N", sort=classes), y=alt.Y("true:N", sort=classes))
    return (base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")),
                                    tooltip=["true:N", "predicted:N", "count:Q"])
            + base.mark_text(fontSize=14).encode(text="count:Q")).properties(width=240, height=240)
