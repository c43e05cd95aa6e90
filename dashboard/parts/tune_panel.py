"""The Train page's Tune panel: search the options with Optuna in the background (:mod:`bioseq.training.tune`);
the trials table, the best value over time, the importances and the chosen options, read from the study."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bioseq import plots
from bioseq.app import readable
from bioseq.data.source import DataSource
from bioseq.errors import BioseqError
from bioseq.options import label_of
from bioseq.training import tune as tuning
from bioseq.training.config import TrainConfig
from dashboard import loaders, state, widgets

BUDGETS = {"1 minute": 60, "3 minutes": 180, "10 minutes": 600, "30 minutes": 1800, "1 hour": 3600}


def _start(registry, source: DataSource) -> None:
    s = st.session_state
    try:
        job = registry.start_tuning(s["tune_name"], source.data_options(), BUDGETS[s["tune_budget"]],
                                    TrainConfig(epochs=int(s["tune_epochs"]), seed=int(s["tune_seed"])))
    except BioseqError as e:
        s["tune_message"] = e.dashboard()
        return
    s.update(tune_message=None, tune_study=job.name, tune_name=_new_name())


def _new_name() -> str:
    from bioseq.workspace import new_name

    return new_name("tune", "study")


def study_view(registry, name: str) -> None:
    """One study: status and progress, trials, best value over time, importances, the chosen options."""
    info, rows = tuning.read_study(name)
    job = registry.tuning(name)
    status = info.get("status", "starting")
    progress = info.get("progress") or {}
    if status == "running":
        budget = info.get("budget") or 1
        st.progress(min(1.0, progress.get("elapsed", 0) / budget), text=progress.get("text", "reading the data…"))
        if job is not None and job.alive:
            st.button("Stop the search", key="tune_stop", on_click=job.stop, icon=":material/stop_circle:",
                      help="stop after the current epoch; the best model found so far is kept")
    elif status == "done" and info.get("model_path"):
        st.success(f"Best trial {info.get('best_trial')} (validation loss {info.get('best_value', float('nan')):.4f}) "
                   f"saved as model **{name}**.", icon=":material/check_circle:")
        st.session_state[state.MODEL_KEY] = name
    elif status == "failed":
        widgets.error(f"The search failed: {info.get('error', '')}")
    elif status == "interrupted":
        st.warning("This search was interrupted; continue it with `bioseq tune … --name "
                   f"{name} --resume`.", icon=":material/warning:")
    trials = pd.DataFrame(rows)
    if not len(trials):
        st.caption("No trial has finished yet.")
        return
    left, right = st.columns(2)
    with left:
        widgets.chart(plots.tuning_history(trials), "tune_history", f"{name}_history")
    with right:
        finished = int((trials["state"] == "complete").sum())
        widgets.chart(plots.importances(loaders.importances(name, len(trials)), finished=finished,
                                        needed=tuning.IMPORTANCE_TRIALS), "tune_importances", f"{name}_importances")
    widgets.table(readable.trials_table(rows), "tune_trials", f"{name}_trials", hide_index=True,
                  column_config={"seconds": st.column_config.NumberColumn("seconds", format="%.0f")})
    best = tuning.best_trial(rows)
    if best:
        st.markdown(f"**Chosen options** (trial {best['trial']}): "
                    + readable.options_in_words(tuning.chosen_options(best)))


def show(registry, source: DataSource) -> None:
    st.header("Tune", help="Let Optuna search the model and training options for a time budget: a TPE sampler, "
              "weak trials stopped early (pruned) on their validation loss. Choices use the validation data only; "
              "the first trial is the defaults, so the result is never worse on validation.")
    with st.expander("Search the options", icon=":material/manage_search:"), st.form("tune_form", border=False):
        st.session_state.setdefault("tune_name", _new_name())
        c1, c2, c3, c4 = st.columns(4)
        c1.text_input("Study and model name", key="tune_name")
        c2.selectbox("Budget", list(BUDGETS), index=1, key="tune_budget")
        c3.number_input("Epochs per trial (at most)", 1, 200, 20, key="tune_epochs")
        c4.number_input("Seed", 0, None, 0, key="tune_seed")
        st.caption("Searched: " + ", ".join(label_of(k) for k in tuning.SPACE) + ".")
        st.form_submit_button("Start the search", key="tune_start", on_click=_start, args=(registry, source),
                              icon=":material/play_arrow:")
    if st.session_state.get("tune_message"):
        widgets.error(st.session_state["tune_message"])
    studies = tuning.list_studies()
    if not studies:
        return
    if st.session_state.get("tune_study") not in studies:
        st.session_state["tune_study"] = studies[0]
    name = st.selectbox("Study", studies, key="tune_study")
    running = tuning.read_study(name)[0].get("status") == "running"
    st.fragment(study_view, run_every=3.0 if running else None)(registry, name)
