"""Charts of sequence labelling (one label per position): label composition and segment lengths of a dataset,
true and predicted label tracks with per-label probability lines, the lecture's G[t, s] = ‖∂C⁽ᵗ⁾/∂h⁽ˢ⁾‖ as a
heatmap and as a profile by distance, memory per position, the window a labeller uses at t against its
receptive field, and per-label metrics.

Inputs are the tables of :mod:`bioseq.interpret.tracks` (``position, letter, true, predicted, p_<label>...``),
:mod:`bioseq.interpret.position_gradients` (``layer, direction, t, s, distance, grad_norm``; the profile
``layer, direction, distance, grad_norm, relative, sequences``), :mod:`bioseq.interpret.window` and
:mod:`bioseq.prediction.evaluate`. The track helpers shared with :mod:`.sequence` are in :mod:`.tracks`.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from .common import LOG_FORMAT, WIDTH, empty, whole_ticks
from .data import class_counts, length_histogram
from .gradients import by_direction, memory_curve
from .tracks import NOT_SCORED, domain_of, position_axis, track_width

PROFILE_TITLES = {"forward": "forward direction: states before t (distance t − s)",
                  "reverse": "reverse direction: states after t (distance s − t)"}
MEMORY_TITLES = {"past": "inputs before the labelled position (t − p)",
                 "future": "inputs after the labelled position (p − t)"}


def label_composition(per_label: dict, masked: int = 0) -> alt.Chart:
    """Scored positions per label, and the unscored ones (mask or ignored label) as their own bar."""
    counts = {**per_label, **({NOT_SCORED: int(masked)} if masked else {})}
    return class_counts(counts, "Positions per label", "positions")


def segment_lengths(segments: pd.DataFrame) -> alt.Chart:
    """Histogram of segment lengths (maximal runs of one label), one colour per label: ``label, length``."""
    return length_histogram(segments, "Segment length per label", "segments", "label")


FLOW_TITLE = "Gradient reaching each step from each output, ‖∂C(t)/∂h(s)‖"


def flow_heatmap(df: pd.DataFrame, layer: int | None = None, width: int = WIDTH) -> alt.HConcatChart:
    """G[t, s] = ‖∂C⁽ᵗ⁾/∂h⁽ˢ⁾‖ of one record (:func:`bioseq.interpret.position_gradients.position_gradients`):
    loss position t down, hidden state s across, colour on a log scale; one panel per direction of ``layer``
    (default: the first). Exact zeros (a forward state after t) are left blank."""
    if not len(df):
        return alt.hconcat(empty("no gradients measured"))
    layer = int(df["layer"].min()) if layer is None else layer
    d = df[(df["layer"] == layer) & (df["grad_norm"] > 0)]
    d = d.assign(x0=d["s"] - 0.5, x1=d["s"] + 0.5)[["direction", "t", "s", "distance", "grad_norm", "x0", "x1"]]
    n = int(df["s"].max())
    directions = list(dict.fromkeys(df["direction"]))
    panels = []
    for direction in directions:
        part = d[d["direction"] == direction]
        panels.append(alt.Chart(part, title=f"layer {layer}, {direction}").mark_rect().encode(
            x=alt.X("x0:Q", title="hidden state position s", scale=alt.Scale(domain=[0.5, n + 0.5], nice=False),
                    axis=alt.Axis(values=whole_ticks(1, n, most=12), format="d")), x2="x1:Q",
            y=alt.Y("t:O", title="loss position t", axis=alt.Axis(labelOverlap=True)),
            color=alt.Color("grad_norm:Q", scale=alt.Scale(type="log", scheme="viridis", nice=True),
                            title="gradient ‖∂C(t)/∂h(s)‖", legend=alt.Legend(format=LOG_FORMAT)),
            tooltip=["t:Q", "s:Q", "distance:Q", alt.Tooltip("grad_norm:Q", format=".3g",
                                                            title="gradient ‖∂C(t)/∂h(s)‖")]).properties(
            width=max(220, width // len(directions) - 40), height=120 + min(420, 8 * part["t"].nunique())))
    return alt.hconcat(*panels).resolve_scale(color="shared").properties(title=FLOW_TITLE)


def position_profile(df: pd.DataFrame) -> alt.Chart:
    """The mean curve of G[t, s] by distance over many records (:func:`~bioseq.interpret.position_gradients.
    position_profile`), each direction on its own panel: the forward direction's states before t, the
    reverse direction's after it (distance as a positive number of steps)."""
    if len(df):
        df = df.assign(distance=df["distance"].abs())
    tips = ["layer:N", "direction:N", "distance:Q", alt.Tooltip("relative:Q", format=".3g", title="relative (median)"),
            alt.Tooltip("grad_norm:Q", format=".3g", title="mean ‖∂C(t)/∂h(s)‖"), alt.Tooltip("sequences:Q")]
    return by_direction(df, "relative", "Gradient from the loss at t reaching h(s), by distance",
                        "gradient ‖∂C(t)/∂h(s)‖, share of the peak (log)", tips, titles=PROFILE_TITLES,
                        x_title="distance |t − s| (steps)")


def position_memory(df: pd.DataFrame, fraction: float = 0.01) -> alt.Chart:
    """Memory span per position (:func:`bioseq.interpret.position_memory.position_memory`): the influence of
    an input on the label at t by its distance, inputs before and after t on their own panels."""
    return memory_curve(df, fraction, titles=MEMORY_TITLES, x_title="distance from the labelled position (letters)")


def used_window(scores: pd.DataFrame, windows: pd.DataFrame, t: int, rf: tuple[int, int],
                window: tuple[int, int] | None = None) -> alt.LayerChart:
    """|attribution| for the output at position ``t`` along the sequence (``position, score``), over the
    span the model can see (its receptive field ``rf`` = (back, ahead), light grey) and the narrowest
    windows around t holding 90% / 99% of the attribution mass (``windows``: rows of
    :func:`bioseq.interpret.window.used_window` with ``mass, back, ahead``). A red rule marks t."""
    n = int(scores["position"].max()) if len(scores) else t
    domain = domain_of(scores, window)
    lo = max(0.5, t - rf[0] - 0.5)
    spans = [{"what": "receptive field", "start": lo, "end": min(n + 0.5, t + rf[1] + 0.5), "order": 0}]
    for _, w in windows.dropna(subset=["back"]).sort_values("mass", ascending=False).iterrows():
        spans.append({"what": f"window holding {w['mass']:.0%}", "start": t - w["back"] - 0.5,
                      "end": t + w["ahead"] + 0.5, "order": len(spans)})
    spans = pd.DataFrame(spans)
    spans = spans.assign(start=spans["start"].clip(domain[0], domain[1]), end=spans["end"].clip(domain[0], domain[1]))
    x = alt.X("start:Q", scale=alt.Scale(domain=domain, nice=False), title="position")
    band = alt.Chart(spans).mark_rect(opacity=0.25).encode(
        x=x, x2="end:Q", color=alt.Color("what:N", title="span", sort=list(spans["what"]),
                                          scale=alt.Scale(range=["#bbbbbb", "#9ecae1", "#3182bd"])),
        tooltip=["what:N", alt.Tooltip("start:Q", format=".1f"), alt.Tooltip("end:Q", format=".1f")])
    shown = scores[(scores["position"] >= domain[0]) & (scores["position"] <= domain[1])]
    shown = shown.assign(magnitude=shown["score"].abs())
    bars = alt.Chart(shown).mark_bar(color="#333", width={"band": 0.8}).encode(
        x=position_axis(domain), y=alt.Y("magnitude:Q", title="|attribution|"),
        tooltip=["position:Q", "letter:N", alt.Tooltip("score:Q", format=".4f")])
    rule = alt.Chart(pd.DataFrame({"position": [t]})).mark_rule(color="#d62728", strokeWidth=2).encode(
        x="position:Q", tooltip=["position:Q"])
    width = track_width(domain[1] - domain[0])
    return (band + bars + rule).properties(width=width, height=200, title=f"What the label at position {t} uses")


METRIC_NAMES = {"precision": "precision", "recall": "recall", "f1": "F1", "segment_f1": "segment F1", "sov": "SOV"}


def label_metrics(per_label: list[dict] | pd.DataFrame) -> alt.Chart:
    """Per-label precision, recall and F1 of positions, segment F1 and SOV as grouped bars (the ``per_label``
    rows of :class:`bioseq.metrics.positions.PositionEvaluation`)."""
    df = pd.DataFrame(per_label)
    if not len(df):
        return empty("no labelled positions")
    long = df.melt(id_vars=["label"], value_vars=[m for m in METRIC_NAMES if m in df.columns], var_name="metric",
                   value_name="value").dropna(subset=["value"])
    long = long.assign(metric=long["metric"].map(METRIC_NAMES))
    return alt.Chart(long, title="Per-label scores").mark_bar().encode(
        x=alt.X("metric:N", title=None, sort=list(METRIC_NAMES.values()), axis=alt.Axis(labelAngle=0)),
        xOffset="label:N", y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title=None),
        color=alt.Color("label:N", title="label"),
        tooltip=["label:N", "metric:N", alt.Tooltip("value:Q", format=".3f")]).properties(width=WIDTH, height=260)
