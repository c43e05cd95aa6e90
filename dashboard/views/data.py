"""Data: choose labelled sequences (bundled example or uploads) and see what they contain."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from bioseq import plots
from bioseq.app import uploads
from bioseq.data import examples
from bioseq.data.dataset import format_class_map, parse_class_map
from bioseq.data.source import LABEL_MODES
from bioseq.errors import BioseqError
from bioseq.task import task_of
from dashboard import loaders, state, widgets
from dashboard.parts import manage


def _deleted(key: str) -> None:
    """After an upload is deleted: the dataset is gone if it was the current one; the list starts again."""
    current = state.current_source()
    if current is not None and current.key == key:
        state.set_source(None)
    st.session_state.update(data_recent=0)


def _renamed(key: str, new: str) -> None:
    """After an upload is renamed: the current dataset takes the new name if it is that upload."""
    current = state.current_source()
    if current is not None and current.key == key:
        state.set_source(replace(current, name=new))


recent = uploads.recent_sources()
example_tab, upload_tab, regions_tab, recent_tab = st.tabs(["Bundled example", "Upload files", "Genome regions",
                                                            f"Recent uploads ({len(recent)})"])
with example_tab:
    loaded = state.current_source()
    loaded_key = loaded.key if loaded is not None else None
    shown = loaded_key.removeprefix("example:") if loaded_key and loaded_key.startswith("example:") else None
    # the box shows the example loaded now (none for other data); a choice not yet used stays until data change
    state.follow("data_example", loaded_key, shown)
    st.session_state.setdefault("data_example", shown)
    key = st.selectbox("Example", [e.key for e in examples.EXAMPLES], index=None, key="data_example",
                       placeholder="none loaded: pick one",
                       format_func=lambda k: examples.example(k).title + (" (loaded)" if k == shown else ""))
    st.caption(examples.example(key).description if key else
               "No example is loaded" + (f": the dataset is {loaded.name}." if loaded is not None else "."))
    if st.button("Use this example", key="data_use_example", type="primary", disabled=key is None):
        state.set_source(examples.example(key).source())
        st.rerun()  # the box above names the example loaded
with upload_tab:
    st.session_state.setdefault("data_label_mode", "header")
    label_mode = st.radio("Labels from", [m for m in LABEL_MODES if m != "regions"], key="data_label_mode",
                          horizontal=True,
                          format_func=lambda m: {"header": "FASTA headers", "table": "a CSV file",
                                                 "files": "one file per class", "positions": "a label per position"}[m])
    st.caption(f"Labels come from {LABEL_MODES[label_mode]}.")
    files = st.file_uploader("Sequence files (FASTA, plain or .gz; FASTQ and GenBank by extension)",
                             accept_multiple_files=True, key=f"data_files_{label_mode}")  # a new mode starts empty
    labels = st.file_uploader("Labels file (id,label)", type=["csv", "tsv", "txt"], key="data_labels") \
        if label_mode == "table" else None
    position_files = {}
    if label_mode == "positions":
        st.caption("Upload three-line FASTA files above, or plain sequence FASTA files plus their label FASTA here.")
        p1, p2, p3 = st.columns([2, 2, 1])
        position_files = {
            "labels_fasta": widgets.uploaded(p1.file_uploader("Label FASTA (optional: the label string of each record, "
                                                              "matched by id)", accept_multiple_files=True,
                                                              key="data_labels_fasta")),
            "mask": widgets.uploaded(p2.file_uploader("Mask FASTA (optional: 0/1 per position, 1 = scored)",
                                                      accept_multiple_files=True, key="data_mask")),
            "ignore_label": p3.text_input("Unscored label", key="data_ignore_label", max_chars=1,
                                          help="a label character that is never scored, e.g. -") or None}
    alphabet = st.selectbox("Alphabet", ["detect", "dna", "rna", "protein"], key="data_alphabet",
                            help="detect: nucleotide when 95% of the letters are ACGTUN, else protein")
    if st.button("Use these files", key="data_use_files", type="primary", disabled=not files):
        try:
            state.set_source(uploads.upload_source(widgets.uploaded(files), label_mode,
                                                   widgets.uploaded(labels)[0] if labels else None,
                                                   None if alphabet == "detect" else alphabet, **position_files,
                                                   check=loaders.data_report))
        except BioseqError as e:  # nothing of the failed upload is kept; the dataset loaded before stays
            widgets.error(e)
            st.caption("Fix the file (the message names it and the record) or choose other data; nothing was kept.")
        else:
            st.rerun()  # the example box above says none is loaded

with regions_tab:
    st.caption("Regions of a genome (ChIP-seq or ATAC peaks, enhancers, ...) as BED files: one class per file (named "
               "up to its first dot), or a label column; with one class, negatives are drawn. The genome is read by "
               "random access (plain or bgzipped FASTA), never whole.")
    beds = st.file_uploader("BED files (plain or .gz)", accept_multiple_files=True, key="data_region_beds")
    label_beds = st.file_uploader("Per-position labels (optional): BED files of features, to train a labeller",
                                  accept_multiple_files=True, key="data_region_labels",
                                  help="each letter of a region's window is labelled 1 where a feature of these "
                                  "files covers it, else 0 (--regions-labels); no negatives are drawn")
    g1, g2 = st.columns(2)
    genome_path = g1.text_input("Genome FASTA: a path on this machine", key="data_region_genome_path",
                                placeholder="/data/hg38.fa.gz")
    genome_file = g2.file_uploader("… or upload a small genome", key="data_region_genome_file")
    r1, r2, r3, r4 = st.columns(4)
    region_opts = {
        "width": r1.number_input("Width (0 = as given)", 0, 100_000, 0, 10, key="data_region_width") or None,
        "flank": r2.number_input("Flank each side", 0, 100_000, 0, 10, key="data_region_flank") or None,
        "bed_label_column": r3.number_input("Label column (0 = one class per file)", 0, 100, 0,
                                            key="data_region_label_column") or None,
        "background": None if label_beds else r4.selectbox("Negatives (one class)", ["shuffled", "flanks"],
                                                           key="data_region_background"),
        "val_chroms": g1.text_input("Validation chromosomes", key="data_region_val_chroms", placeholder="chr8"),
        "test_chroms": g2.text_input("Test chromosomes (never trained on)", key="data_region_test_chroms",
                                     placeholder="chr9")}
    if st.button("Use these regions", key="data_use_regions", type="primary", disabled=not beds):
        genome = widgets.uploaded(genome_file)[0] if genome_file else genome_path
        try:
            state.set_source(uploads.region_source(widgets.uploaded(beds), genome, region_opts,
                                                   check=loaders.data_report, label_beds=widgets.uploaded(label_beds)))
        except BioseqError as e:
            widgets.error(e)
            st.caption("Fix the file (the message names it, the line and the region); nothing was kept.")
        else:
            st.rerun()

with recent_tab:
    if recent:
        pick = st.selectbox("Dataset", range(len(recent)), key="data_recent",
                            format_func=lambda i: f"{recent[i].name} ({recent[i].label_mode} labels)")
        st.caption("Uploads are kept in the workspace; use one again without uploading it.")
        if st.button("Use this dataset", key="data_use_recent", type="primary"):
            state.set_source(recent[pick])
            st.rerun()
        manage.message("data_recent")
        chosen = recent[pick].key
        with st.expander("Rename or delete this upload", icon=":material/edit:"):
            manage.controls("upload", recent[pick].name, "data_recent",
                            rename=lambda old, new: uploads.rename_upload(chosen, new),
                            delete=lambda name: uploads.delete_upload(chosen),
                            renamed=lambda new: _renamed(chosen, new), deleted=lambda: _deleted(chosen))
    else:
        st.info("No uploads yet: the files you upload are kept and listed here.", icon=":material/info:")

source = state.current_source()
if source is None:
    st.info("No dataset yet: pick a bundled example or upload FASTA files above.", icon=":material/info:")
    st.stop()

st.header(f"Dataset: {source.name}")
if source.description:
    st.caption(source.description)
try:
    rep = loaders.data_report(source)
except BioseqError as e:
    widgets.error(e)
    st.caption("Fix the file (the message names it and the record) or choose other data; nothing was kept.")
    state.set_source(None)
    st.stop()


def classes_section() -> None:
    """A classifier's data: its classes to rename, merge or drop; overlap with held-out files; duplicates."""
    s = rep.summary
    st.subheader("Classes", help="Rename a class, give two classes the same name to merge them, or untick Keep to drop "
                 "a class and its records. The change applies to training and evaluation; the files are not touched.")
    current = parse_class_map(source.class_map)
    editor = pd.DataFrame({"class": list(rep.labelled), "records": list(rep.labelled.values()),
                           "train as": [current.get(c, c) or c for c in rep.labelled],
                           "keep": [current.get(c, c) != "" for c in rep.labelled]})
    edited = st.data_editor(editor, key="data_classes", hide_index=True, disabled=["class", "records"],
                            column_config={"train as": st.column_config.TextColumn(required=True)})
    wanted = format_class_map({c: (n.strip() if keep else "") for c, n, keep
                               in zip(edited["class"], edited["train as"], edited["keep"])})
    if wanted != source.class_map and st.button("Apply to the classes", key="data_apply_classes", type="primary"):
        state.set_source(replace(source, class_map=wanted))
        st.rerun()
    st.caption("Trained as: " + ", ".join(f"**{c}** ({n:,})" for c, n in s["per_class"].items()))

    if source.test or source.val:
        st.subheader("Overlap with the held-out files", help="A test sequence nearly identical to a training one "
                     "measures memory, not generalisation. The check aligns every test sequence against the training "
                     "ones with MMseqs2 (or CD-HIT).")
        c1, c2 = st.columns([3, 1])
        identity = c1.slider("Identity", 0.3, 1.0, 0.9 if rep.summary["alphabet"] != "protein" else 0.4, 0.05,
                             key="data_overlap_identity")
        if c2.button("Check overlap", key="data_overlap", icon=":material/compare_arrows:"):
            try:
                found = loaders.overlap(source, identity)
            except BioseqError as e:
                widgets.error(e)
            else:
                (st.warning if found.count else st.success)(widgets.words(found.text()),
                                                            icon=":material/compare_arrows:")
                if found.count:
                    widgets.table(found.table, "data_overlap_table", "overlap", hide_index=True)

    if len(rep.duplicates):
        st.subheader("Duplicate sequences")
        widgets.table(rep.duplicates, "data_duplicates", "duplicates", hide_index=True)


task = task_of(rep.task)  # the data's task: one label per sequence, or per position
s = rep.summary
cols = st.columns(6)
cols[0].metric("Records", f"{s['records']:,}")
cols[1].metric(task.words.capitalize(), len(rep.classes), help=f"one label per position: {', '.join(rep.classes)}"
               if task.per_position else None)
cols[2].metric("Alphabet", s["alphabet"].upper())
span = f"{s['length_min']}" if s["length_min"] == s["length_max"] else f"{s['length_min']}–{s['length_max']}"
cols[3].metric("Length", span, help=f"median {s['length_median']:g}")
if task.per_position:
    cols[4].metric("Positions", f"{s['positions']:,}")
    cols[5].metric("Not scored", f"{s['masked'] / max(s['positions'], 1):.1%}",
                   help="positions left out of the loss and the metrics (a 0 in the mask, or the unscored label)")
    st.caption("Per-position labels: each letter has its own label"
               + (f"; label **{s['ignore_label']}** is never scored" if s.get("ignore_label") else "")
               + (f"; mask {', '.join(widgets.words(m) for m in source.mask)}" if source.mask else "")
               + ". A model trained on it labels every position.")
else:
    cols[4].metric("Ambiguous letters", f"{s['ambiguous_fraction']:.2%}")
    cols[5].metric("Duplicates", s["duplicate_records"], help=f"{s['conflicting_duplicates']} with conflicting labels")
for note in rep.notes:
    st.warning(note, icon=":material/warning:")

left, right = st.columns(2)
if task.per_position:
    with left:
        widgets.chart(plots.label_composition(s["per_class"], s["masked"]), "data_label_counts", "positions_per_label")
        widgets.chart(plots.composition(rep.composition, legend="position label"), "data_composition", "composition")
    with right:
        widgets.chart(plots.segment_lengths(rep.segments), "data_segments", "segment_lengths")
        widgets.chart(plots.length_histogram(rep.records), "data_lengths", "length_histogram")
    st.caption("Positions per label: " + ", ".join(f"**{c}** ({n:,})" for c, n in s["per_class"].items()))
else:
    with left:
        widgets.chart(plots.class_counts(s["per_class"]), "data_counts", "records_per_class")
        widgets.chart(plots.composition(rep.composition), "data_composition", "composition")
    with right:
        widgets.chart(plots.length_histogram(rep.records), "data_lengths", "length_histogram")
        widgets.chart(plots.ambiguous_histogram(rep.records), "data_ambiguous", "ambiguous_letters")
    classes_section()

if st.toggle("Show every record", key="data_show_records"):
    widgets.table(rep.records, "data_records", "records", hide_index=True)
st.page_link("dashboard/views/train.py", icon=":material/model_training:",
             label=f"Train a {'labeller' if task.per_position else 'model'} on this dataset")
