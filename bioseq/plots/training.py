"""Charts of training: loss and metric curves per epoch, the confusion matrix."""

from __future__ import annotations

import altair as alt
import pandas as pd

from .common import METRIC_TITLES, WIDTH, empty, whole_axis, whole_ticks


def _long_metrics(df: pd.DataFrame, metrics) -> pd.DataFrame:
    keep = [m for m in metrics if m in df.columns]
    ids = [c for c in ("run", "epoch", "split") if c in df.columns]
    return df.melt(id_vars=ids, value_vars=keep, var_name="metric", value_name="value").dropna(subset=["value"])


SPLIT_DASH = {"train": [1, 0], "val": [5, 3]}  # training solid, validation dashed
RUN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _series(long: pd.DataFrame) -> tuple[pd.DataFrame, alt.Scale, alt.Scale]:
    """One legend entry per line: ``train`` / ``val`` for one run, ``<run> · train`` ... for several (full run
    names), with its colour (the split's, or the run's) and dash (the split's) on the same entry."""
    runs = list(dict.fromkeys(long["run"])) if "run" in long.columns else []
    splits = [s for s in ("train", "val") if s in set(long["split"])] or ["train", "val"]
    if len(runs) > 1:
        names = [(f"{r} · {s}", RUN_COLORS[i % len(RUN_COLORS)], s) for i, r in enumerate(runs) for s in splits]
        long = long.assign(series=long["run"].astype(str) + " · " + long["split"].astype(str))
    else:
        names = [(s, RUN_COLORS[i], s) for i, s in enumerate(splits)]
        long = long.assign(series=long["split"])
    domain = [n for n, _, _ in names]
    return (long, alt.Scale(domain=domain, range=[c for _, c, _ in names]),
            alt.Scale(domain=domain, range=[SPLIT_DASH.get(s, [1, 0]) for _, _, s in names]))


def training_panels(metrics: pd.DataFrame, metrics_shown=("loss", "accuracy"), width: int = WIDTH) -> list[alt.Chart]:
    """One chart per metric (loss, accuracy) by epoch, training solid and validation dashed; with a ``run`` column
    of several runs, one colour per run. Each chart is a single view with one legend (every line named in full,
    below the plot), so the dashboard stretches it to its column without cutting it."""
    if metrics is None or not len(metrics):
        return [empty("no finished epoch yet")]
    long, colors, dashes = _series(_long_metrics(metrics, metrics_shown))
    epochs = whole_ticks(int(long["epoch"].min()), int(long["epoch"].max())) if len(long) else [1]
    legend = alt.Legend(title=None, orient="bottom", direction="vertical", labelLimit=0, symbolType="stroke",
                        symbolStrokeWidth=2, symbolSize=300)
    panels = []
    for m in metrics_shown:
        name = METRIC_TITLES.get(m, m)
        tips = (["run:N"] if "run" in long.columns else []) + [
            alt.Tooltip("epoch:Q", format="d"), "split:N", alt.Tooltip("value:Q", title=name, format=".4f")]
        panels.append(alt.Chart(long[long["metric"] == m], title=f"{name[:1].upper()}{name[1:]} per epoch")
                      .mark_line(point=True).encode(
            x=alt.X("epoch:Q", title="epoch", axis=whole_axis(values=epochs)),
            y=alt.Y("value:Q", title=name, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", scale=colors, legend=legend),
            strokeDash=alt.StrokeDash("series:N", scale=dashes, legend=legend),
            tooltip=tips).properties(width=width, height=240))
    return panels


def training_curves(metrics: pd.DataFrame, metrics_shown=("loss", "accuracy"), title: str = "",
                    width: int = WIDTH) -> alt.VConcatChart | alt.Chart:
    """:func:`training_panels` one above the other, for a file (the dashboard places the panels one by one)."""
    panels = training_panels(metrics, metrics_shown, width)
    if len(panels) == 1:
        return panels[0]
    chart = alt.vconcat(*panels)
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
