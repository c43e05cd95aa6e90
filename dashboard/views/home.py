"""Home: what bioseq does, a one-click example, and the workspace status."""

import streamlit as st

from bioseq.data import examples
from bioseq.task import task_of
from dashboard import loaders, state, widgets

st.markdown(
    "**bioseq trains recurrent classifiers (RNN, LSTM, GRU) on labelled DNA, RNA or protein sequences**, and "
    "labellers that give every position its own label. "
    "It shows how training went — loss, accuracy and the gradient flowing through every layer and "
    "position — and diagnoses vanishing or exploding gradients in plain words. "
    "It then opens the trained model up: gate activations, saliency, mutagenesis and motifs, and "
    "predictions for new FASTA files.")

st.info("**Your own data:** on **Data**, upload FASTA files with `label=VALUE` in each header, one file per "
        "class, or a CSV of `id,label`; for a label per position (sequence labelling), a three-line FASTA (header, "
        "sequence, label string) or a label FASTA beside the sequences; then start a run on **Train**.",
        icon=":material/upload_file:")

st.subheader("Quick start")
source = state.current_source()
cols = st.columns(len(examples.EXAMPLES))
for col, ex in zip(cols, examples.EXAMPLES):
    with col:
        what = "per-position" if task_of(ex.task).per_position else ex.alphabet.upper()
        if st.button(f"Load the {what} example", key=f"home_load_{ex.key}", type="primary",
                     icon=":material/play_arrow:"):
            source = ex.source()
            state.set_source(source)
        st.markdown(f"**{ex.title}** — {ex.description}")
if source is not None:
    st.success(f"Dataset: **{source.name}**. Next: look at it on **Data**, or train a model on **Train**.",
               icon=":material/check_circle:")
    c1, c2 = st.columns(2)
    c1.page_link("dashboard/views/data.py", label="Data", icon=":material/dataset:")
    c2.page_link("dashboard/views/train.py", label="Train", icon=":material/model_training:")

st.subheader("Workspace")
with st.spinner("Reading the workspace…"):
    from bioseq.model import store  # PyTorch loads here, after the page above is on screen
    from bioseq.training import runs
    from bioseq.workspace import workspace

    models = store.list_models()
    run_table = runs.list_runs()
st.caption(f"`{workspace()}` (set `BIOSEQ_HOME` to use another folder)")
m1, m2, m3 = st.columns(3)
m1.metric("Saved models", len(models))
m2.metric("Runs", len(run_table))
m3.metric("Training now", len(loaders.job_registry().active()))
if len(run_table):
    widgets.table(run_table[["name", "status", "architecture", "alphabet", "epoch", "epochs", "val_accuracy",
                             "started"]], "home_runs", "runs", hide_index=True)
else:
    st.info("No runs yet: load an example above, then start one on the Train page.")
