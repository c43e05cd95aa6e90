"""Gradient flow: per-layer gradient norms, the gradient by distance from where the model reads its output (the
read-out, or every position of a labeller: G[t, s] = ‖∂C⁽ᵗ⁾/∂h⁽ˢ⁾‖), the memory curve, and a diagnosis."""

import math
import os

import streamlit as st

from bioseq import plots
from bioseq.app import flow, glossary
from bioseq.errors import BioseqError
from bioseq.task import task_of
from bioseq.training import runs
from dashboard import loaders, state, widgets


def _per_position(reports) -> None:
    """G[t, s] as a heatmap for one sequence and as a mean curve by distance, and the memory span per position."""
    st.subheader("Per position: gradient reaching each step from each output, ‖∂C(t)/∂h(s)‖",
                 help="A labeller has a loss C(t) at every position t. G[t, s] is "
                 "how much of the error at t reaches the hidden state at position s: the lecture's picture of "
                 "gradients flowing back through time, for every pair of positions.")
    names = [r.name for r in reports]
    c1, c2, c3 = st.columns([2, 3, 1])
    r = reports[names.index(c1.selectbox("Run", names, key="flow_heat_run"))] if len(reports) > 1 else reports[0]
    if not r.sample:
        st.info(r.note or "No training sequences to measure.", icon=":material/info:")
        return
    state.follow("flow_heat_record", r.model_path, 0)  # a sequence of this run's model
    index = c2.selectbox("Sequence", range(len(r.sample)), key="flow_heat_record",
                         format_func=lambda i: f"{r.sample[i].id} · {len(r.sample[i].seq)} letters")
    try:
        table = loaders.explain("gradients", r.model_path, [r.sample[index]],
                                labels=[r.tracks[index]] if r.tracks else None)
    except BioseqError as e:
        widgets.error(e)
        return
    layers = sorted(table["layer"].unique())
    state.follow("flow_heat_layer", r.model_path, layers[0])
    layer = c3.selectbox("Layer", layers, key="flow_heat_layer") if len(layers) > 1 else layers[0]
    widgets.chart(plots.flow_heatmap(table, layer), "flow_heatmap", f"{r.sample[index].id}_position_gradients")
    st.caption("Row t: the error of the label at position t (the true label where known); column s: the hidden "
               "state it reaches. A forward layer's error only flows back (s ≤ t, left of the diagonal), a reverse "
               "layer's only forward; a band that narrows away from the diagonal is a gradient that vanishes.")
    widgets.chart(plots.position_profile(flow.stack(reports, "time")), "flow_profile", "position_profile")
    st.caption(f"The same by distance |t − s|, over {r.records} training sequences (up to 16 loss positions each), "
               "each direction on its own: every (sequence, t)'s values are divided by their peak, and the line is "
               "the median over the sequences that reach that far.")
    widgets.chart(plots.position_memory(flow.stack(reports, "memory")), "flow_memory", "position_memory")
    st.caption("Memory span per position: how strongly an input letter moves the label at t, by its distance "
               "from t, before and after it; the dashed line is 1% of the peak, where the effective memory is "
               "read off.")


table = runs.list_runs()
finished = table[table["status"].isin(["done", "stopped"]) & table["has_model"]]
if not len(finished):
    st.info("No finished runs yet: train a model on the Train page (or with `bioseq train`).", icon=":material/info:")
    st.stop()
names = list(finished["name"])
current = state.current_model()
st.session_state.setdefault("flow_runs", [current if current in names else names[0]])
st.session_state["flow_runs"] = [n for n in st.session_state["flow_runs"] if n in names]
chosen = st.multiselect("Runs (two or more side by side, e.g. RNN against LSTM, or batch norm off against on)",
                        names, key="flow_runs", max_selections=4)
n = st.slider("Training sequences for the per-position views", 8, 128, 32, 8, key="flow_n",
              help="∂C/∂h(t) and the memory curve are computed on this many training records")
if not chosen:
    st.info("Pick at least one run.", icon=":material/info:")
    st.stop()

reports = []
for name in chosen:
    try:
        path = finished.loc[finished["name"] == name, "model_path"].iloc[0]
        member = widgets.member_choice(path, f"flow_member_{name}", f"{name}: ensemble member")
        reports.append(loaders.flow_report(name, n, os.path.getmtime(path), member))
    except BioseqError as e:
        widgets.error(e)
if not reports:
    st.stop()

st.subheader("Diagnosis")
for col, r in zip(st.columns(len(reports)), reports):
    with col:
        st.markdown(f"**{r.name}**  \n`{r.architecture}`")
        box = st.success if r.diagnosis.verdict == "healthy" else st.error
        box(f"**{r.diagnosis.verdict.capitalize()}**", icon=":material/stethoscope:")
        st.markdown("\n".join(f"- {f}" for f in r.diagnosis.findings))
        if r.diagnosis.remedies:
            st.markdown("**What to try:**\n" + "\n".join(f"- {x.words('dashboard')}" for x in r.diagnosis.remedies))
        m1, m2 = st.columns(2)
        ratio = r.summary.ratio
        m1.metric("First/last layer", "one layer" if math.isnan(ratio) else f"{ratio:.3g}",
                  help=glossary.explain("first/last layer ratio"))
        m2.metric("Effective memory", r.memory_text(), help=glossary.explain("effective memory"))
        if task_of(r.task).per_position:
            st.caption("A labeller answers at every position: the memory is the influence of the inputs on the "
                       "label at each position, by their distance from it (both directions).")
        elif r.readout != "last":
            st.caption(f"This model's read-out (**{r.readout}**) looks at every position, so there is no single "
                       "read-out for an input to travel from; distances count from the sequence's ends.")
        if r.note:
            st.caption(r.note)

st.subheader("Per layer, over training", help=glossary.explain("gradient norm"))
st.caption("‖∇‖ of each recurrent layer's weights and biases at every recorded step (log scale). Layer 1 is "
           "nearest the input; lines far below the last layer's mean it learns far more slowly.")
widgets.chart(plots.layer_gradients(flow.stack(reports, "layers")), "flow_layers", "layer_gradients")
means = flow.layer_table(reports)
if len(means) and means["layer"].nunique() > 1:
    widgets.chart(plots.layer_means(means), "flow_means", "layer_means")

per_position = [r for r in reports if task_of(r.task).per_position]  # the task reads an output at every position
reports = [r for r in reports if not task_of(r.task).per_position]
if per_position:
    _per_position(per_position)
if not reports:
    st.stop()
st.subheader("Per time step", help=glossary.explain("∂C/∂h(t)"))
widgets.chart(plots.time_profile(flow.stack(reports, "time")), "flow_time", "time_profile")
st.caption("How much of the error signal reaches the hidden state h(t) at each distance from where the model reads "
           "its answer, one panel per direction: each training sequence's values are divided by its largest, and "
           "the line is the median over the sequences that reach that far (at least half of them). A plain RNN's "
           "line falls steeply; an LSTM's cell state keeps it up.")
widgets.chart(plots.memory_curve(flow.stack(reports, "memory")), "flow_memory", "memory_curve")
st.caption("How strongly an input letter moves the answer, by its distance from the read-out, measured the same "
           "way; the dashed line is 1% of the strongest position, where the effective memory is read off.")
