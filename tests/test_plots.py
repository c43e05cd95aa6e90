"""Charts: every plot function returns a valid Vega-Lite spec with tooltips; exports render offline."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

from bioseq import plots
from bioseq.app import downloads as export


def spec(chart) -> dict:
    with alt.data_transformers.disable_max_rows():
        return chart.to_dict()  # validates against the Vega-Lite schema


def has_tooltip(d) -> bool:
    return "tooltip" in json.dumps(d)


@pytest.fixture
def metrics():
    rows = []
    for e in (1, 2, 3):
        for split, loss in (("train", 1.0 / e), ("val", 1.2 / e)):
            rows.append({"epoch": e, "split": split, "loss": loss, "accuracy": 0.5 + 0.1 * e})
    return pd.DataFrame(rows)


def test_data_charts():
    records = pd.DataFrame({"id": ["a", "b", "c"], "label": ["x", "y", "x"], "length": [10, 20, 30],
                            "ambiguous": [0.0, 0.1, 0.0]})
    comp = pd.DataFrame({"label": ["x", "x"], "letter": ["A", "N"], "fraction": [0.9, 0.1], "standard": [True, False]})
    for chart in (plots.class_counts({"x": 2, "y": 1}), plots.length_histogram(records), plots.composition(comp),
                  plots.ambiguous_histogram(records)):
        assert has_tooltip(spec(chart))


def test_training_curves_train_and_val(metrics):
    d = spec(plots.training_curves(metrics))
    assert len(d["vconcat"]) == 2
    text = json.dumps(d)
    assert '"train"' in text and '"val"' in text and has_tooltip(d)


def test_training_curves_overlay_runs(metrics):
    both = pd.concat([metrics.assign(run="r1"), metrics.assign(run="r2")])
    d = spec(plots.training_panels(both)[0])
    assert d["encoding"]["color"]["field"] == "series" and {r["series"] for r in d["datasets"][d["data"]["name"]]} \
        == {"r1 · train", "r1 · val", "r2 · train", "r2 · val"}


def test_training_curves_empty_is_a_message():
    d = spec(plots.training_curves(pd.DataFrame()))
    assert "no finished epoch" in json.dumps(d)


def test_layer_gradients_log_scale_and_facets():
    df = pd.DataFrame({"epoch": 1, "step": [1, 1, 2, 2], "layer": [1, 2, 1, 2], "direction": "both",
                       "grad_norm": [0.01, 0.1, 0.02, 0.2]})
    d = spec(plots.layer_gradients(df))
    assert d["encoding"]["y"]["scale"]["type"] == "log"
    faceted = spec(plots.layer_gradients(pd.concat([df.assign(run="a"), df.assign(run="b")])))
    assert faceted["facet"]["column"]["field"] == "run"


def test_layer_gradients_drops_zero_norms():
    df = pd.DataFrame({"epoch": 1, "step": [1], "layer": [1], "direction": "both", "grad_norm": [0.0]})
    assert "no gradient norms" in json.dumps(spec(plots.layer_gradients(df)))


def test_gradient_views():
    time = pd.DataFrame({"layer": 1, "direction": ["forward", "forward"], "distance": [0, 1], "grad_norm": [1.0, 0.1],
                         "relative": [1.0, 0.1], "sequences": 4})
    assert spec(plots.time_profile(time))["spec"]["encoding"]["y"]["scale"]["type"] == "log"
    mem = pd.DataFrame({"direction": "forward", "distance": [0, 1], "influence": [1.0, 0.5], "relative": [1.0, 0.5],
                        "sequences": 2, "run": "r"})
    assert has_tooltip(spec(plots.memory_curve(mem)))
    assert has_tooltip(spec(plots.layer_means(pd.DataFrame({"run": "r", "layer": [1, 2], "grad_norm": [0.1, 1.0]}))))
    assert has_tooltip(spec(plots.confusion_matrix([[3, 1], [0, 4]], ["a", "b"])))


def gate_frame(seq_len=12, pool=2, units=3):
    rows = []
    for gate in ("forget", "cell"):
        for step in range(seq_len // pool):
            for u in range(1, units + 1):
                rows.append({"id": "s", "layer": 1, "direction": "forward", "position": step * pool + 1,
                             "span_start": step * pool + 1, "span_end": step * pool + pool, "unit": u,
                             "gate": gate, "value": 0.5})
    return pd.DataFrame(rows)


def test_gate_heatmaps_align_steps_with_letters():
    d = spec(plots.gate_heatmaps(gate_frame(), "ACGTACGTACGT", units=[1, 2]))
    letters, forget, cell = d["vconcat"]
    assert letters["mark"]["type"] == "text"
    assert forget["title"] == "layer 1: forget" and cell["title"] == "layer 1: cell"
    values = d["datasets"][forget["data"]["name"]]
    first = min(values, key=lambda r: r["position"])
    assert (first["x0"], first["x1"]) == (0.5, 2.5)  # a pooled step covers two letters
    assert {r["unit"] for r in values} == {1, 2}
    assert forget["encoding"]["x"]["scale"]["domain"] == letters["encoding"]["x"]["scale"]["domain"] == [0.5, 12.5]


def test_gate_heatmaps_window_and_filters():
    d = spec(plots.gate_heatmaps(gate_frame(), "ACGTACGTACGT", gate_names=["cell"], window=(5, 8)))
    assert len(d["vconcat"]) == 2
    cell = d["vconcat"][1]
    assert cell["encoding"]["x"]["scale"]["domain"] == [4.5, 8.5]
    assert {r["position"] for r in d["datasets"][cell["data"]["name"]]} == {5, 7}


def test_saliency_logo_scales_letters():
    df = pd.DataFrame({"id": "s", "position": [1, 2, 3], "letter": list("ACG"), "score": [0.0, 1.0, -0.5],
                       "method": "saliency", "target": "x"})
    d = spec(plots.saliency_logo(df))
    data = d["datasets"][d["data"]["name"]] if "data" in d else d["datasets"][next(iter(d["datasets"]))]
    sizes = {r["letter"]: r["size"] for r in data}
    assert sizes["C"] > sizes["G"] > sizes["A"]
    windowed = spec(plots.saliency_logo(df, window=(2, 3)))
    assert len(next(iter(windowed["datasets"].values()))) == 2


def test_ism_motif_and_prediction_charts():
    ism = pd.DataFrame({"id": "s", "position": [1, 1, 2], "ref": ["A", "A", "C"], "alt": ["C", "G", "A"],
                        "delta": [0.1, -0.2, 0.0], "target": "x"})
    letters, heat = spec(plots.ism_heatmap(ism))["vconcat"]
    assert heat["encoding"]["color"]["scale"]["domain"] == [-0.2, 0.2]
    assert heat["encoding"]["x"]["scale"]["domain"] == letters["encoding"]["x"]["scale"]["domain"] == [0.5, 2.5]
    motifs = pd.DataFrame({"target": "x", "motif": ["TGACTC", "GACTCA"], "count": [5, 3], "mean_score": [0.2, 0.1],
                           "sequences": [5, 3]})
    assert has_tooltip(spec(plots.motif_bars(motifs)))
    logo = pd.DataFrame({"position": [1, 1, 2], "letter": ["A", "C", "G"], "frequency": [0.5, 0.5, 1.0],
                         "bits": [0.5, 0.5, 2.0]})
    assert has_tooltip(spec(plots.motif_logo(logo)))
    preds = pd.DataFrame({"id": ["a", "b"], "prediction": ["x", "y"], "p_x": [0.9, 0.3], "p_y": [0.1, 0.7]})
    assert has_tooltip(spec(plots.prediction_summary(preds, ["x", "y"])))


def test_letter_colours():
    scale = plots.letter_scale("ACGTN").to_dict()
    assert dict(zip(scale["domain"], scale["range"]))["A"] == plots.NUC_COLORS["A"]
    assert dict(zip(scale["domain"], scale["range"]))["N"] == "#7f7f7f"


def test_histograms_are_pre_aggregated():
    rng = np.random.default_rng(0)
    records = pd.DataFrame({"id": range(100_000), "label": rng.choice(["x", "y"], 100_000),
                            "length": rng.integers(50, 5000, 100_000), "ambiguous": rng.random(100_000) * 0.1})
    for chart in (plots.length_histogram(records), plots.ambiguous_histogram(records)):
        d = spec(chart)
        rows = next(iter(d["datasets"].values()))
        assert len(rows) <= 2 * 40 and sum(r["records"] for r in rows) == 100_000
    preds = pd.DataFrame({"id": range(1000), "prediction": rng.choice(["x", "y"], 1000)})
    preds["p_x"] = rng.random(1000)
    preds["p_y"] = 1 - preds["p_x"]
    panels = plots.prediction_summary(preds, ["x", "y"]).hconcat
    left, right = (next(iter(spec(c)["datasets"].values())) for c in panels)
    assert sum(r["sequences"] for r in left) == 1000 and sum(r["records"] for r in right) == 1000


def test_single_length_histogram():
    records = pd.DataFrame({"id": ["a", "b"], "label": ["x", "y"], "length": [200, 200], "ambiguous": [0.0, 0.0]})
    rows = next(iter(spec(plots.length_histogram(records))["datasets"].values()))
    assert [(r["start"], r["end"], r["records"]) for r in rows] == [(199.5, 200.5, 1), (199.5, 200.5, 1)]


def test_thin_steps_keeps_long_runs_light():
    df = pd.DataFrame({"epoch": 1, "step": np.repeat(np.arange(1, 5001), 2), "layer": np.tile([1, 2], 5000),
                       "direction": "both", "grad_norm": np.tile([0.01, 1.0], 5000)})
    thin = plots.thin_steps(df, max_steps=1000)
    assert thin["step"].nunique() == 1000 and len(thin) == 2000
    assert np.allclose(thin.groupby("layer")["grad_norm"].mean().to_numpy(), [0.01, 1.0])
    assert plots.thin_steps(df.head(10)) is not None and len(plots.thin_steps(df.head(10))) == 10


def test_big_tables_need_no_row_limit():
    df = pd.DataFrame({"epoch": 1, "step": np.arange(6000), "layer": 1, "direction": "both", "grad_norm": 0.1})
    assert export.chart_svg(plots.layer_gradients(df)).startswith(b"<svg")


def test_exports_png_svg_csv(metrics):
    chart = plots.training_curves(metrics)
    assert export.chart_png(chart).startswith(b"\x89PNG")
    assert export.chart_svg(chart).startswith(b"<svg")
    assert export.table_csv(metrics).decode().splitlines()[0] == "epoch,split,loss,accuracy"


# ---------- rendered: what a reader sees on uniform and on long inputs ----------

def rendered_texts(chart, width: int | None = None) -> list[str]:
    """Every text drawn in the chart's SVG (axis labels, titles, legends), at its own or a given width."""
    import re

    import vl_convert as vlc

    if width is not None:
        chart = chart.properties(width=width)
    with alt.data_transformers.disable_max_rows():
        svg = vlc.vegalite_to_svg(chart.to_dict())
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_composition_labels_every_letter_even_when_narrow():
    letters = list("ACDEFGHIKLMNPQRSTVWYXBZJU")
    comp = pd.DataFrame([{"label": c, "letter": x, "fraction": 0.04, "standard": x not in "XBZJU"}
                         for c in ("AMP", "DECOY") for x in letters])
    chart = plots.composition(comp)
    texts = rendered_texts(chart, width=300)
    assert all(x in texts for x in letters), sorted(set(letters) - set(texts))
    # the dashboard's theme thins out overlapping labels unless the axis forbids it
    assert spec(chart)["encoding"]["x"]["axis"]["labelOverlap"] is False


def test_one_length_is_one_bar_labelled_with_that_length():
    records = pd.DataFrame({"id": range(800), "label": ["a", "b"] * 400, "length": 200, "ambiguous": 0.0})
    texts = rendered_texts(plots.length_histogram(records))
    assert "200" in texts and not any("." in x for x in texts if x[:1].isdigit()), texts
    assert not any(x.endswith(".000000") for x in texts)


def test_no_ambiguous_letters_says_so_not_one_block():
    records = pd.DataFrame({"id": range(10), "label": "a", "length": 50, "ambiguous": 0.0})
    d = spec(plots.ambiguous_histogram(records))
    assert d["mark"]["type"] == "text" and "no ambiguous letters" in json.dumps(d)  # not one bar over every record
    some = spec(plots.ambiguous_histogram(records.assign(ambiguous=[0.0] * 9 + [0.1])))
    assert some["mark"]["type"] == "bar"


def test_histograms_are_bars_from_zero():
    df = pd.DataFrame({"id": range(712), "prediction": "AMP", "p_AMP": 0.999, "p_DECOY": 0.001})
    chart = plots.prediction_summary(df, ["AMP", "DECOY"])
    d = spec(chart)
    assert d["hconcat"][1]["mark"]["orient"] == "vertical"
    texts = rendered_texts(chart)
    assert "712" not in texts  # the count is a bar height on a 0-based axis, not a tick at 712
    assert texts.count("0") >= 2


def test_training_curves_one_legend_and_whole_epochs(metrics):
    texts = rendered_texts(plots.training_panels(metrics)[0])
    assert texts.count("train") == 1 and texts.count("val") == 1
    assert "1.5" not in texts and {"1", "2", "3"} <= set(texts)


def test_gradient_and_memory_curves_have_a_panel_per_direction():
    rows = [{"layer": 1, "direction": d, "distance": k, "grad_norm": 0.5 ** k, "relative": 0.5 ** k, "sequences": 9}
            for d in ("forward", "reverse") for k in range(300)]  # a long profile
    texts = rendered_texts(plots.time_profile(pd.DataFrame(rows)))
    assert "forward direction: distance from the last letter" in texts
    assert "reverse direction: distance from the first letter" in texts
    mem = pd.DataFrame(rows).drop(columns="layer").rename(columns={"grad_norm": "influence"})
    d = spec(plots.memory_curve(mem))
    assert d["facet"]["column"]["field"] == "panel"
    assert any(layer.get("mark", {}).get("type") == "rule" for layer in d["spec"]["layer"])  # the 1% threshold
    assert "sequences" in json.dumps(d)  # how many records reach each distance, in the tooltip


def test_sequence_axes_tick_whole_positions():
    seq = "ACDEFGHIKLMNPQR"  # 15 letters
    scores = pd.DataFrame({"position": range(1, 16), "letter": list(seq), "score": np.linspace(-1, 1, 15)})
    chart = plots.saliency_logo(scores)
    axis = spec(chart)["layer"][0]["encoding"]["x"]["axis"]
    assert axis["values"] == list(range(1, 16)) and axis["format"] == "d"  # no half positions
    assert {"1", "15"} <= set(rendered_texts(chart))


def test_every_replacement_letter_and_motif_is_labelled():
    letters = "ACDEFGHIKLMNPQRSTVWY"
    ism = pd.DataFrame([{"id": "p", "position": p, "ref": "A", "alt": a, "delta": 0.1, "delta_prob": 0.0,
                         "target": "x"} for p in range(1, 31) for a in letters[1:]])
    texts = rendered_texts(plots.ism_heatmap(ism))
    assert all(a in texts for a in letters[1:])
    motifs = pd.DataFrame({"target": "x", "motif": [f"{c}KDEL"[:5] + str(i) for i, c in enumerate(letters[:15])],
                           "count": range(15, 0, -1), "mean_score": 0.5, "sequences": 3})
    texts = rendered_texts(plots.motif_bars(motifs))
    assert all(m in texts for m in motifs["motif"])


def test_a_long_letter_row_stays_readable():
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), 149))
    chart = plots.letter_track(seq)
    d = spec(chart)
    assert d["width"] >= 149 * 9 and d["mark"]["fontSize"] >= 7  # drawn wide, not squeezed
    texts = rendered_texts(chart)
    assert sum(1 for x in texts if len(x) == 1 and x.isalpha()) == 149


def test_evaluation_charts():
    from bioseq.prediction.evaluate import pr_curves, roc_curves, threshold_sweep

    y, p1 = np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9])
    p = np.stack([1 - p1, p1], axis=1)
    for chart in (plots.roc_curve(roc_curves(y, p, ["a", "b"])), plots.pr_curve(pr_curves(y, p, ["a", "b"])),
                  plots.threshold_effect(threshold_sweep(y, p1), 0.5)):
        assert has_tooltip(spec(chart))
    assert "only one class" in json.dumps(spec(plots.roc_curve(roc_curves(np.array([1, 1]), p[:2], ["a", "b"]))))
    texts = rendered_texts(plots.threshold_effect(threshold_sweep(y, p1), 0.3))
    assert {"precision", "recall", "f1"} <= set(texts)
def test_gate_saliency_tracks_one_per_gate_and_top_units():
    rows = []
    for p in (1, 3, 5):  # a pooled model: steps start at 1, 3, 5
        for unit, score in ((1, 0.5), (2, -0.25)):
            for gate in ("forget", "input"):
                rows.append({"id": "s", "layer": 1, "direction": "forward", "position": p, "span_start": p,
                             "span_end": p + 1, "unit": unit, "gate": gate, "value": 0.9, "score": score * p,
                             "target": "x"})
    from bioseq.interpret.gate_saliency import gate_summary, top_units

    table = pd.DataFrame(rows)
    d = spec(plots.gate_saliency_tracks(gate_summary(table), "ACGTAC", top=top_units(table, 1)))
    letters, forget, inp, top = d["vconcat"]
    assert letters["mark"]["type"] == "text" and has_tooltip(d)
    assert forget["title"] == "layer 1 forward: forget" and inp["title"] == "layer 1 forward: input"
    values = d["datasets"][forget["data"]["name"]]
    assert [(r["position"], r["x0"], r["x1"], r["score"], r["sign"]) for r in values] == [
        (1, 0.5, 2.5, 0.25, "up"), (3, 2.5, 4.5, 0.75, "up"), (5, 4.5, 6.5, 1.25, "up")]  # summed over units
    assert top["title"] == "layer 1 forward: top units"
    assert {r["row"] for r in d["datasets"][top["data"]["name"]]} == {"forget 1", "input 1"}
    only = spec(plots.gate_saliency_tracks(gate_summary(table), "ACGTAC", gate_names=["input"], window=(3, 4)))
    assert len(only["vconcat"]) == 2 and only["vconcat"][1]["encoding"]["x"]["scale"]["domain"] == [2.5, 4.5]


# ---------- labellers (a label per position) ----------

def tracks_frame(n: int, true: bool = True) -> pd.DataFrame:
    """One record's label tracks: M on positions 3..5 (of every 10), O elsewhere; predicted shifted by one."""
    pos = np.arange(1, n + 1)
    truth = np.where((pos % 10 >= 3) & (pos % 10 <= 5), "M", "O")
    pred = np.roll(truth, 1)
    p_m = np.where(pred == "M", 0.8, 0.3)
    return pd.DataFrame({"id": "s", "position": pos, "letter": "A", "true": truth if true else "",
                         "predicted": pred, "probability": np.maximum(p_m, 1 - p_m), "scored": true,
                         "correct": truth == pred, "p_M": p_m, "p_O": 1 - p_m})


def test_label_composition_and_segment_lengths():
    d = spec(plots.label_composition({"M": 6, "O": 4}, masked=2))
    values = d["datasets"][d["data"]["name"]]
    assert {r["class"]: r["positions"] for r in values} == {"M": 6, "O": 4, "(not scored)": 2} and has_tooltip(d)
    assert "(not scored)" not in json.dumps(spec(plots.label_composition({"M": 6, "O": 4})))
    segs = pd.DataFrame({"label": ["M", "M", "O"], "length": [20, 22, 7]})
    s = spec(plots.segment_lengths(segs))
    assert s["title"] == "Segment length per label" and s["encoding"]["color"]["title"] == "label"
    counts = {(r["class"], r["first"]): r["segments"] for r in s["datasets"][s["data"]["name"]]}
    assert counts == {("M", 20): 1, ("M", 22): 1, ("O", 7): 1}  # one bar per length under 40 letters
    assert "no segments" in json.dumps(spec(plots.segment_lengths(segs.iloc[:0])))


@pytest.mark.parametrize("n", [12, 5000])
def test_label_tracks_true_predicted_and_probabilities(n):
    d = spec(plots.label_tracks(tracks_frame(n), window=(1, min(n, 100))))
    letters, band, lines = d["vconcat"]
    rows = d["datasets"][band["data"]["name"]]
    assert {r["track"] for r in rows} == {"true", "predicted"}
    assert band["encoding"]["y"]["sort"] == ["true", "predicted"]
    assert {r["position"] for r in rows} == set(range(1, min(n, 100) + 1))  # only the window goes to the browser
    assert lines["encoding"]["y"]["scale"]["domain"] == [0, 1] and has_tooltip(lines)
    assert band["encoding"]["x"]["scale"]["domain"] == letters["encoding"]["x"]["scale"]["domain"]
    unknown = spec(plots.label_tracks(tracks_frame(12, true=False)))
    assert {r["track"] for r in unknown["datasets"][unknown["vconcat"][1]["data"]["name"]]} == {"predicted"}


def test_gate_heatmaps_with_label_tracks_share_the_axis():
    d = spec(plots.gate_heatmaps(gate_frame(pool=1), "ACGTACGTACGT", tracks=tracks_frame(12)))
    letters, band, lines, forget, cell = d["vconcat"]
    assert band["title"] == "labels" and lines["title"] == "probability of each label"
    assert band["encoding"]["x"]["scale"]["domain"] == forget["encoding"]["x"]["scale"]["domain"] == [0.5, 12.5]


def position_flow_frame(n: int) -> pd.DataFrame:
    t, s = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 1), indexing="ij")
    t, s = t.ravel(), s.ravel()
    rows = []
    for direction, live in (("forward", s <= t), ("reverse", s >= t)):
        rows.append(pd.DataFrame({"id": "x", "layer": 1, "direction": direction, "t": t, "s": s, "distance": t - s,
                                  "grad_norm": np.where(live, 0.5 ** np.abs(t - s), 0.0)}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("n", [6, 300])
def test_flow_heatmap_one_panel_per_direction_zeros_blank(n):
    d = spec(plots.flow_heatmap(position_flow_frame(n)))
    forward, reverse = d["hconcat"]
    assert forward["title"] == "layer 1, forward" and reverse["title"] == "layer 1, reverse"
    assert forward["encoding"]["color"]["scale"]["type"] == "log" and has_tooltip(forward)
    cells = d["datasets"][forward["data"]["name"]]
    assert all(r["s"] <= r["t"] for r in cells) and len(cells) == n * (n + 1) // 2  # exact zeros left out


def test_position_profile_and_memory_panels():
    prof = pd.DataFrame({"layer": 1, "direction": ["forward", "forward", "reverse", "reverse"],
                         "distance": [0, 3, 0, -3], "grad_norm": [1.0, 0.1, 1.0, 0.2], "relative": [1.0, 0.1, 1.0, 0.2],
                         "sequences": 4, "positions": 8})
    d = spec(plots.position_profile(prof))
    assert {r["distance"] for r in d["datasets"][d["data"]["name"]]} == {0, 3}  # |t − s|
    assert "states before t" in json.dumps(d) and "states after t" in json.dumps(d)
    mem = pd.DataFrame({"direction": ["past", "past", "future"], "distance": [0, 1, 1], "influence": [1.0, 0.5, 0.2],
                        "relative": [1.0, 0.5, 0.2], "sequences": 2})
    m = json.dumps(spec(plots.position_memory(mem)))
    assert "inputs before the labelled position" in m and "inputs after the labelled position" in m


@pytest.mark.parametrize("n", [20, 4000])
def test_used_window_bands(n):
    scores = pd.DataFrame({"position": np.arange(1, n + 1), "letter": "A", "score": np.exp(-np.abs(np.arange(n) - 9))})
    windows = pd.DataFrame({"mass": [0.9, 0.99], "back": [1, 3], "ahead": [1, 3]})
    d = spec(plots.used_window(scores, windows, t=10, rf=(9, n - 10), window=(1, min(n, 200))))
    bands = d["datasets"][d["layer"][0]["data"]["name"]]
    assert [(b["what"], b["start"], b["end"]) for b in bands] == [
        ("receptive field", 0.5, min(n, 200) + 0.5), ("window holding 99%", 6.5, 13.5),
        ("window holding 90%", 8.5, 11.5)]
    assert len(d["datasets"][d["layer"][1]["data"]["name"]]) == min(n, 200)  # only the shown positions


def test_label_metrics_grouped_bars():
    rows = [{"label": "M", "precision": 0.5, "recall": 1.0, "f1": 2 / 3, "segment_f1": 0.5, "sov": 0.4},
            {"label": "O", "precision": 1.0, "recall": 0.5, "f1": 2 / 3, "segment_f1": float("nan"), "sov": 0.7}]
    d = spec(plots.label_metrics(rows))
    values = d["datasets"][d["data"]["name"]]
    assert len(values) == 9 and {r["metric"] for r in values} == {"precision", "recall", "F1", "segment F1", "SOV"}
    assert "no labelled positions" in json.dumps(spec(plots.label_metrics([])))

def test_scan_track_points_and_thinning_keep_the_peaks():
    from bioseq.plots.scan import track_points

    n = 5_000
    table = pd.DataFrame({"record": "chr", "start": np.arange(n) * 10, "end": np.arange(n) * 10 + 20,
                          "p_motif": np.where(np.arange(n) == 3_333, 0.9, 0.1)})
    every = track_points(table.head(3), "p_motif")
    assert every.values.tolist() == [["chr", 10.0, 0, 20, 0.1], ["chr", 20.0, 10, 30, 0.1],
                                     ["chr", 30.0, 20, 40, 0.1]]
    thin = track_points(table, "p_motif", most=100)
    assert len(thin) == 100 and thin["score"].max() == 0.9
    assert thin.loc[thin["score"].idxmax(), "start"] == 33_330  # the peak's own window survives
    d = spec(plots.scan_track(table, "p_motif", most=100))
    assert d["title"] == "p(motif) along the sequence" and has_tooltip(d)
    assert "No windows" in json.dumps(spec(plots.scan_track(table.head(0), "p_motif")))


# ---------- legends, names, axis formats (the biologist's walk-through) ----------

def walk(d, key):
    """Every value under ``key`` anywhere in a spec."""
    if isinstance(d, dict):
        for k, v in d.items():
            if k == key:
                yield v
            yield from walk(v, key)
    elif isinstance(d, list):
        for v in d:
            yield from walk(v, key)


def two_runs(metrics):
    return pd.concat([metrics.assign(run="lstm-protein-20261207-213015"),
                      metrics.assign(run="lstm-protein-20261207-214502")])


def test_training_panels_are_single_views_with_one_legend(metrics):
    for df in (metrics, two_runs(metrics)):
        panels = plots.training_panels(df)
        assert len(panels) == 2
        for panel in panels:
            d = spec(panel)
            assert not {"hconcat", "vconcat", "facet", "concat"} & set(d)  # a single view: it stretches to its column
            color, dash = d["encoding"]["color"], d["encoding"]["strokeDash"]
            assert color["field"] == dash["field"] == "series"  # colour and dash merge into one legend
            assert color["legend"] == dash["legend"] and color["legend"]["labelLimit"] == 0
            assert d["encoding"]["x"]["axis"]["format"] == "d" and d["encoding"]["x"]["axis"]["tickMinStep"] == 1
    single = plots.training_panels(metrics)[0]
    texts = rendered_texts(single)
    assert "train" in texts and "val" in texts  # the single-run legend is drawn
    texts = rendered_texts(plots.training_panels(two_runs(metrics))[0])
    assert {"lstm-protein-20261207-213015 · train", "lstm-protein-20261207-214502 · val"} <= set(texts)
    assert not any(x.endswith("…") for x in texts)  # run names in full, told apart
    assert texts.count("split") == 0  # no second legend of identical dots


def test_log_axes_one_format_and_whole_steps():
    from bioseq.plots.common import LOG_FORMAT

    grads = pd.DataFrame({"epoch": 1, "step": np.repeat(np.arange(1, 16), 2), "layer": [1, 2] * 15,
                          "direction": "both", "grad_norm": np.tile([1e-6, 1e-8], 15)})
    d = spec(plots.layer_gradients(grads))
    assert d["encoding"]["x"]["axis"]["format"] == "d" and d["encoding"]["x"]["axis"]["tickMinStep"] == 1
    texts = rendered_texts(plots.layer_gradients(grads))
    assert "1.0" not in texts and "15" in texts and "0.000001" not in texts and "1e-6" in texts
    rows = [{"layer": 1, "direction": "forward", "distance": k, "grad_norm": 0.1 ** k, "relative": 0.1 ** k,
             "sequences": 9} for k in range(10)]
    charts = [plots.layer_gradients(grads), plots.time_profile(pd.DataFrame(rows)),
              plots.layer_means(pd.DataFrame({"run": "r", "layer": [1, 2], "grad_norm": [1e-8, 1e-3]})),
              plots.position_profile(pd.DataFrame(rows))]
    for chart in charts:
        d = spec(chart)
        ys = [e["y"] for e in walk(d, "encoding") if e.get("y", {}).get("scale", {}).get("type") == "log"]
        assert ys and all(y["axis"]["format"] == LOG_FORMAT for y in ys)


def test_flow_heatmap_heading_in_words_and_legend_rounded():
    df = position_flow_frame(8)
    df["grad_norm"] = df["grad_norm"] * 4.73729670943e-14
    chart = plots.flow_heatmap(df)
    d = spec(chart)
    assert d["title"] == "Gradient reaching each step from each output, ‖∂C(t)/∂h(s)‖"
    color = d["hconcat"][0]["encoding"]["color"]
    assert color["title"].startswith("gradient ") and color["legend"]["format"] == ".1~e"
    texts = rendered_texts(chart)
    assert not any("4.73729670943" in x for x in texts), texts
    for other in (plots.position_profile(pd.DataFrame({"layer": 1, "direction": "forward", "distance": [0, 1],
                                                       "grad_norm": [1.0, 0.1], "relative": [1.0, 0.1],
                                                       "sequences": 2})),
                  plots.time_profile(pd.DataFrame({"layer": 1, "direction": "forward", "distance": [0, 1],
                                                   "grad_norm": [1.0, 0.1], "relative": [1.0, 0.1], "sequences": 2}))):
        titles = [t for t in walk(spec(other), "title") if isinstance(t, str) and "‖" in t]
        assert titles and all(t[:1].isalpha() for t in titles), titles  # words first, the formula after


def test_importances_need_five_trials_and_labels_do_not_overlap():
    d = json.dumps(spec(plots.importances({}, finished=3)))
    assert "at least 5 finished trials (3 so far)" in d
    d = spec(plots.importances({"forget_bias": 0.6, "conv_pool": 0.3, "lr": 0.1}))
    options = {r["option"] for r in d["datasets"][d["data"]["name"]]}
    assert options == {"Forget-gate bias", "Conv pool", "Learning rate"}  # the form's labels
    assert d["height"] >= 110 + 26 * 3 and d["encoding"]["y"]["axis"]["labelOverlap"] is False


def test_named_motif_logo_and_positions():
    """A row of the named motif table (:mod:`bioseq.interpret.named_motifs`) as a logo; the seqlets' centres of
    every motif as one histogram."""
    ppm = [[0.0, 0.0, 0.0, 1.0], [0.25, 0.25, 0.25, 0.25]]
    table = pd.DataFrame({"target": ["motif", "motif"], "motif": ["pos_1", "neg_1"], "sign": ["+", "-"],
                          "consensus": ["Ta", "Gg"], "match_id": ["MA0099.4", ""], "match_name": ["FOS::JUN", ""],
                          "ppm": [json.dumps(ppm)] * 2, "positions": ["[3, 4, 4]", "[9]"]})
    logo = spec(plots.named_logo(table.iloc[0], "ACGT"))
    assert '"motif pos_1 (+): Ta ~ MA0099.4 FOS::JUN"' in json.dumps(logo) and has_tooltip(logo)
    bars = [r for r in logo["datasets"].values()][0]
    assert [(r["position"], r["letter"], r["bits"]) for r in bars] == [(1, "T", 2.0)]  # position 2 carries 0 bits
    assert '"motif neg_1 (-): Gg"' in json.dumps(spec(plots.named_logo(table.iloc[1], "ACGT")))
    where = spec(plots.motif_positions(table, length=10))
    rows = [r for r in where["datasets"].values()][0]
    assert [(r["motif"], r["position"]) for r in rows] == [("motif pos_1", 3), ("motif pos_1", 4),
                                                           ("motif pos_1", 4), ("motif neg_1", 9)]
    assert has_tooltip(where) and where["encoding"]["x"]["bin"]["extent"] == [1, 11]
    assert spec(plots.motif_positions(table.iloc[:0]))["mark"]["type"] == "text"  # nothing: a message
