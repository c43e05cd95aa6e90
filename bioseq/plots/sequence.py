"""Charts along a sequence: letters, gate heatmaps, gate saliency tracks, saliency logos, mutagenesis, motifs."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ..model import cells
from .common import WIDTH, empty, letter_scale, whole_ticks
from .tracks import letter_track, position_axis, track_panels, track_width


def _step_cells(df: pd.DataFrame, seq: str, window) -> tuple[pd.DataFrame, list[float]]:
    """The rows of steps inside ``window`` (default: all of ``seq``), with ``x0, x1``: the letters each step
    covers (after a pooled convolution a step covers ``conv_pool`` letters); and the x domain."""
    lo, hi = window or (1, len(seq))
    positions = np.sort(df["position"].unique())
    step = float(np.median(np.diff(positions))) if len(positions) > 1 else 1.0
    df = df[(df["position"] + step - 1 >= lo) & (df["position"] <= hi)]
    return df.assign(x0=np.maximum(df["position"] - 0.5, lo - 0.5),
                     x1=np.minimum(df["position"] - 0.5 + step, hi + 0.5)), [lo - 0.5, hi + 0.5]


def _keep(df: pd.DataFrame, **columns) -> pd.DataFrame:
    """Only the rows whose ``column`` is in the given values (a value of ``None`` keeps all)."""
    for col, keep in columns.items():
        if keep is not None:
            df = df[df[col].isin(list(keep))]
    return df


def gate_heatmaps(gates: pd.DataFrame, seq: str, units=None, layers=None, directions=None, gate_names=None,
                  window: tuple[int, int] | None = None, width: int = WIDTH,
                  tracks: pd.DataFrame | None = None) -> alt.VConcatChart:
    """One heatmap per gate (positions × units), under the sequence letters; one record's ``gate_table``.

    ``units``, ``layers``, ``directions`` and ``gate_names`` keep only those (default: all);
    ``window`` (1-based, inclusive) zooms into part of the sequence.

    A step starts at ``position`` and, after a pooled convolution, covers ``conv_pool`` letters (its
    receptive field ``span_start..span_end`` is in the tooltip); its cell spans those letters, so
    letters and gates line up. A labeller's ``tracks`` (:func:`bioseq.interpret.tracks.label_tracks` of the
    record) add its true and predicted labels and label probabilities under the letters, on the same axis.
    """
    gates = _keep(gates, unit=units, layer=layers, direction=directions, gate=gate_names)
    df, domain = _step_cells(gates, seq, window)
    lo, hi = int(np.ceil(domain[0])), int(np.floor(domain[1]))
    width = track_width(hi - lo + 1, width)
    if not len(df):
        return alt.vconcat(letter_track(seq, width, domain), empty("no gates selected"))
    df = df.assign(row=df["direction"].astype(str) + " " + df["unit"].astype(str))
    panels = [letter_track(seq, width, domain)]
    if tracks is not None and len(tracks):
        panels += track_panels(tracks, domain, width)
    keep = ["direction", "unit", "position", "span_start", "span_end", "value", "x0", "x1", "row"]
    for (layer, gate), d in df.groupby(["layer", "gate"], sort=False):
        d = d[keep].round({"value": 4})  # only what the panel draws: the browser parses every row
        signed = gate in cells.signed_gates()
        scale = alt.Scale(scheme="redblue", domainMid=0, reverse=True) if signed else alt.Scale(
            scheme="viridis", domain=[0, 1])
        panels.append(alt.Chart(d, title=f"layer {layer}: {gate}").mark_rect().encode(
            x=alt.X("x0:Q", scale=alt.Scale(domain=domain, nice=False), title=None,
                    axis=alt.Axis(values=whole_ticks(lo, hi, most=20), format="d")), x2="x1:Q",
            y=alt.Y("row:N", title="unit", sort=None, axis=alt.Axis(labels=len(d["row"].unique()) <= 32)),
            color=alt.Color("value:Q", scale=scale, title=gate),
            tooltip=["direction:N", "unit:Q", "position:Q", "span_start:Q", "span_end:Q",
                     alt.Tooltip("value:Q", format=".3f")]).properties(
            width=width, height=max(60, min(240, 6 * d["row"].nunique()))))
    return alt.vconcat(*panels, spacing=6).resolve_scale(color="independent")


def _window(df: pd.DataFrame, window) -> tuple[pd.DataFrame, list[float]]:
    lo, hi = window or (1, int(df["position"].max()) if len(df) else 1)
    return df[(df["position"] >= lo) & (df["position"] <= hi)], [lo - 0.5, hi + 0.5]


def saliency_logo(df: pd.DataFrame, score: str = "score", title: str = "Saliency", window=None) -> alt.LayerChart:
    """Letters along the sequence, sized and placed by their attribution score, like a logo.

    ``df`` is one record's :func:`bioseq.interpret.attribution.explain` table (``position, letter, score``).

    ``window`` (1-based, inclusive) zooms into part of the sequence.
    """
    df, domain = _window(df, window)
    df = df.assign(size=(df[score].abs() / (df[score].abs().max() or 1.0)) * 26 + 6)
    base = alt.Chart(df, title=title).encode(x=position_axis(domain))
    bars = base.mark_bar(opacity=0.25, color="#888").encode(y=alt.Y(f"{score}:Q", title=score))
    letters = base.mark_text(fontWeight="bold", baseline="bottom").encode(
        y=f"{score}:Q", text="letter:N", size=alt.Size("size:Q", legend=None, scale=None),
        color=alt.Color("letter:N", scale=letter_scale(df["letter"]), legend=None),
        tooltip=["position:Q", "letter:N", alt.Tooltip(f"{score}:Q", format=".4f")])
    return (bars + letters).properties(width=track_width(len(df)), height=280)


def allele_logos(df: pd.DataFrame, position: int, title: str = "", window=None) -> alt.VConcatChart:
    """A variant's reference and alternative windows as two saliency logos, one above the other on the same
    x axis and y scale, the variant's first letter (``position``, 1-based) marked by a rule in both.

    ``df``: :func:`bioseq.app.variant_effects.compare_alleles`'s table (``allele, position, letter, score``)."""
    panels = []
    for allele, d in df.groupby("allele", sort=False):
        logo = saliency_logo(d, title=f"{title}{allele}", window=window)
        _, domain = _window(d, window)
        rule = alt.Chart(pd.DataFrame({"position": [position]})).mark_rule(color="#d62728", strokeDash=[4, 3]).encode(
            x=position_axis(domain), tooltip=[alt.Tooltip("position:Q", title="variant at")])
        panels.append(logo + rule)
    return alt.vconcat(*panels, spacing=8).resolve_scale(x="shared", y="shared")


def ism_heatmap(df: pd.DataFrame, window=None) -> alt.VConcatChart:
    """Score change for every single-letter substitution: positions × replacement letter, under the
    reference letters (the same position axis as the gates and saliency views)."""
    df, domain = _window(df, window)
    lim = float(df["delta"].abs().max() or 1.0) if len(df) else 1.0
    ref = df.drop_duplicates("position").sort_values("position")
    track = letter_track(pd.DataFrame({"position": ref["position"], "letter": ref["ref"].str.upper()}), domain=domain)
    width = track_width(len(ref))
    lo, hi = int(np.ceil(domain[0])), int(np.floor(domain[1]))
    heat = alt.Chart(df.assign(x0=df["position"] - 0.5, x1=df["position"] + 0.5),
                     title="In-silico mutagenesis (change in class score)").mark_rect().encode(
        x=alt.X("x0:Q", scale=alt.Scale(domain=domain, nice=False), title="position",
                axis=alt.Axis(values=whole_ticks(lo, hi, most=20), format="d")), x2="x1:Q",
        y=alt.Y("alt:N", title="replaced by", axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("delta:Q", scale=alt.Scale(scheme="redblue", domain=[-lim, lim], reverse=True), title="Δ"),
        tooltip=["position:Q", "ref:N", "alt:N", alt.Tooltip("delta:Q", format=".4f")],
    ).properties(width=width, height=max(80, 16 * df["alt"].nunique()))
    return alt.vconcat(track, heat, spacing=4)


def motif_bars(df: pd.DataFrame) -> alt.Chart:
    """Motif candidates of :func:`bioseq.interpret.motifs`: occurrences, coloured by the class explained, in the
    table's order (the most enriched first)."""
    if not len(df):
        return empty("no k-mer carries a positive score")
    shares = [alt.Tooltip(f"{c}:Q", format=".0%", title=t) for c, t in (("in_class", "share of its class"),
                                                                         ("in_others", "share of the others"))
              if c in df.columns]
    return alt.Chart(df, title="Top k-mers by attribution, most enriched first").mark_bar().encode(
        x=alt.X("count:Q", title="occurrences among the top windows"),
        y=alt.Y("motif:N", sort=list(dict.fromkeys(df["motif"])), title=None,
                axis=alt.Axis(labelOverlap=False, labelFont="monospace")),
        color=alt.Color("target:N", title="class explained") if "target" in df.columns else alt.value("#1f77b4"),
        tooltip=[c for c in ("target", "motif", "count", "sequences") if c in df.columns]
        + [alt.Tooltip("mean_score:Q", format=".4f", title="mean score")] + shares
        + ([alt.Tooltip("enrichment:Q", format=".3g")] if "enrichment" in df.columns else []),
    ).properties(width=WIDTH // 2, height=max(120, 20 * df["motif"].nunique()))


def motif_logo(df: pd.DataFrame, title: str = "Motif logo") -> alt.LayerChart:
    """Stacked letter heights (bits) per motif position: bars coloured by letter, labelled."""
    df = df[df["bits"] > 0].sort_values(["position", "bits"]).copy()
    df["top"] = df.groupby("position")["bits"].cumsum()
    df["bottom"] = df["top"] - df["bits"]
    df["mid"] = (df["top"] + df["bottom"]) / 2
    base = alt.Chart(df, title=title).encode(x=alt.X("position:O"))
    bars = base.mark_bar(width={"band": 0.9}).encode(
        y=alt.Y("bottom:Q", title="bits"), y2="top:Q",
        color=alt.Color("letter:N", scale=letter_scale(df["letter"]), legend=None),
        tooltip=["position:O", "letter:N", alt.Tooltip("frequency:Q", format=".2f"),
                 alt.Tooltip("bits:Q", format=".2f")])
    text = base.mark_text(color="white", fontWeight="bold").encode(
        y="mid:Q", text="letter:N", size=alt.Size("bits:Q", scale=alt.Scale(range=[0, 28]), legend=None))
    return (bars + text).properties(width=max(160, 36 * df["position"].nunique()), height=180)


def gate_saliency_tracks(summary: pd.DataFrame, seq: str, top: pd.DataFrame | None = None, layers=None,
                         directions=None, gate_names=None, window: tuple[int, int] | None = None,
                         width: int = WIDTH) -> alt.VConcatChart:
    """Gate saliency under the sequence: one bar track per layer, direction and gate (the score summed
    over units, :func:`bioseq.interpret.gate_saliency.gate_summary` of one record), then, with ``top``
    (:func:`~bioseq.interpret.gate_saliency.top_units`), a heatmap of the top units' scores per layer and
    direction. Positive bars (red) push the explained class up. ``window`` zooms in (1-based, inclusive).
    """
    summary = _keep(summary, layer=layers, direction=directions, gate=gate_names)
    df, domain = _step_cells(summary, seq, window)
    lo, hi = int(np.ceil(domain[0])), int(np.floor(domain[1]))
    width = track_width(hi - lo + 1, width)
    panels = [letter_track(seq, width, domain)]
    if not len(df):
        return alt.vconcat(*panels, empty("no gates selected"))
    x = alt.X("x0:Q", scale=alt.Scale(domain=domain, nice=False), title=None,
              axis=alt.Axis(values=whole_ticks(lo, hi, most=20), format="d"))
    tips = ["position:Q", "span_start:Q", "span_end:Q", alt.Tooltip("score:Q", format=".4f"),
            alt.Tooltip("value:Q", format=".3f", title="mean activation")]
    for (layer, direction, gate), d in df.groupby(["layer", "direction", "gate"], sort=False):
        d = d.assign(sign=np.where(d["score"] >= 0, "up", "down")).round({"score": 5, "value": 4})
        panels.append(alt.Chart(d, title=f"layer {layer} {direction}: {gate}").mark_rect().encode(
            x=x, x2="x1:Q", y=alt.Y("score:Q", title="score"), y2=alt.datum(0),
            color=alt.Color("sign:N", scale=alt.Scale(domain=["up", "down"], range=["#d62728", "#1f77b4"]),
                            legend=None), tooltip=tips).properties(width=width, height=56))
    if top is not None and len(top):
        t, _ = _step_cells(_keep(top, layer=layers, direction=directions, gate=gate_names), seq, window)
        for (layer, direction), d in t.groupby(["layer", "direction"], sort=False):
            d = d.assign(row=d["gate"] + " " + d["unit"].astype(str)).round({"score": 5, "value": 4})
            lim = float(d["score"].abs().max() or 1.0)
            panels.append(alt.Chart(d, title=f"layer {layer} {direction}: top units").mark_rect().encode(
                x=x, x2="x1:Q", y=alt.Y("row:N", title="gate, unit", sort=None),
                color=alt.Color("score:Q", scale=alt.Scale(scheme="redblue", domain=[-lim, lim], reverse=True)),
                tooltip=["gate:N", "unit:Q", "rank:Q", *tips]).properties(
                width=width, height=max(60, min(240, 10 * d["row"].nunique()))))
    return alt.vconcat(*panels, spacing=6).resolve_scale(color="independent", y="independent")
