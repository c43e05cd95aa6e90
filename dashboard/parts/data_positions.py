"""The Data page's report on per-position data (a label per letter): label composition, segment lengths, the
masked share. Not a page: ``dashboard/views/data.py`` calls :func:`show`."""

import streamlit as st

from bioseq import plots
from dashboard import widgets


def show(source, rep) -> None:
    s = rep.summary
    cols = st.columns(6)
    cols[0].metric("Records", f"{s['records']:,}")
    cols[1].metric("Labels", len(rep.classes), help="one label per position: " + ", ".join(rep.classes))
    cols[2].metric("Alphabet", s["alphabet"].upper())
    span = f"{s['length_min']}" if s["length_min"] == s["length_max"] else f"{s['length_min']}–{s['length_max']}"
    cols[3].metric("Length", span, help=f"median {s['length_median']:g}")
    cols[4].metric("Positions", f"{s['positions']:,}")
    cols[5].metric("Not scored", f"{s['masked'] / max(s['positions'], 1):.1%}",
                   help="positions left out of the loss and the metrics (a 0 in the mask, or the unscored label)")
    st.caption("Per-position labels: each letter has its own label"
               + (f"; label **{s['ignore_label']}** is never scored" if s.get("ignore_label") else "")
               + (f"; mask {', '.join(widgets.words(m) for m in source.mask)}" if source.mask else "")
               + ". A model trained on it labels every position.")
    for note in rep.notes:
        st.warning(note, icon=":material/warning:")
    left, right = st.columns(2)
    with left:
        widgets.chart(plots.label_composition(s["per_class"], s["masked"]), "data_label_counts", "positions_per_label")
        widgets.chart(plots.composition(rep.composition, legend="position label"), "data_composition", "composition")
    with right:
        widgets.chart(plots.segment_lengths(rep.segments), "data_segments", "segment_lengths")
        widgets.chart(plots.length_histogram(rep.records), "data_lengths", "length_histogram")
    st.caption("Positions per label: " + ", ".join(f"**{c}** ({n:,})" for c, n in s["per_class"].items()))
    if st.toggle("Show every record", key="data_show_records"):
        widgets.table(rep.records, "data_records", "records", hide_index=True)
    st.page_link("dashboard/views/train.py", label="Train a labeller on this dataset", icon=":material/model_training:")
