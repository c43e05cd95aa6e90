"""Altair charts for the dashboard and the README experiments. Every function returns an ``alt.Chart``
(or a layered / concatenated chart) with tooltips, and takes the DataFrames that the library's
readers and interpretation functions return. No chart computes model outputs; at most it reshapes.
"""

from __future__ import annotations

from types import MappingProxyType

import altair as alt
import numpy as np
import pandas as pd

WIDTH = 560  # nominal size; Streamlit stretches the width and fits axes and titles inside the height
NUC_COLORS = MappingProxyType({"A": "#2ca02c", "C": "#1f77b4", "G": "#ff7f0e", "T": "#d62728", "U": "#d62728"})
_AA_GROUPS = (("#1f77b4", "KRH"), ("#d62728", "DE"), ("#2ca02c", "STNQ"), ("#ff7f0e", "AVLIMC"), ("#9467bd", "FWY"),
              ("#8c564b", "GP"))
AA_COLORS = MappingProxyType({a: c for c, group in _AA_GROUPS for a in group})
METRIC_TITLES = MappingProxyType({"loss": "loss", "accuracy": "accuracy", "balanced_accuracy": "balanced accuracy",
                                  "auroc": "AUROC", "auprc": "AUPRC", "mcc": "MCC", "f1": "F1"})


def letter_scale(letters) -> alt.Scale:
    """Colours for sequence letters: the usual nucleotide colours (IUPAC codes grey) when every letter
    is a nucleotide code, otherwise amino acids by chemistry; anything else grey."""
    letters = sorted({str(x) for x in letters})
    table = NUC_COLORS if set(letters) <= set("ACGTURYSWKMBDHVN") else AA_COLORS
    colors = [table.get(x, "#7f7f7f") for x in letters]
    return alt.Scale(domain=letters, range=colors)


def _empty(message: str) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"text": [message]})).mark_text(size=14, color="gray").encode(
        text="text:N").properties(width=WIDTH, height=60)


# ---------- data ----------

def class_counts(per_class: dict) -> alt.Chart:
    df = pd.DataFrame({"class": list(per_class), "records": list(per_class.values())})
    return alt.Chart(df, title="Records per class").mark_bar().encode(
        x=alt.X("records:Q", title="records"), y=alt.Y("class:N", sort="-x", title=None),
        color=alt.Color("class:N", legend=None), tooltip=["class:N", "records:Q"]).properties(width=WIDTH)


def _binned(values: np.ndarray, groups: pd.Series, bins: int | np.ndarray, name: str) -> pd.DataFrame:
    """Counts per bin and group (pre-aggregated, so a chart of 100,000 records stays small)."""
    values = np.asarray(values, dtype=float)
    edges = np.histogram_bin_edges(values, bins=bins) if np.ndim(bins) == 0 else np.asarray(bins, dtype=float)
    rows = []
    for g, idx in pd.Series(range(len(values))).groupby(groups.to_numpy()).groups.items():
        counts, _ = np.histogram(values[np.asarray(idx)], bins=edges)
        rows += [{name: g, "start": a, "end": b, "records": int(n)}
                 for a, b, n in zip(edges[:-1], edges[1:], counts) if n]
    return pd.DataFrame(rows, columns=[name, "start", "end", "records"])


def length_histogram(records: pd.DataFrame) -> alt.Chart:
    lengths = records["length"].to_numpy()
    bins = np.arange(lengths.min(), lengths.max() + 2) if np.ptp(lengths) < 40 else 40
    df = _binned(lengths, records["label"], bins, "class")
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
    df = _binned(percent, records["label"], np.linspace(0, max(float(percent.max()), 1e-9), 21), "class")
    return alt.Chart(df, title="Ambiguous letters per record").mark_bar(binSpacing=0).encode(
        x=alt.X("start:Q", title="ambiguous letters (% of the record)"), x2="end:Q",
        y=alt.Y("records:Q", title="records"), color=alt.Color("class:N", title="class"),
        tooltip=["class:N", alt.Tooltip("start:Q", title="from %", format=".2f"),
                 alt.Tooltip("end:Q", title="to %", format=".2f"), "records:Q"],
    ).properties(width=WIDTH, height=260)


# ---------- training ----------

def _long_metrics(df: pd.DataFrame, metrics) -> pd.DataFrame:
    keep = [m for m in metrics if m in df.columns]
    ids = [c for c in ("run", "epoch", "split") if c in df.columns]
    return df.melt(id_vars=ids, value_vars=keep, var_name="metric", value_name="value").dropna(subset=["value"])


def training_curves(metrics: pd.DataFrame, metrics_shown=("loss", "accuracy"), title: str = "",
                    width: int = WIDTH) -> alt.HConcatChart:
    """Loss and accuracy per epoch, train against validation; with a ``run`` column, one colour per run."""
    if metrics is None or not len(metrics):
        return _empty("no finished epoch yet")
    long = _long_metrics(metrics, metrics_shown)
    by_run = "run" in long.columns and long["run"].nunique() > 1
    panels = []
    for m in metrics_shown:
        d = long[long["metric"] == m]
        color = alt.Color("run:N", title="run") if by_run else alt.Color(
            "split:N", title="split", scale=alt.Scale(domain=["train", "val"], range=["#1f77b4", "#ff7f0e"]))
        tips = ["epoch:Q", "split:N", alt.Tooltip("value:Q", title=METRIC_TITLES.get(m, m), format=".4f")]
        if "run" in d.columns:
            tips.insert(0, "run:N")
        panels.append(alt.Chart(d, title=METRIC_TITLES.get(m, m)).mark_line(point=True).encode(
            x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)), y=alt.Y("value:Q", title=METRIC_TITLES.get(m, m),
                                                                          scale=alt.Scale(zero=False)),
            color=color, strokeDash=alt.StrokeDash("split:N", title="split"),
            tooltip=tips).properties(width=width // 2 - 20, height=280))
    chart = alt.hconcat(*panels)
    return chart.properties(title=title) if title else chart


def confusion_matrix(matrix: list[list[int]], classes: list[str]) -> alt.LayerChart:
    rows = [{"true": t, "predicted": p, "count": int(matrix[i][j])}
            for i, t in enumerate(classes) for j, p in enumerate(classes)]
    base = alt.Chart(pd.DataFrame(rows), title="Validation confusion matrix").encode(
        x=alt.X("predicted:N", sort=classes), y=alt.Y("true:N", sort=classes))
    return (base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")),
                                    tooltip=["true:N", "predicted:N", "count:Q"])
            + base.mark_text(fontSize=14).encode(text="count:Q")).properties(width=240, height=240)


# ---------- gradient flow ----------

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
        return _empty("no gradient norms recorded (the run has not finished)")
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
        return _empty("no per-time-step gradients")
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
        return _empty("no memory curve")
    return alt.Chart(df, title="Memory: influence by distance").mark_line(point=df["distance"].nunique() <= 60).encode(
        x=alt.X("distance:Q", title="distance from the read-out (positions)"),
        y=alt.Y("relative:Q", title="influence (share of the peak)", scale=alt.Scale(type="symlog")),
        color="run:N" if "run" in df.columns else alt.value("#1f77b4"),
        tooltip=(["run:N"] if "run" in df.columns else []) + ["distance:Q", alt.Tooltip("influence:Q", format=".3g"),
                                                             alt.Tooltip("relative:Q", format=".2%")],
    ).properties(width=WIDTH, height=300)


# ---------- gates and attribution ----------

def _letters(seq: str) -> pd.DataFrame:
    return pd.DataFrame({"position": np.arange(1, len(seq) + 1), "letter": list(seq.upper())})


def letter_track(seq: str, width: int = WIDTH, domain=None) -> alt.Chart:
    """The sequence as coloured letters on the shared position axis (only those inside ``domain``)."""
    df = _letters(seq)
    if domain is not None:
        df = df[(df["position"] >= domain[0]) & (df["position"] <= domain[1])]
    return alt.Chart(df).mark_text(fontWeight="bold", font="monospace").encode(
        x=alt.X("position:Q", scale=alt.Scale(domain=domain or [0.5, len(seq) + 0.5], nice=False), title=None,
                axis=alt.Axis(orient="top")),
        text="letter:N", color=alt.Color("letter:N", scale=letter_scale(df["letter"]), legend=None),
        tooltip=["position:Q", "letter:N"]).properties(width=width, height=24)


def gate_heatmaps(gates: pd.DataFrame, seq: str, units=None, layers=None, directions=None, gate_names=None,
                  window: tuple[int, int] | None = None, width: int = WIDTH) -> alt.VConcatChart:
    """One heatmap per gate (positions × units), under the sequence letters; one record's ``gate_table``.

    ``units``, ``layers``, ``directions`` and ``gate_names`` keep only those (default: all);
    ``window`` (1-based, inclusive) zooms into part of the sequence.

    A step starts at ``position`` and, after a pooled convolution, covers ``conv_pool`` letters (its
    receptive field ``span_start..span_end`` is in the tooltip); its cell spans those letters, so
    letters and gates line up.
    """
    for col, keep in (("unit", units), ("layer", layers), ("direction", directions), ("gate", gate_names)):
        if keep is not None:
            gates = gates[gates[col].isin(list(keep))]
    lo, hi = window or (1, len(seq))
    domain = [lo - 0.5, hi + 0.5]
    positions = np.sort(gates["position"].unique())
    step = float(np.median(np.diff(positions))) if len(positions) > 1 else 1.0
    gates = gates[(gates["position"] + step - 1 >= lo) & (gates["position"] <= hi)]
    if not len(gates):
        return alt.vconcat(letter_track(seq, width, domain), _empty("no gates selected"))
    df = gates.assign(x0=np.maximum(gates["position"] - 0.5, lo - 0.5),
                      x1=np.minimum(gates["position"] - 0.5 + step, hi + 0.5),
                      row=gates["direction"].astype(str) + " " + gates["unit"].astype(str))
    panels = [letter_track(seq, width, domain)]
    keep = ["direction", "unit", "position", "span_start", "span_end", "value", "x0", "x1", "row"]
    for (layer, gate), d in df.groupby(["layer", "gate"], sort=False):
        d = d[keep].round({"value": 4})  # only what the panel draws: the browser parses every row
        signed = gate in ("candidate", "cell", "hidden")
        scale = alt.Scale(scheme="redblue", domainMid=0, reverse=True) if signed else alt.Scale(
            scheme="viridis", domain=[0, 1])
        panels.append(alt.Chart(d, title=f"layer {layer}: {gate}").mark_rect().encode(
            x=alt.X("x0:Q", scale=alt.Scale(domain=domain, nice=False), title=None), x2="x1:Q",
            y=alt.Y("row:N", title="unit", sort=None, axis=alt.Axis(labels=len(d["row"].unique()) <= 32)),
            color=alt.Color("value:Q", scale=scale, title=gate),
            tooltip=["direction:N", "unit:Q", "position:Q", "span_start:Q", "span_end:Q",
                     alt.Tooltip("value:Q", format=".3f")]).properties(
            width=width, height=max(60, min(240, 6 * d["row"].nunique()))))
    return alt.vconcat(*panels, spacing=6).resolve_scale(color="independent")


def _window(df: pd.DataFrame, window) -> tuple[pd.DataFrame, list[float]]:
    lo, hi = window or (1, int(df["position"].max()) if len(df) else 1)
    return df[(df["position"] >= lo) & (df["position"] <= hi)], [lo - 0.5, hi + 0.5]


def saliency_logo(df: pd.DataFrame, score: str = "saliency", title: str = "Saliency", window=None) -> alt.LayerChart:
    """Letters along the sequence, sized and placed by their score (gradient × input), like a logo.

    ``window`` (1-based, inclusive) zooms into part of the sequence.
    """
    df, domain = _window(df, window)
    df = df.assign(size=(df[score].abs() / (df[score].abs().max() or 1.0)) * 26 + 6)
    base = alt.Chart(df, title=title).encode(
        x=alt.X("position:Q", scale=alt.Scale(domain=domain, nice=False)))
    bars = base.mark_bar(opacity=0.25, color="#888").encode(y=alt.Y(f"{score}:Q", title=score))
    letters = base.mark_text(fontWeight="bold", baseline="bottom").encode(
        y=f"{score}:Q", text="letter:N", size=alt.Size("size:Q", legend=None, scale=None),
        color=alt.Color("letter:N", scale=letter_scale(df["letter"]), legend=None),
        tooltip=["position:Q", "letter:N", alt.Tooltip(f"{score}:Q", format=".4f")])
    return (bars + letters).properties(width=WIDTH, height=280)


def ism_heatmap(df: pd.DataFrame, window=None) -> alt.VConcatChart:
    """Score change for every single-letter substitution: positions × replacement letter, under the
    reference letters (the same position axis as the gates and saliency views)."""
    df, domain = _window(df, window)
    lim = float(df["delta"].abs().max() or 1.0) if len(df) else 1.0
    ref = df.drop_duplicates("position").sort_values("position")
    letters = pd.DataFrame({"position": ref["position"], "letter": ref["ref"].str.upper()})
    track = alt.Chart(letters).mark_text(fontWeight="bold", font="monospace").encode(
        x=alt.X("position:Q", scale=alt.Scale(domain=domain, nice=False), title=None, axis=alt.Axis(orient="top")),
        text="letter:N", color=alt.Color("letter:N", scale=letter_scale(letters["letter"]), legend=None),
        tooltip=["position:Q", "letter:N"]).properties(width=WIDTH, height=24)
    heat = alt.Chart(df.assign(x0=df["position"] - 0.5, x1=df["position"] + 0.5),
                     title="In-silico mutagenesis (change in class score)").mark_rect().encode(
        x=alt.X("x0:Q", scale=alt.Scale(domain=domain, nice=False), title="position"), x2="x1:Q",
        y=alt.Y("alt:N", title="replaced by"),
        color=alt.Color("delta:Q", scale=alt.Scale(scheme="redblue", domain=[-lim, lim], reverse=True), title="Δ"),
        tooltip=["position:Q", "ref:N", "alt:N", alt.Tooltip("delta:Q", format=".4f")],
    ).properties(width=WIDTH, height=max(80, 14 * df["alt"].nunique()))
    return alt.vconcat(track, heat, spacing=4)


def motif_bars(df: pd.DataFrame) -> alt.Chart:
    """Motif candidates of :func:`bioseq.interpret.motifs`: occurrences, coloured by the class explained."""
    if not len(df):
        return _empty("no k-mer carries positive saliency")
    return alt.Chart(df, title="Top k-mers by saliency").mark_bar().encode(
        x=alt.X("count:Q", title="occurrences among the top windows"),
        y=alt.Y("motif:N", sort=alt.EncodingSortField("count", order="descending"), title=None),
        color=alt.Color("target:N", title="class explained") if "target" in df.columns else alt.value("#1f77b4"),
        tooltip=[c for c in ("target", "motif", "count", "sequences") if c in df.columns]
        + [alt.Tooltip("mean_score:Q", format=".4f", title="mean saliency")],
    ).properties(width=WIDTH // 2, height=max(120, 16 * len(df)))


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


# ---------- predictions ----------

def prediction_summary(df: pd.DataFrame, classes: list[str]) -> alt.HConcatChart:
    """Predicted class counts and a histogram of the winning probability (pre-aggregated)."""
    probs = df[[f"p_{c}" for c in classes]].to_numpy()
    top = probs.max(1) if len(df) else np.zeros(0)
    counts = df["prediction"].value_counts().rename_axis("prediction").reset_index(name="sequences")
    hist = _binned(top, df["prediction"], np.linspace(0, 1, 21), "prediction")
    left = alt.Chart(counts, title="Predicted classes").mark_bar().encode(
        x=alt.X("sequences:Q", title="sequences"), y=alt.Y("prediction:N", title=None, sort=classes),
        color=alt.Color("prediction:N", legend=None, scale=alt.Scale(domain=classes)),
        tooltip=["prediction:N", "sequences:Q"],
    ).properties(width=WIDTH // 2 - 40, height=240)
    right = alt.Chart(hist, title="Probability of the predicted class").mark_bar(binSpacing=0).encode(
        x=alt.X("start:Q", title="probability", scale=alt.Scale(domain=[0, 1])), x2="end:Q",
        y=alt.Y("records:Q", title="sequences"),
        color=alt.Color("prediction:N", title="prediction", scale=alt.Scale(domain=classes)),
        tooltip=["prediction:N", alt.Tooltip("start:Q", title="from", format=".2f"),
                 alt.Tooltip("end:Q", title="to", format=".2f"), alt.Tooltip("records:Q", title="sequences")],
    ).properties(width=WIDTH // 2, height=240)
    return alt.hconcat(left, right)
