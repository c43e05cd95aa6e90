"""Gradient flow: per-layer gradient norms, gradient by distance from the read-out, and a diagnosis."""

import math
import os

import streamlit as st

from bioseq import plots
from bioseq.app import flow, glossary
from bioseq.errors import BioseqError
from bioseq.training import runs
from dashboard import loaders, state, widgets

table = runs.list_runs()
finished = table[table["status"].isin(["done", "stopped"]) & table["has_model"]]
if not len(finished):
    st.info("No finished runs yet: train a model on the Train page (or with `bioseq train`).", icon=":material/info:")
    st.stop()
names = list(finished["name"])
current = st.session_state.get(state.MODEL_KEY)
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
        if r.task == "label":
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

labellers = [r for r in reports if r.task == "label"]
reports = [r for r in reports if r.task != "label"]
if labellers:
    from dashboard.parts import flow_positions  # noqa: E402 - the per-position views of labellers

    flow_positions.show(labellers)
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
