"""Predict: classify uploaded FASTA files with a saved or uploaded model; flag records unlike the training data;
filter and download the table; explain a row; evaluate on labelled files, with a decision threshold; below them,
scan a long sequence. A labeller (a label per position, from its Task) gets each record as aligned tracks
(sequence, true labels when known, predicted labels, per-label probabilities), a sortable per-record table,
per-label metrics when the uploads carry labels, and CSV and three-line FASTA downloads. A classifier's page ends
with the scan panel and the Variants panel (a VCF against a genome, sorted by effect).

The model picked is kept in the page address (``?model=NAME``); the choices that belong to it follow it
(:func:`dashboard.state.follow`)."""

import pandas as pd
import streamlit as st

from bioseq import plots
from bioseq.app import cards, downloads, glossary, predictions, uploads
from bioseq.errors import BioseqError
from bioseq.task import task_of
from dashboard import loaders, state, widgets
from dashboard.parts import guards, scan_panel, variants_panel


def _evaluation(ev, labels, task) -> None:
    m = ev.metrics
    cols = st.columns(6)
    for col, (k, label) in zip(cols, (("accuracy", ev.accuracy_name), ("balanced_accuracy", "balanced accuracy"),
                                      ("mcc", "MCC"), ("f1", "F1 (macro)"), ("sov", "SOV"))):
        col.metric(label, f"{m[k]:.3f}", help=glossary.explain(label))
    worst = task.worst(ev.confusion, labels)  # a rare label can score badly behind the means
    if worst:
        cols[5].metric(f"F1 of {worst[0]} (worst label)", f"{worst[1]:.3f}",
                       help="the lowest F1 of any label over positions: a rare label can be missed while the means "
                       "above look good")
    st.caption(f"{m['n']:,} labelled sequences, {m['positions']:,} scored positions (unscored ones count nowhere). "
               f"{ev.accuracy_name}: the share of positions labelled right; SOV: segment overlap (SOV'99).")
    left, right = st.columns(2)
    with left:
        widgets.chart(plots.label_metrics(ev.per_label), "predict_label_metrics", "per_label_metrics")
    with right:
        widgets.chart(plots.confusion_matrix(ev.confusion, labels, title="Confusion matrix (positions)"),
                      "predict_confusion", "confusion")
    widgets.table(pd.DataFrame(ev.per_label), "predict_per_label", "per_label", hide_index=True)


def labeller_page(path: str, bundle) -> None:
    """A labeller's page: tracks per record, per-position evaluation, CSV and three-line FASTA downloads."""
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
        return
    pairs, label_pairs, mask_pairs = widgets.uploaded(files), widgets.uploaded(labels_fasta), widgets.uploaded(mask)
    key = (path, widgets.digest(pairs + label_pairs + mask_pairs))
    slot = st.empty()
    if st.session_state.get("predict_key") != key:
        found = guards.with_progress(slot, "Labelling the sequences…", "Labelled {done:,} of {total:,} sequences",
                                     lambda progress: predictions.predict_uploads(
                                         bundle, pairs, label_pairs, mask_pairs, progress=progress))
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
                       on_click="ignore", icon=":material/download:", help="per record: its header, its sequence "
                       "and the predicted label of each letter")
    st.caption("**Download predictions (CSV)**: every position of every record. **Download table**, under the "
               "records: one row per record (its scores and label shares).")
    if found.evaluation is not None:
        st.subheader("Evaluation on the true labels")
        _evaluation(found.evaluation, bundle.classes, task_of(bundle))
    else:
        st.info("No evaluation: the files carry no labels per position (upload a three-line FASTA, or a label "
                "FASTA).", icon=":material/info:")

    wrong = found.evaluation is not None and st.checkbox(
        "Only wrong", key="predict_filter_wrong", help="only the records with a scored position labelled wrong")
    shown = found.wrong_records() if wrong else found.per_record
    if st.session_state.get("predict_filters") != (key, wrong):  # a row number of another table means nothing here
        st.session_state.pop("predict_results_table", None)
        st.session_state["predict_filters"] = (key, wrong)
    st.subheader(f"Records ({len(shown):,} of {len(found.records):,})" if wrong else
                 f"Records ({len(found.records):,})")
    st.caption("Click a column to sort; click a row to see that record's tracks.")
    event = widgets.table(shown, "predict_results", "records", on_select="rerun",
                          selection_mode="single-row", hide_index=True, column_config={"index": None},
                          download_help="one row per record shown: its length, scored positions, accuracy, the label "
                          "predicted most, predicted segments and the share of each label")
    rows = [r for r in (event.selection.rows if event else []) if r < len(shown)]
    selected = int(shown.index[rows[0]]) if rows else st.session_state.get("predict_selected") or 0
    st.session_state["predict_selected"] = selected
    record = found.records[selected]
    st.subheader(f"Tracks of {record.id}")
    window = st.slider("Positions shown", 1, len(record.seq), state.follow(  # a window on this record
        "predict_window", (key, selected), (1, min(len(record.seq), widgets.WINDOW))),
        key="predict_window") if len(record.seq) > 1 else None
    widgets.chart(plots.label_tracks(found.record_tracks(selected), window), "predict_tracks", f"{record.id}_tracks")
    st.caption("The sequence, its true labels (when known), the predicted labels and the probability of each "
               "label along it.")


def _evaluation_tab(path: str, pairs, labels, two_class: bool, threshold: float) -> None:
    try:
        ev = loaders.evaluation(path, pairs, labels)
    except BioseqError as e:
        st.info(f"No evaluation: {widgets.words(e.dashboard())}", icon=":material/info:")
        return
    m = ev.metrics if not two_class else {**ev.metrics, **ev.at(threshold)}
    cols = st.columns(5)
    for col, (k, label) in zip(cols, (("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"),
                                      ("auroc", "AUROC"), ("mcc", "MCC"), ("f1", "F1"))):
        col.metric(label, f"{m[k]:.3f}", help=glossary.explain(label))
    st.caption(f"{ev.metrics['n']:,} labelled sequences" + (f"; at threshold {threshold:.2f}: precision "
               f"{m['precision']:.3f}, recall {m['recall']:.3f}" if two_class else "") + ".")
    for note in ev.notes:
        st.warning(note, icon=":material/warning:")
    left, right = st.columns(2)
    with left:
        widgets.chart(plots.confusion_matrix(m.get("confusion", ev.confusion), ev.classes,
                                             title="Confusion matrix"), "predict_confusion", "confusion")
        widgets.chart(plots.roc_curve(ev.roc()), "predict_roc", "roc_curve")
    with right:
        if two_class:
            widgets.chart(plots.threshold_effect(ev.thresholds(), threshold), "predict_threshold_chart",
                          "threshold")
        widgets.chart(plots.pr_curve(ev.precision_recall()), "predict_pr", "precision_recall")


def _predictions_tab(path: str, bundle, records, frame, threshold: float) -> None:
    c1, c2, c3, c4 = st.columns(4)
    chosen = c1.multiselect("Predicted class", bundle.classes, key="predict_filter_class", placeholder="all classes",
                            default=state.follow("predict_filter_class", path, []))
    min_p = c2.slider("Minimum probability", 0.0, 1.0, 0.0, 0.05, key="predict_filter_p")
    text = c3.text_input("Id contains", key="predict_filter_id")
    unusual = c4.checkbox("Only unlike the training data", key="predict_filter_unusual",
                          help=glossary.explain("unlike the training data"))
    wrong = "true" in frame and c4.checkbox("Only wrong", key="predict_filter_wrong",
                                            help="only the records whose prediction is not their true label")
    shown = predictions.filter_predictions(frame, chosen, min_p, text, unusual, wrong)
    st.subheader(f"Predictions ({len(shown):,} of {len(frame):,})" if len(shown) != len(frame)
                 else f"Predictions ({len(frame):,})")
    filters = (tuple(chosen), min_p, text, unusual, wrong, threshold)
    if st.session_state.get("predict_filters") != filters:  # a row number of another table means nothing here
        st.session_state.pop("predict_results_table", None)
        st.session_state["predict_filters"] = filters
    event = widgets.table(shown, "predict_results", "predictions_filtered", on_select="rerun",
                          selection_mode="single-row", hide_index=True,
                          download_help="only the rows shown here, after the filters above")
    selected = predictions.follow_selection(shown, event.selection.rows if event else [],
                                            st.session_state.get("predict_selected"))
    st.session_state["predict_selected"] = selected
    if selected is None:
        st.caption("Click a row to see which letters drove its prediction.")
        return
    record = records[selected]
    st.subheader(f"Saliency of {record.id}")
    try:
        sal = loaders.explain("saliency", path, [record])
    except BioseqError as e:
        widgets.error(e)
        return
    widgets.chart(plots.saliency_logo(sal, title=f"{record.id}: gradient × input for '{sal['target'].iloc[0]}'"),
                  "predict_saliency", f"{record.id}_saliency")


ALL_ROWS = ("every record uploaded, one row each: id, prediction, the probability of each class, length, "
            "unlike_training, file, the true label when the files carry one, and the decision threshold used "
            "(two classes)")


def classifier_page(path: str, bundle) -> None:
    """A classifier's page: the predictions of uploaded files, their evaluation, a row's saliency."""
    files = st.file_uploader("Sequence files to classify (FASTA, plain or .gz)", accept_multiple_files=True,
                             key="predict_files")
    with st.expander("True labels in a separate file (optional)", icon=":material/label:"):
        labels = st.file_uploader("Labels file (id,label), if the headers carry no labels",
                                  type=["csv", "tsv", "txt"], key="predict_labels")
    if not files:
        st.info("Upload one or more FASTA files. Labelled files (`label=` in the headers, or one file per class) "
                "are also evaluated.", icon=":material/info:")
        return
    pairs = widgets.uploaded(files)
    try:
        records = loaders.upload_records(pairs)
    except BioseqError as e:
        widgets.error(e)
        return

    key = (path, widgets.digest(pairs))
    slot = st.empty()  # always there, so the elements below keep their places (and the tabs their choice) on reruns
    if st.session_state.get("predict_key") != key:
        frame = guards.with_progress(slot, f"Predicting {len(records):,} sequences…",
                                     "Predicted {done:,} of {total:,} sequences",
                                     lambda progress: predictions.predict_frame(bundle, records, progress=progress))
        st.session_state.update(predict_key=key, predict_frame=frame, predict_selected=None)
    frame = st.session_state["predict_frame"]
    label_file = widgets.uploaded(labels)[0] if labels else None
    try:  # a labelled upload: each record's true label beside its prediction
        frame = predictions.with_truth(bundle, frame, records, label_file)
    except BioseqError:
        pass  # the evaluation tab says what is wrong with the labels

    banner = predictions.unlike_training(frame)
    if banner:
        slot.warning(banner + " See the `unlike_training` column.", icon=":material/warning:")

    two_class = len(bundle.classes) == 2
    threshold = 0.5
    if two_class:
        threshold = st.slider(f"Decision threshold: call **{bundle.classes[1]}** when p({bundle.classes[1]}) is at "
                              "least", 0.0, 1.0, state.follow("predict_threshold", path, 0.5), 0.01,
                              key="predict_threshold", help=glossary.explain("decision threshold"))
        frame = predictions.apply_threshold(frame, bundle.classes, threshold)

    st.download_button("Download predictions (CSV)", downloads.table_csv(frame), file_name="predictions.csv",
                       mime="text/csv", key="predict_download", type="primary", on_click="ignore",
                       icon=":material/download:", help=ALL_ROWS)
    st.caption(f"**Download predictions**: {ALL_ROWS}. **Download table**, under the table on the Predictions tab: "
               "only the rows its filters show.")
    widgets.chart(plots.prediction_summary(frame, bundle.classes), "predict_summary", "prediction_summary")

    evaluate_tab, table_tab = st.tabs(["Evaluation on labelled files", "Predictions"])
    with evaluate_tab:
        _evaluation_tab(path, pairs, label_file, two_class, threshold)
    with table_tab:
        _predictions_tab(path, bundle, records, frame, threshold)


origin = st.radio("Model from", ["registry", "upload"], key="predict_model_from", horizontal=True,
                  format_func={"registry": "the workspace", "upload": "a model file"}.get)
if origin == "registry":
    path = widgets.model_choice("predict_model")
    if path is None:
        st.info("No saved models yet: train one on the Train page, with `bioseq train ... --name NAME`, or "
                "upload a model file.", icon=":material/info:")
        st.stop()
else:
    up = st.file_uploader("bioseq model file (.safetensors); it is validated, never unpickled",
                          type=["safetensors"], key="predict_model_file")
    if up is None:
        st.info("Upload a model file to use it.", icon=":material/info:")
        st.stop()
    try:
        path = str(uploads.save_model_upload(up.getvalue(), up.name))
    except BioseqError as e:
        widgets.error(e)
        st.stop()
bundle = widgets.bundle_or_stop(path)
if task_of(bundle).per_position:  # one label per position: the classifier's sections do not apply
    labeller_page(path, bundle)
else:
    st.caption(f"**{bundle.name}**: {bundle.alphabet.name.upper()} model; classes {', '.join(bundle.classes)}.")
    classifier_page(path, bundle)
    scan_panel.show(bundle)  # below the main results: the page's own uploader comes first
variants_panel.show(bundle)  # any task: its scores come from the model's Task
