"""The Gates & saliency page for labellers (a label per position): gates along the sequence aligned with the
true and predicted label tracks; every attribution method, gate saliency and mutagenesis for the output at a
chosen position t; the window the model uses there against its receptive field. Not a page:
``dashboard/views/gates_saliency.py`` calls :func:`show`."""

import streamlit as st

from bioseq import plots
from bioseq.app import glossary
from bioseq.app import records as records_lib
from bioseq.data import io
from bioseq.errors import BioseqError
from bioseq.interpret import attribution, ism
from bioseq.interpret import window as window_lib
from bioseq.prediction import predict
from dashboard import loaders, state, widgets
from dashboard.parts import gates_parts, guards

ORIGINS = {"data": "the model's training data", "dataset": "the dataset on the Data page", "paste": "pasted text",
           "upload": "a FASTA file (three-line FASTA adds the true labels)"}


def _records(path, bundle):
    origin = st.radio("Sequence from", list(ORIGINS), key="gates_origin", horizontal=True, format_func=ORIGINS.get)
    source = state.current_source()
    tracks = None
    if origin == "paste":
        text = st.text_area("Sequence (FASTA or bare letters)", key="gates_paste", height=100)
        records = io.parse_text(text) if text.strip() else []
    elif origin == "upload":
        files = st.file_uploader("FASTA file", key="gates_upload")
        records, tracks = loaders.labelled_records("upload", path, files=widgets.uploaded(files)) if files \
            else ([], None)
    elif origin == "dataset" and source is None:
        records = []
    else:
        records, tracks = loaders.labelled_records(origin, path, source if origin == "dataset" else None)
    if not records:
        return records, tracks, None
    predict.check_alphabet(bundle, records)
    return records, tracks, loaders.position_records(path, records, tracks)


def _metrics(row, tracks_row, bundle, t: int) -> None:
    at = tracks_row[tracks_row["position"] == t].iloc[0]
    cols = st.columns(3 + len(bundle.classes))
    cols[0].metric("Accuracy on this record", "unknown" if row["correct"] is None else f"{row['accuracy']:.3f}",
                   help="share of its scored positions labelled right")
    cols[1].metric(f"True label at {t}", at["true"] or "unknown")
    right = None if not at["scored"] else bool(at["correct"])
    cols[2].metric(f"Predicted at {t}", at["predicted"], delta_color="normal" if right else "inverse",
                   delta=None if right is None else ("right" if right else "wrong"))
    for col, c in zip(cols[3:], bundle.classes):
        col.metric(f"p({c}) at {t}", f"{at[f'p_{c}']:.3f}")


def show(path: str, bundle) -> None:
    records, tracks, found = guards.records_or_stop(lambda: _records(path, bundle))
    index, target = gates_parts.record_choice(
        found, bundle.classes, records_lib.describe_position_row, "misclassified first: the least accurate records "
        "first; most confident per class: by the label each record gets most often, the surest first",
        "predicted label")
    record, labels = records[index], ([tracks[index]] if tracks is not None else None)
    seq = record.seq.upper()
    p1, p2 = st.columns([1, 3])
    t = int(p1.number_input("Position t", 1, len(seq), min(len(seq), max(1, len(seq) // 2)), key="gates_position",
                            help="the output explained: the label the model gives the letter at position t"))
    window = p2.slider("Positions shown", 1, len(seq), (1, min(len(seq), widgets.WINDOW)), key="gates_window",
                       help=f"zoom into part of the sequence; a long sequence starts with its first {widgets.WINDOW} "
                       "letters") if len(seq) > 1 else None
    label_tracks = loaders.explain("tracks", path, [record], labels=labels)
    _metrics(found.iloc[index], label_tracks, bundle, t)

    member = widgets.member_choice(path, "gates_member")
    gates_tab, gate_sal_tab, saliency_tab, ism_tab = st.tabs(
        ["Gates", f"Gate saliency at {t}", f"Saliency at {t}", f"Mutagenesis at {t}"])
    with gates_tab:
        table = loaders.explain("gates", path, [record], member=member)
        layer, directions, shown, units, signed = gates_parts.gate_controls(table)
        st.caption("The letters, then the true labels (when known) and the predicted ones, the probability of each "
                   "label, and the gates below on the same positions: where a forget gate holds or drops against a "
                   "segment boundary" + (f"; {signed} are signed." if signed else "."),
                   help=glossary.explain("forget gate"))
        widgets.chart(plots.gate_heatmaps(table, seq, units=units, layers=[layer], directions=directions,
                                          gate_names=shown, window=window, tracks=label_tracks), "gates_heatmap",
                      f"{record.id}_gates")
    with gate_sal_tab:
        scored = loaders.explain("gate-saliency", path, [record], target, member=member, position=t)
        gates_parts.gate_saliency_view(
            scored, seq, f"How much each gate, at each position, decides the label's score at position {t}: "
            "activation × gradient, summed over units. In a forward direction no gate after t can score.", window,
            f"{record.id}_gate_saliency_at_{t}")
    with saliency_tab:
        _saliency(path, bundle, record, target, t, window)
    with ism_tab:
        if len(seq) > ism.ISM_MAX_LENGTH:
            st.info(f"In-silico mutagenesis is limited to {ism.ISM_MAX_LENGTH} letters.", icon=":material/info:")
        elif len(seq) <= 300 or st.button(f"Run mutagenesis ({len(seq) * (bundle.alphabet.size - 1):,} mutants)",
                                          key="gates_ism"):
            widgets.chart(plots.ism_heatmap(loaders.explain("mutations", path, [record], target, position=t),
                                            window=window), "gates_ism_chart", f"{record.id}_ism_at_{t}")


def _saliency(path, bundle, record, target, t: int, window) -> None:
    methods = attribution.METHODS
    method = gates_parts.method_choice()
    chosen = methods[method]
    if chosen.max_length is not None and attribution.prepared_lengths(bundle, [record])[0] > chosen.max_length:
        st.info(f"{chosen.label.capitalize()} is limited to {chosen.max_length} letters.", icon=":material/info:")
        return
    try:
        scores = loaders.explain(method, path, [record], target, position=t)
        used = loaders.explain("window", path, [record], target, method=method, positions=(t,))
    except BioseqError as e:  # one message; the other tabs still draw
        widgets.error(e)
        return
    st.caption(f"{chosen.label.capitalize()}: {chosen.help}. Explaining label **{scores['target'].iloc[0]}** at "
               f"position **{t}**: tall letters push its score up, letters below the line push it down.")
    widgets.chart(plots.saliency_logo(scores, title=f"{record.id}: {chosen.label} for the label at {t}", window=window),
                  "gates_saliency", f"{record.id}_{method}_at_{t}")
    rf = window_lib.receptive_field(bundle, t, len(record.seq))
    widgets.chart(plots.used_window(scores, used, t, rf, window), "gates_window_chart", f"{record.id}_window_at_{t}")
    st.caption(f"The window the model uses at {t}, against its receptive field ("
               f"{window_lib.receptive_field_words(bundle)}): " + "; ".join(
                   f"{w['mass']:.0%} of the attribution lies within {int(w['back'])} letters before and "
                   f"{int(w['ahead'])} after" for _, w in used.dropna(subset=["back"]).iterrows()) + ".")
    widgets.table(used, "gates_window", f"{record.id}_window_at_{t}", hide_index=True)
