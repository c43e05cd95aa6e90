"""bioseq dashboard, home page: what it does, a one-click example, and the workspace status.

Run: ``streamlit run app.py`` (add ``-- --example dna_motif`` to open on the bundled example).
The other pages live in ``pages/`` (Streamlit's pages folder).
"""

import streamlit as st

import ui
from bioseq import examples

ui.page_header("bioseq", "Recurrent networks for DNA, RNA and protein sequences — offline, on your machine.")
st.markdown(
    "**bioseq trains recurrent classifiers (RNN, LSTM, GRU) on labelled DNA, RNA or protein sequences.** "
    "It shows how training went — loss, accuracy and the gradient flowing through every layer and "
    "position — and diagnoses vanishing or exploding gradients in plain words. "
    "It then opens the trained model up: gate activations, saliency, mutagenesis and motifs, and "
    "predictions for new FASTA files.")

st.subheader("Quick start")
source = ui.current_source()
cols = st.columns(len(examples.EXAMPLES))
for col, ex in zip(cols, examples.EXAMPLES):
    with col:
        if st.button(f"Load the {ex.alphabet.upper()} example", key=f"home_load_{ex.key}", type="primary",
                     icon=":material/play_arrow:"):
            source = ex.source()
            ui.set_source(source)
        st.markdown(f"**{ex.title}** — {ex.description}")
if source is not None:
    st.success(f"Dataset: **{source.name}**. Next: look at it on **Data**, or train a model on **Train**.",
               icon=":material/check_circle:")
    c1, c2 = st.columns(2)
    c1.page_link("pages/1_Data.py", label="Data", icon=":material/dataset:")
    c2.page_link("pages/2_Train.py", label="Train", icon=":material/model_training:")

st.subheader("Workspace")
with st.spinner("Reading the workspace…"):
    from bioseq import runs, store  # PyTorch loads here, after the page above is on screen

    models = store.list_models()
    run_table = runs.list_runs()
st.caption(f"`{store.workspace()}` (set `BIOSEQ_HOME` to use another folder)")
m1, m2, m3 = st.columns(3)
m1.metric("Saved models", len(models))
m2.metric("Runs", len(run_table))
m3.metric("Training now", len(ui.job_registry().active()))
if len(run_table):
    ui.table(run_table[["name", "status", "architecture", "alphabet", "epoch", "epochs", "val_accuracy", "started"]],
             "home_runs", "runs", hide_index=True)
else:
    st.info("No runs yet: load an example above, then start one on the Train page.")
