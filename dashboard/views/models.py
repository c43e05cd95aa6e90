"""Models: the workspace registry, each model's card and curves, links to use it; download, upload (under
another name when its own is taken), rename and delete."""

import pandas as pd
import streamlit as st

from bioseq import plots
from bioseq.app import cards, run_table, train_again, uploads
from bioseq.errors import BioseqError
from bioseq.model import store
from dashboard import state, widgets
from dashboard.parts import manage

with st.expander("Upload a model file", icon=":material/upload:"):
    up = st.file_uploader("bioseq model file (.safetensors)", type=["safetensors"], key="models_upload")
    as_name = st.text_input("Import as", key="models_import_as", placeholder="the name inside the file",
                            help="the model's name in the registry; leave empty to keep the name inside the file")
    if st.button("Add to the registry", key="models_add", disabled=up is None):
        try:
            path = uploads.save_model_upload(up.getvalue(), up.name, register=True, as_name=as_name.strip() or None)
            st.success(f"Added **{path.stem}** to the registry.", icon=":material/check_circle:")
            state.set_model(path.stem)
            st.session_state["models_pick"] = path.stem  # the box below shows the new model
        except BioseqError as e:
            widgets.error(e)

manage.message("models")
models = store.list_models(include_bundled=True)
for bad in (m for m in models if "error" in m):
    st.warning(f"Damaged model file: {bad['error']}", icon=":material/warning:")
models = [m for m in models if "error" not in m]
if not any(not m["bundled"] for m in models):
    st.info("No models yet: train one on the Train page, run `bioseq train ... --name NAME`, or upload a file."
            + (" The bundled models below are ready to use." if models else ""), icon=":material/info:")
if not models:
    st.stop()

registry = pd.DataFrame(models).assign(classes=lambda d: d["classes"].map(", ".join))
if "task" not in registry:
    registry["task"] = "classify"
widgets.table(registry[["name", "task", "architecture", "alphabet", "classes", "val_accuracy", "val_auroc", "val_mcc",
                        "created", "bundled"]], "models_registry", "models", hide_index=True,
              column_config={"task": st.column_config.TextColumn("task", help="classify: one label per sequence; "
                                                                  "label: one label per position"),
                             "classes": st.column_config.TextColumn("classes / labels"),
                             "bundled": st.column_config.CheckboxColumn("bundled", help="ships with bioseq; "
                                                                        "read-only")})

names = [m["name"] for m in models]
current = state.current_model()
name = st.selectbox("Model", names, index=names.index(current) if current in names else 0, key="models_pick")
state.set_model(name)
path = next(m["path"] for m in models if m["name"] == name)
try:
    meta = store.read_meta(path)
except BioseqError as e:
    widgets.error(e)
    st.stop()

card_col, chart_col = st.columns([2, 3])
with card_col:
    st.subheader("Model card")
    size = cards.ensemble_size(meta)
    if size > 1:
        st.info(f"An **ensemble of {size} networks**: its predictions average their probabilities.",
                icon=":material/stacks:")
    widgets.table(cards.model_card(meta), "models_card", f"{name}_card", hide_index=True)
    folds = run_table.cv_table(meta)  # the fold models of a cross-validation: their test figures, mean ± sd
    if folds is not None:
        st.caption("Cross-validation: each fold's test figures (by the model of that fold) and their mean ± sd.")
        widgets.table(folds, "models_cv", f"{name}_cross_validation", hide_index=True)
    for note in cards.notes(meta):
        st.warning(note, icon=":material/warning:")
with chart_col:
    st.subheader("Training curves")
    history = cards.history(meta)
    if size > 1:
        each = "fold" if meta.get("cv") else "member"
        st.caption(f"One colour per {each}." if "run" in history else "Member 1's curves: the file does not record "
                   "the other members' curves.")
    for i, panel in enumerate(plots.training_panels(history)):
        widgets.chart(panel, f"models_curves_{i}", f"{name}_curves_{i + 1}")
    matrix = cards.confusion(meta)
    if matrix:
        widgets.chart(plots.confusion_matrix(matrix, meta["classes"]), "models_confusion", f"{name}_confusion")

st.subheader("Use it")
l1, l2, l3 = st.columns(3)
l1.page_link("dashboard/views/predict.py", label=f"Predict with {name}", icon=":material/batch_prediction:",
             query_params={"model": name})
l2.page_link("dashboard/views/gates_saliency.py", label=f"Gates & saliency of {name}", icon=":material/grid_on:",
             query_params={"model": name})
if l3.button("Train again with these options", key="models_train_again", icon=":material/replay:",
             help="fills in the Train form with this model's options (and its data, when they are still in the "
             "workspace); nothing starts until you press Start training"):
    st.session_state["train_again"] = train_again.from_model(meta)
    st.switch_page("dashboard/views/train.py")

st.subheader("Actions")
with open(path, "rb") as fh:
    st.download_button("Download the model file", fh.read(), file_name=f"{name}{store.SUFFIX}",
                       mime="application/octet-stream", key="models_download", on_click="ignore",
                       icon=":material/download:")


def _forget() -> None:
    st.session_state.pop("models_pick", None)
    state.set_model(None)


def _renamed(new: str) -> None:
    st.session_state["models_pick"] = new
    state.set_model(new)


if next(m["bundled"] for m in models if m["name"] == name):
    st.caption(f"**{name}** ships with bioseq and is read-only: it cannot be renamed or deleted, and no other model "
               "can take its name.")
else:
    manage.controls("model", name, "models", rename=store.rename_model, delete=store.delete_model,
                    renamed=_renamed, deleted=_forget)
