"""Charts of gradient flow: per-layer norms over training, ∂C/∂h(t) by distance, the memory curve."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .common import WIDTH, empty


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
    tips = ["step:Q", "epoch:Q", "layer:N", "direction:N", alt.Tooltip("grad_norm:Q", format=".3g")]
    chart = alt.Chart(df).mark_line(opacity=0.85, strokeWidth=1.2).encode(
        x=alt.X("step:Q", title="optimiser step"),
        y=alt.Y("grad_norm:Q", scale=alt.Scale(type="log"), title="gradient norm ‖∇‖ (log)"),
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
        y=alt.Y("grad_norm:Q", scale=alt.Scale(type="log"), title="mean ‖∇‖ (log)"),
        color="run:N", tooltip=["run:N", "layer:O", alt.Tooltip("grad_norm:Q", format=".3g")],
    ).properties(width=WIDTH // 2, height=280)


def time_profile(df: pd.DataFrame) -> alt.Chart:
    """Mean ‖∂C/∂h(t)‖ against distance from the read-out (log), per run, layer and direction."""
    df = df[df["grad_norm"] > 0] if len(df) else df
    if not len(df):
        return empty("no per-time-step gradients")
    color = "run:N" if "run" in df.columns else alt.Color("layer:N", title="layer")
    series = df.assign(series=df["layer"].astype(str) + " " + df["direction"].astype(str))
    return alt.Chart(series, title="Gradient reaching each position").mark_line(point=False).encode(
        x=alt.X("distance:Q", title="distance from the read-out (steps)"),
        y=alt.Y("grad_norm:Q", scale=alt.Scale(type="log"), title="mean ‖∂C/∂h(t)‖ (log)"),
        color=color, detail="series:N", strokeDash=alt.StrokeDash("direction:N", title="direction"),
        tooltip=(["run:N"] if "run" in df.columns else []) + ["layer:N", "direction:N", "distance:Q",
                                                             alt.Tooltip("grad_norm:Q", format=".3g")],
    ).properties(width=WIDTH, height=320)


def memory_curve(df: pd.DataFrame) -> alt.Chart:
    """Relative influence of an input on the output by its distance from the read-out."""
    if not len(df):
        return empty("no memory curve")
    return alt.Chart(df, title="Memory: influence by distance").mark_line(point=df["distance"].nunique() <= 60).encode(
        x=alt.X("distance:Q", title="distance from the read-out (positions)"),
        y=alt.Y("relative:Q", title="influence (share of the peak)", scale=alt.Scale(type="symlog")),
        color="run:N" if "run" in df.columns else alt.value("#1f77b4"),
        tooltip=(["run:N"] if "run" in df.columns else []) + ["distance:Q", alt.Tooltip("influence:Q", format=".3g"),
                                                             alt.Tooltip("relative:Q", format=".2%")],
    ).properties(width=WIDTH, height=300)
