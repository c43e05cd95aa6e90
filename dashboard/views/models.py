"""Models: the workspace registry, each model's card and curves; download, upload and delete."""

import pandas as pd
import streamlit as st

from bioseq import plots
from bioseq.app import cards, uploads
from bioseq.errors import BioseqError
from bioseq.model import store
from dashboard import state, widgets

with st.expander("Upload a model file", icon=":material/upload:"):
    up = st.file_uploader("bioseq model file (.safetensors)", type=["safetensors"], key="models_upload")
    if st.button("Add to the registry", key="models_add", disabled=up is None):
        try:
            path = uploads.save_model_upload(up.getvalue(), up.name, register=True)
            st.success(f"Added **{path.stem}** to the registry.", icon=":material/check_circle:")
            st.session_state[state.MODEL_KEY] = path.stem
        except BioseqError as e:
            widgets.error(e)

if st.session_state.get("models_message"):
    st.info(st.session_state.pop("models_message"), icon=":material/info:")
models = store.list_models()
for bad in (m for m in models if "error" in m):
    st.warning(f"Damaged model file: {bad['error']}", icon=":material/warning:")
models = [m for m in models if "error" not in m]
if not models:
    st.info("No models yet: train one on the Train page, run `bioseq train ... --name NAME`, or upload a file.",
            icon=":material/info:")
    st.stop()

registry = pd.DataFrame(models).assign(classes=lambda d: d["classes"].map(", ".join))
if "task" not in registry:
    registry["task"] = "classify"
widgets.table(registry[["name", "task", "architecture", "alphabet", "classes", "val_accuracy", "val_auroc", "val_mcc",
                        "created"]], "models_registry", "models", hide_index=True,
              column_config={"task": st.column_config.TextColumn("task", help="classify: one label per sequence; "
                                                                  "label: one label per position"),
                             "classes": st.column_config.TextColumn("classes / labels")})

names = [m["name"] for m in models]
current = st.session_state.get(state.MODEL_KEY)
name = st.selectbox("Model", names, index=names.index(current) if current in names else 0, key="models_pick")
st.session_state[state.MODEL_KEY] = name
path = next(m["path"] for m in models if m["name"] == name)
try:
    meta = store.read_meta(path)
except BioseqError as e:
    widgets.error(e)
    st.stop()

card_col, chart_col = st.columns([2, 3])
with card_col:
    st.subheader("Model card")
    widgets.table(cards.model_card(meta), "models_card", f"{name}_card", hide_index=True)
    for note in cards.notes(meta):
        st.warning(note, icon=":material/warning:")
with chart_col:
    st.subheader("Training curves")
    for i, panel in enumerate(plots.training_panels(cards.history(meta))):
        widgets.chart(panel, f"models_curves_{i}", f"{name}_curves_{i + 1}")
    matrix = cards.confusion(meta)
    if matrix:
        widgets.chart(plots.confusion_matrix(matrix, meta["classes"]), "models_confusion", f"{name}_confusion")

st.subheader("Actions")


def _delete(name: str) -> None:
    try:
        store.delete_model(name)
    except BioseqError as e:
        st.session_state["models_message"] = str(e)
        return
    for key in (state.MODEL_KEY, "models_pick"):
        st.session_state.pop(key, None)
    st.session_state.update(models_confirm=False, models_message=f"Deleted {name}.")


c1, c2 = st.columns(2)
with c1:
    with open(path, "rb") as fh:
        st.download_button("Download the model file", fh.read(), file_name=f"{name}{store.SUFFIX}",
                           mime="application/octet-stream", key="models_download", on_click="ignore",
                           icon=":material/download:")
with c2:
    sure = st.checkbox(f"Yes, delete **{name}** for good", key="models_confirm")
    st.button("Delete model", key="models_delete", disabled=not sure, type="primary", icon=":material/delete:",
              on_click=_delete, args=(name,))
