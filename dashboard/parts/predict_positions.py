"""The Predict page for labellers (a label per position): each record as aligned tracks (sequence, true labels
when known, predicted labels, per-label probabilities), a sortable per-record table, per-label metrics when the
uploads carry labels, and CSV and three-line FASTA downloads. Not a page: ``dashboard/views/predict.py`` calls
:func:`show`."""

import pandas as pd
import streamlit as st

from bioseq import plots
from bioseq.app import cards, downloads
from bioseq.app.predictions import predict_uploads
from dashboard import widgets
from dashboard.parts import guards


def _evaluation(ev, labels) -> None:
    m = ev.metrics
    cols = st.columns(5)
    for col, (k, label) in zip(cols, (("accuracy", ev.accuracy_name), ("balanced_accuracy", "balanced accuracy"),
                                      ("mcc", "MCC"), ("f1", "F1 (macro)"), ("sov", "SOV"))):
        col.metric(label, f"{m[k]:.3f}")
    st.caption(f"{m['n']:,} labelled sequences, {m['positions']:,} scored positions (unscored ones count nowhere). "
               f"{ev.accuracy_name}: the share of positions labelled right; SOV: segment overlap (SOV'99).")
    left, right = st.columns(2)
    with left:
        widgets.chart(plots.label_metrics(ev.per_label), "predict_label_metrics", "per_label_metrics")
    with right:
        widgets.chart(plots.confusion_matrix(ev.confusion, labels, title="Confusion matrix (positions)"),
                      "predict_confusion", "confusion")
    widgets.table(pd.DataFrame(ev.per_label), "predict_per_label", "per_label", hide_index=True)


def show(path: str, bundle) -> None:
    rule = cards.ignore_rule(bundle.labelling or {})
    st.caption(f"**{bundle.name}**: {bundle.alphabet.name.upper()} labeller (a label per position); labels "
               f"{', '.join(bundle.classes)}; {rule}.")
    files = st.file_uploader("Sequence files to label (FASTA, plain or .gz; a three-line FASTA brings the true "
                             "labels)", accept_multiple_files=True, key="predict_files")
    with st.expander("True labels in separate files (optional)", icon=":material/label:"):
        c1, c2 = st.columns(2)
        labels_fasta = c1.file_uploader("Label FASTA (matched by id)", accept_multiple_files=True,
                                        key="predict_labels_fasta")
        mask = c2.file_uploader("Mask FASTA (0/1, 1 = scored)", accept_multiple_files=True, key="predict_mask")
    if not files:
        st.info("Upload one or more FASTA files. Three-line FASTA (header, sequence, label string), or a label "
                "FASTA beside the sequences, is also evaluated.", icon=":material/info:")
        st.stop()
    pairs, label_pairs, mask_pairs = widgets.uploaded(files), widgets.uploaded(labels_fasta), widgets.uploaded(mask)
    key = (path, widgets.digest(pairs + label_pairs + mask_pairs))
    slot = st.empty()
    if st.session_state.get("predict_key") != key:
        found = guards.with_progress(slot, "Labelling the sequences…", "Labelled {done:,} of {total:,} sequences",
                                     lambda progress: predict_uploads(bundle, pairs, label_pairs, mask_pairs,
                                                                      progress=progress))
        st.session_state.update(predict_key=key, predict_frame=found, predict_selected=None)
        st.session_state.pop("predict_results_table", None)  # a row of another table means nothing here
    found = st.session_state["predict_frame"]

    d1, d2 = st.columns(2)
    d1.download_button("Download predictions (CSV)", downloads.table_csv(found.table), file_name="predictions.csv",
                       mime="text/csv", key="predict_download", type="primary", on_click="ignore",
                       icon=":material/download:", help="one row per position: id, position, letter, prediction, "
                       "the probability of each label (and the true label when known)")
    d2.download_button("Download predicted labels (three-line FASTA)", found.fasta(bundle.classes),
                       file_name="predictions.fa", mime="text/plain", key="predict_download_fasta",
                       on_click="ignore", icon=":material/download:")
    if found.evaluation is not None:
        st.subheader("Evaluation on the true labels")
        _evaluation(found.evaluation, bundle.classes)
    else:
        st.info("No evaluation: the files carry no labels per position (upload a three-line FASTA, or a label "
                "FASTA).", icon=":material/info:")

    st.subheader(f"Records ({len(found.records):,})")
    st.caption("Click a column to sort; click a row to see that record's tracks.")
    event = widgets.table(found.per_record, "predict_results", "records", on_select="rerun",
                          selection_mode="single-row", hide_index=True, column_config={"index": None})
    rows = [r for r in (event.selection.rows if event else []) if r < len(found.records)]
    selected = int(found.per_record.index[rows[0]]) if rows else st.session_state.get("predict_selected") or 0
    st.session_state["predict_selected"] = selected
    record = found.records[selected]
    st.subheader(f"Tracks of {record.id}")
    window = st.slider("Positions shown", 1, len(record.seq), (1, min(len(record.seq), widgets.WINDOW)),
                       key="predict_window") if len(record.seq) > 1 else None
    widgets.chart(plots.label_tracks(found.record_tracks(selected), window), "predict_tracks", f"{record.id}_tracks")
    st.caption("The sequence, its true labels (when known), the predicted labels and the probability of each "
               "label along it.")
