"""Charts of gradient flow: per-layer norms over training, ∂C/∂h(t) by distance, the memory curve."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .common import WIDTH, empty, log_axis, whole_axis

RUN_LEGEND = alt.Legend(labelLimit=0)  # run names in full: runs of one day differ only at their end


def thin_steps(df: pd.DataFrame, max_steps: int = 1000) -> pd.DataFrame:
    """Average gradient norms over blocks of steps when there are more than ``max_steps`` (geometric
    mean, which suits a log scale), so long runs stay light in the browser."""
    steps = df["step"].nunique()
    if steps <= max_steps:
        return df
    width = int(np.ceil(steps / max_steps))
    keys = [c for c in ("run", "layer", "direction") if c in df.columns]
    block = df.assign(step=(df["step"] - 1) // width * width + 1, log=np.log(df["grad_norm"]))
    out = block.groupby([*keys, "step"], as_index=False).agg(epoch=("epoch", "first"), log=("log", "mean"))
    return out.assign(grad_norm=np.exp(out["log"])).drop(columns="log")


def layer_gradients(df: pd.DataFrame) -> alt.Chart:
    """Per-layer gradient norm over steps on a log scale; ``run`` column gives one panel per run."""
    df = df[df["grad_norm"] > 0] if len(df) else df
    if not len(df):
        return empty("no gradient norms recorded (the run has not finished)")
    df = thin_steps(df)
    tips = [alt.Tooltip("step:Q", format="d"), alt.Tooltip("epoch:Q", format="d"), "layer:N", "direction:N",
            alt.Tooltip("grad_norm:Q", format=".3g")]
    chart = alt.Chart(df).mark_line(opacity=0.85, strokeWidth=1.2).encode(
        x=alt.X("step:Q", title="optimiser step", axis=whole_axis()),
        y=alt.Y("grad_norm:Q", scale=alt.Scale(type="log"), title="gradient norm ‖∇‖ (log)", axis=log_axis()),
        color=alt.Color("layer:N", title="layer", scale=alt.Scale(scheme="viridis")),
        strokeDash=alt.StrokeDash("direction:N", title="direction"),
        tooltip=(["run:N"] if "run" in df.columns else []) + tips)
    if "run" in df.columns and df["run"].nunique() > 1:
        return chart.properties(width=WIDTH // 2 - 20, height=300).facet(
            column=alt.Column("run:N", title=None)).resolve_scale(y="shared")
    return chart.properties(width=WIDTH, height=320, title="Gradient norm per layer over training")


def layer_means(per_layer: pd.DataFrame) -> alt.Chart:
    """Mean gradient norm per layer (log), a line per run: ``run, layer, grad_norm``. A falling line
    towards layer 1 is the vanishing-gradient signature."""
    line = alt.Chart(per_layer, title="Mean gradient norm per layer").mark_line(point=alt.OverlayMarkDef(size=80))
    return line.encode(
        x=alt.X("layer:O", title="recurrent layer (1 = nearest the input)"),
        y=alt.Y("grad_norm:Q", scale=alt.Scale(type="log"), title="mean gradient norm ‖∇‖ (log)", axis=log_axis()),
        color=alt.Color("run:N", title="run", legend=RUN_LEGEND),
        tooltip=["run:N", "layer:O", alt.Tooltip("grad_norm:Q", format=".3g")],
    ).properties(width=WIDTH // 2, height=280)


DIRECTION_TITLES = {"forward": "forward direction: distance from the last letter",
                    "reverse": "reverse direction: distance from the first letter"}


def by_direction(df: pd.DataFrame, value: str, title: str, y_title: str, tips: list, floor: float | None = None,
                 titles: dict | None = None, x_title: str = "distance from that direction's read-out (steps)"
                 ) -> alt.Chart:
    """One panel per direction, ``value`` against distance on a log scale, a line per run (or layer);
    ``titles`` names the panels by direction (default :data:`DIRECTION_TITLES`)."""
    titles = titles or DIRECTION_TITLES
    df = df[df[value] > 0] if len(df) else df
    if not len(df):
        return empty(f"no {title.lower()}")
    by_run = "run" in df.columns and df["run"].nunique() > 1
    color = alt.Color("run:N", title="run", legend=RUN_LEGEND) if by_run else alt.Color("layer:N", title="layer") \
        if "layer" in df.columns else alt.value("#1f77b4")
    df = df.assign(panel=df["direction"].map(titles))
    base = alt.Chart(df).encode(
        x=alt.X("distance:Q", title=x_title,
                axis=whole_axis()),
        y=alt.Y(f"{value}:Q", scale=alt.Scale(type="log"), title=y_title, axis=log_axis(tickCount=6)),
        color=color, detail=alt.Detail("layer:N") if "layer" in df.columns else alt.Detail("direction:N"),
        tooltip=(["run:N"] if "run" in df.columns else []) + tips)
    chart = base.mark_line(point=df["distance"].nunique() <= 60)
    if floor is not None:  # the effective-memory threshold
        rule = alt.Chart(df).transform_aggregate(n="count()").transform_calculate(threshold=str(floor))
        chart = chart + rule.mark_rule(strokeDash=[4, 4], color="gray").encode(y="threshold:Q")
    panels = alt.Column("panel:N", title=None, sort=list(titles.values()))
    return chart.properties(width=WIDTH // 2 - 20, height=280).facet(column=panels).properties(title=title)


def time_profile(df: pd.DataFrame) -> alt.Chart:
    """‖∂C/∂h(t)‖ relative to each record's largest, by distance from the read-out, one panel per direction
    (:func:`bioseq.interpret.time_gradients.time_profile`); a line per run, or per layer."""
    tips = ["layer:N", "direction:N", "distance:Q", alt.Tooltip("relative:Q", format=".3g", title="relative (median)"),
            alt.Tooltip("grad_norm:Q", format=".3g", title="gradient ‖∂C/∂h(t)‖ (median)"), alt.Tooltip("sequences:Q")]
    return by_direction(df, "relative", "Gradient reaching each position from the read-out, ‖∂C/∂h(t)‖",
                        "gradient ‖∂C/∂h(t)‖, share of the largest (log)",
                         tips)


def memory_curve(df: pd.DataFrame, fraction: float = 0.01, titles: dict | None = None,
                 x_title: str = "distance from that direction's read-out (steps)") -> alt.Chart:
    """Relative influence of an input on the output by its distance from the read-out, one panel per direction
    (:func:`bioseq.interpret.memory.memory_curve`), with the effective-memory threshold as a dashed line.
    A labeller's curve (:func:`bioseq.interpret.position_memory.position_memory`) has directions ``past`` and
    ``future``, distances from the labelled position: pass ``titles`` and ``x_title`` for them."""
    tips = ["direction:N", "distance:Q", alt.Tooltip("relative:Q", format=".3g", title="share of the peak (median)"),
            alt.Tooltip("influence:Q", format=".3g", title="mean ‖∂score/∂x‖"), alt.Tooltip("sequences:Q")]
    return by_direction(df, "relative", "Memory: influence by distance", "influence, share of the peak (log)", tips,
                        floor=fraction, titles=titles, x_title=x_title)
