"""Predict: classify uploaded FASTA files with a saved or uploaded model; filter, download, explain a row."""

import streamlit as st

import ui
from bioseq import plots
from bioseq.app import downloads, predictions, uploads
from bioseq.errors import BioseqError
from bioseq.interpret import attribution

origin = st.radio("Model from", ["registry", "upload"], key="predict_model_from", horizontal=True,
                  format_func={"registry": "the workspace", "upload": "a model file"}.get)
if origin == "registry":
    path = ui.model_choice("predict_model")
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
        ui.error(e)
        st.stop()
bundle = ui.bundle_or_stop(path)
st.caption(f"**{bundle.name}**: {bundle.alphabet.name.upper()} model; classes {', '.join(bundle.classes)}.")

files = st.file_uploader("Sequence files to classify (FASTA, plain or .gz)", accept_multiple_files=True,
                         key="predict_files")
if not files:
    st.info("Upload one or more FASTA files.", icon=":material/info:")
    st.stop()
pairs = ui.uploaded(files)
try:
    records = ui.upload_records(pairs)
except BioseqError as e:
    ui.error(e)
    st.stop()

key = (path, ui.digest(pairs))
if st.session_state.get("predict_key") != key:
    bar = st.progress(0.0, text=f"Predicting {len(records):,} sequences…")
    try:
        frame = predictions.predict_frame(bundle, records, progress=lambda done, total: bar.progress(
            done / total, text=f"Predicted {done:,} of {total:,} sequences"))
    except BioseqError as e:
        bar.empty()
        ui.error(e)
        st.stop()
    bar.empty()
    st.session_state.update(predict_key=key, predict_frame=frame)
frame = st.session_state["predict_frame"]

st.download_button("Download predictions (CSV)", downloads.table_csv(frame), file_name="predictions.csv",
                   mime="text/csv", key="predict_download", type="primary", on_click="ignore",
                   icon=":material/download:")
ui.chart(plots.prediction_summary(frame, bundle.classes), "predict_summary", "prediction_summary")

st.subheader(f"Predictions ({len(frame):,})")
c1, c2, c3 = st.columns(3)
chosen = c1.multiselect("Predicted class", bundle.classes, key="predict_filter_class",
                        placeholder="all classes")
min_p = c2.slider("Minimum probability", 0.0, 1.0, 0.0, 0.05, key="predict_filter_p")
text = c3.text_input("Id contains", key="predict_filter_id")
shown = predictions.filter_predictions(frame, chosen, min_p, text)
event = ui.table(shown, "predict_results", "predictions_filtered", on_select="rerun", selection_mode="single-row",
                 hide_index=True)
rows = event.selection.rows if event else []
if not rows:
    st.caption("Click a row to see which letters drove its prediction.")
    st.stop()

record = records[int(shown.index[rows[0]])]
st.subheader(f"Saliency of {record.id}")
try:
    sal = ui.explain("saliency", path, [record])
except BioseqError as e:
    ui.error(e)
    st.stop()
label = attribution.METHODS["saliency"].label
ui.chart(plots.saliency_logo(sal, title=f"{record.id}: {label} for '{sal['target'].iloc[0]}'"),
         "predict_saliency", f"{record.id}_saliency")
