"""Data: choose labelled sequences (bundled example or uploads) and see what they contain."""

import streamlit as st

import ui
from bioseq import plots
from bioseq.app import uploads
from bioseq.data import examples
from bioseq.data.source import LABEL_MODES
from bioseq.errors import BioseqError

example_tab, upload_tab = st.tabs(["Bundled example", "Upload files"])
with example_tab:
    key = st.selectbox("Example", [e.key for e in examples.EXAMPLES], key="data_example",
                       format_func=lambda k: examples.example(k).title)
    st.caption(examples.example(key).description)
    if st.button("Use this example", key="data_use_example", type="primary"):
        ui.set_source(examples.example(key).source())
with upload_tab:
    st.session_state.setdefault("data_label_mode", "header")
    label_mode = st.radio("Labels from", list(LABEL_MODES), key="data_label_mode", horizontal=True,
                          format_func=lambda m: {"header": "FASTA headers", "table": "a CSV file",
                                                 "files": "one file per class"}[m])
    st.caption(f"Labels come from {LABEL_MODES[label_mode]}.")
    files = st.file_uploader("Sequence files (FASTA, plain or .gz; FASTQ and GenBank by extension)",
                             accept_multiple_files=True, key="data_files")
    labels = st.file_uploader("Labels file (id,label)", type=["csv", "tsv", "txt"], key="data_labels") \
        if label_mode == "table" else None
    alphabet = st.selectbox("Alphabet", ["detect", "dna", "rna", "protein"], key="data_alphabet",
                            help="detect: nucleotide when 95% of the letters are ACGTUN, else protein")
    if st.button("Use these files", key="data_use_files", type="primary", disabled=not files):
        try:
            ui.set_source(uploads.upload_source(ui.uploaded(files), label_mode,
                                                ui.uploaded(labels)[0] if labels else None,
                                                None if alphabet == "detect" else alphabet))
        except BioseqError as e:
            ui.error(e)

source = ui.current_source()
if source is None:
    st.info("No dataset yet: pick a bundled example or upload FASTA files above.", icon=":material/info:")
    st.stop()

st.header(f"Dataset: {source.name}")
if source.description:
    st.caption(source.description)
try:
    rep = ui.data_report(source)
except BioseqError as e:
    ui.error(e)
    st.caption("Fix the file (the message names it and the record) or choose other data; nothing was kept.")
    ui.set_source(None)
    st.stop()

s = rep.summary
cols = st.columns(6)
cols[0].metric("Records", f"{s['records']:,}")
cols[1].metric("Classes", len(rep.classes))
cols[2].metric("Alphabet", s["alphabet"].upper())
cols[3].metric("Length", f"{s['length_min']}–{s['length_max']}", help=f"median {s['length_median']:g}")
cols[4].metric("Ambiguous letters", f"{s['ambiguous_fraction']:.2%}")
cols[5].metric("Duplicates", s["duplicate_records"], help=f"{s['conflicting_duplicates']} with conflicting labels")
for note in rep.notes:
    st.warning(note, icon=":material/warning:")

left, right = st.columns(2)
with left:
    ui.chart(plots.class_counts(s["per_class"]), "data_counts", "records_per_class")
    ui.chart(plots.composition(rep.composition), "data_composition", "composition")
with right:
    ui.chart(plots.length_histogram(rep.records), "data_lengths", "length_histogram")
    ui.chart(plots.ambiguous_histogram(rep.records), "data_ambiguous", "ambiguous_letters")

if len(rep.duplicates):
    st.subheader("Duplicate sequences")
    ui.table(rep.duplicates, "data_duplicates", "duplicates", hide_index=True)
if st.toggle("Show every record", key="data_show_records"):
    ui.table(rep.records, "data_records", "records", hide_index=True)
st.page_link("pages/train.py", label="Train a model on this dataset", icon=":material/model_training:")
