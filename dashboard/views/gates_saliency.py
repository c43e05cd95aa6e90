"""Gates & saliency: gate activations under the letters, any attribution method as a logo, mutagenesis, motifs."""

import streamlit as st

from bioseq import plots
from bioseq.app import glossary
from bioseq.app import records as records_lib
from bioseq.data import io
from bioseq.errors import BioseqError
from bioseq.interpret import attribution, ism
from bioseq.prediction import predict
from dashboard import loaders, state, widgets
from dashboard.parts import gates_parts, guards

path = widgets.model_choice("gates_model")
if path is None:
    st.info("No saved models yet: train one on the Train page first.", icon=":material/info:")
    st.stop()
bundle = widgets.bundle_or_stop(path)
if bundle.task == "label":
    from dashboard.parts import gates_positions  # a labeller's page: the output at a chosen position, label tracks

    gates_positions.show(path, bundle)
    st.stop()

origin = st.radio("Sequence from", ["data", "dataset", "paste", "upload"], key="gates_origin", horizontal=True,
                  format_func={"data": "the model's training data", "dataset": "the dataset on the Data page",
                               "paste": "pasted text", "upload": "a FASTA file"}.get)
source = state.current_source()


def _load() -> tuple[list, object]:
    if origin == "data":
        records = loaders.model_records(path, loaders.MAX_RECORDS)
    elif origin == "dataset":
        records = loaders.source_records(source, loaders.MAX_RECORDS) if source else []
    elif origin == "paste":
        text = st.text_area("Sequence (FASTA or bare letters)", key="gates_paste", height=100)
        records = io.parse_text(text) if text.strip() else []
    else:
        files = st.file_uploader("FASTA file", key="gates_upload")
        records = loaders.upload_records(widgets.uploaded(files)) if files else []
    if not records:
        return records, None
    predict.check_alphabet(bundle, records)
    return records, loaders.record_table(path, records, origin, source)


records, found = guards.records_or_stop(_load)
if len(records) == loaders.MAX_RECORDS:
    st.caption(f"The first {loaders.MAX_RECORDS:,} records are searched.")

index, target = gates_parts.record_choice(
    found, bundle.classes, records_lib.describe_row, "misclassified first: wrong predictions first, the most "
    "confident mistakes leading; most confident per class: each predicted class's surest records, the classes "
    "taking turns")
record = records[index]
row = found.iloc[index]
seq = record.seq.upper()
cols = st.columns(2 + len(bundle.classes))
cols[0].metric("True label", row["true"] or "unknown")
cols[1].metric("Predicted", row["prediction"], delta=None if row["correct"] is None else
               ("right" if row["correct"] else "wrong"), delta_color="normal" if row["correct"] else "inverse")
for col, c in zip(cols[2:], bundle.classes):
    col.metric(f"p({c})", f"{row[f'p_{c}']:.3f}")

window = st.slider("Positions shown", 1, len(seq), (1, min(len(seq), widgets.WINDOW)), key="gates_window",
                   help=f"zoom into part of the sequence (gates, saliency and mutagenesis); a long sequence starts "
                   f"with its first {widgets.WINDOW} letters, which stay readable") if len(seq) > 1 else None
member = widgets.member_choice(path, "gates_member")
gates_tab, gate_sal_tab, saliency_tab, ism_tab, motif_tab = st.tabs(
    ["Gates", "Gate saliency", "Saliency", "Mutagenesis", "Motifs"])
with gates_tab:
    table = loaders.explain("gates", path, [record], member=member)
    layer, directions, shown, units, signed = gates_parts.gate_controls(table)
    st.caption("Gates run 0–1 (a forget gate near 1 over a stretch means 'remembering through here')"
               + (f"; {signed} are signed." if signed else "."), help=glossary.explain("forget gate"))
    widgets.chart(plots.gate_heatmaps(table, seq, units=units, layers=[layer], directions=directions,
                                      gate_names=shown, window=window), "gates_heatmap", f"{record.id}_gates")
with gate_sal_tab:
    scored = loaders.explain("gate-saliency", path, [record], target, member=member)
    gates_parts.gate_saliency_view(
        scored, seq, "How much each gate, at each position, decides the explained score: activation × gradient, "
        "summed over units (bars above the line push the class up); then the three units that matter most. A "
        "forget gate that holds across a stretch between a signal and the read-out is where the memory is.", window,
        f"{record.id}_gate_saliency")

with saliency_tab:
    methods = attribution.METHODS
    method = gates_parts.method_choice()
    chosen, scores = methods[method], None
    if chosen.max_length is not None and attribution.prepared_lengths(bundle, [record])[0] > chosen.max_length:
        st.info(f"{chosen.label.capitalize()} is limited to {chosen.max_length} letters.", icon=":material/info:")
    else:
        try:
            scores = loaders.explain(method, path, [record], target)
        except BioseqError as e:  # one message; the other tabs still draw
            widgets.error(e)
    if scores is not None:
        st.caption(f"{chosen.label.capitalize()}: {chosen.help}. Explaining class **{scores['target'].iloc[0]}**: "
                   "tall letters push its score up, letters below the line push it down.")
        widgets.chart(plots.saliency_logo(scores, title=f"{record.id}: {chosen.label}", window=window),
                      "gates_saliency", f"{record.id}_{method}")
with ism_tab:
    auto = len(seq) <= 300
    if len(seq) > ism.ISM_MAX_LENGTH:
        st.info(f"In-silico mutagenesis is limited to {ism.ISM_MAX_LENGTH} letters.", icon=":material/info:")
    elif auto or st.button(f"Run mutagenesis ({len(seq) * (bundle.alphabet.size - 1):,} mutants)", key="gates_ism"):
        widgets.chart(plots.ism_heatmap(loaders.explain("mutations", path, [record], target), window=window),
                      "gates_ism_chart", f"{record.id}_ism")
with motif_tab:
    m1, m2, m3 = st.columns(3)
    n = m1.slider("Sequences", 10, min(500, len(records)), min(100, len(records)), key="gates_motif_n") \
        if len(records) > 10 else len(records)
    k = m2.slider("Motif length k", 3, 12, 6 if bundle.alphabet.size <= 4 else 4, key="gates_motif_k")
    by = m3.selectbox("Scores from", list(attribution.METHODS), key="gates_motif_method",
                      format_func=lambda m: attribution.METHODS[m].label,
                      help="the attribution method whose per-letter scores the k-mer windows add up")
    request = (path, n, k, target, by)
    if st.button(f"Find motifs in {n} sequences", key="gates_find_motifs", icon=":material/search:"):
        st.session_state["gates_motif_request"] = request
    if st.session_state.get("gates_motif_request") == request:
        try:
            found = loaders.explain("motifs", path, records[:n], target, k=k, top=15, method=by)
        except BioseqError as e:  # e.g. a record longer than the method's limit
            widgets.error(e)
            st.stop()
        widgets.chart(plots.motif_bars(found), "gates_motifs", "motifs")
        if len(found):
            widgets.table(found, "gates_motif_table", "motifs", hide_index=True)
            motif = st.selectbox("Logo of", list(found.sort_values("count", ascending=False)["motif"]),
                                 key="gates_logo_motif", help="the most frequent candidate comes first")
            logo = loaders.explain("logo", path, records[:n], target, motif=motif, method=by)
            widgets.chart(plots.motif_logo(logo, title=f"Windows within one letter of {motif}"), "gates_logo",
                          f"logo_{motif}")
