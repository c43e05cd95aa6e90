"""The Gradient flow page's per-position views of labellers: G[t, s] = ‖∂C⁽ᵗ⁾/∂h⁽ˢ⁾‖ as a heatmap for one
sequence and as a mean curve by distance, and the memory span per position. Not a page:
``dashboard/views/gradient_flow.py`` calls :func:`show`."""

import streamlit as st

from bioseq import plots
from bioseq.app import flow
from bioseq.errors import BioseqError
from dashboard import loaders, widgets


def show(reports) -> None:
    st.subheader("Per position: ‖∂C(t)/∂h(s)‖", help="A labeller has a loss C(t) at every position t. G[t, s] is "
                 "how much of the error at t reaches the hidden state at position s: the lecture's picture of "
                 "gradients flowing back through time, for every pair of positions.")
    names = [r.name for r in reports]
    c1, c2, c3 = st.columns([2, 3, 1])
    r = reports[names.index(c1.selectbox("Run", names, key="flow_heat_run"))] if len(reports) > 1 else reports[0]
    if not r.sample:
        st.info(r.note or "No training sequences to measure.", icon=":material/info:")
        return
    index = c2.selectbox("Sequence", range(len(r.sample)), key="flow_heat_record",
                         format_func=lambda i: f"{r.sample[i].id} · {len(r.sample[i].seq)} letters")
    try:
        table = loaders.position_flow(r.model_path, r.sample[index], r.tracks[index] if r.tracks else None)
    except BioseqError as e:
        widgets.error(e)
        return
    layers = sorted(table["layer"].unique())
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
