"""The Train page's Tune panel: search the options with Optuna in the background (:mod:`bioseq.training.tune`);
the trials table, the best value over time, the importances and the chosen options, read from the study.

The search starts from the Train form itself (:func:`controls`, a second submit button of that form), so every
trial trains with the form's data and training options as they stand (epochs, patience, seed, learning rate
as the first trial's, ...), named by the form's run name; Optuna chooses the model."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
import streamlit as st

from bioseq import plots
from bioseq.app import readable, train_form
from bioseq.data.source import DataOptions
from bioseq.errors import BioseqError
from bioseq.options import label_of
from bioseq.training import tune as tuning
from dashboard import loaders, state, widgets

BUDGETS = {"1 minute": 60, "3 minutes": 180, "10 minutes": 600, "30 minutes": 1800, "1 hour": 3600}
# how each trial is scored: one validation split, or K-fold cross-validation (bioseq tune --cv K)
SCORING = {"one validation split": None, "3-fold cross-validation": 3, "5-fold cross-validation": 5,
           "10-fold cross-validation": 10}


def _start(registry, data: DataOptions, remember: Callable[[dict], None], read: Callable[[Mapping], dict]) -> None:
    s = st.session_state
    values = read(s)
    try:
        data, _, train_cfg = train_form.to_configs(values, data)
        job = registry.start_tuning(s["train_name"], data, BUDGETS[s["tune_budget"]], train_cfg,
                                    cv=SCORING[s.get("tune_cv", next(iter(SCORING)))])
    except BioseqError as e:
        s["tune_message"] = e.dashboard()
        return
    s.update(tune_message=None, tune_study=job.name)
    remember(values)


def controls(registry, data: DataOptions, remember: Callable[[dict], None],
             read: Callable[[Mapping], dict] = train_form.read) -> None:
    """Inside the Train form: the search's budget, how each trial is scored (one validation split, or K-fold
    cross-validation: ``bioseq tune --cv K``) and its start button (the form's values, as ``read`` takes them from
    the session state, go with it)."""
    c1, c3, c2 = st.columns([1, 1, 1], vertical_alignment="bottom")
    c1.selectbox("Or search the options for", list(BUDGETS), index=1, key="tune_budget",
                 help="Optuna trains trial after trial with this form's data and training options, choosing the "
                 "model (and the learning rate, batch size and weight decay, starting from the form's)")
    c3.selectbox("Score each trial by", list(SCORING), key="tune_cv",
                 help="K-fold cross-validation scores a trial by the mean test loss over K folds (each trial trains "
                 "K models: K times the time, so fewer trials fit the budget; for small data, where one validation "
                 "split is too noisy to choose by); the saved model is then the ensemble of the best trial's K")
    c2.form_submit_button("Start the search", key="tune_start", on_click=_start, args=(registry, data, remember, read),
                          icon=":material/manage_search:")
    st.caption("Searched: " + ", ".join(label_of(k) for k in tuning.SPACE) + ". The study and its best model take "
               "the run name.")


def _searching(status: str, job) -> bool:
    """Running by its folder, or started here a moment ago and not yet written it down."""
    return status == "running" or (status == "starting" and job is not None and job.alive)


def study_view(registry, name: str, poll: bool = False) -> None:
    """One study: status and progress, trials, best value over time, importances, the chosen options."""
    info, rows = tuning.read_study(name)
    job = registry.tuning(name)
    status = info.get("status", "starting")
    progress = info.get("progress") or {}
    if info.get("cv"):
        st.caption(f"Each trial is scored by {info['cv']}-fold cross-validation (the mean test loss over the folds); "
                   "its model is the ensemble of its fold models.")
    if poll and not _searching(status, job):
        st.rerun()  # the search ended: draw the page once more, without polling
    if _searching(status, job):
        budget = info.get("budget") or 1
        st.progress(min(1.0, progress.get("elapsed", 0) / budget), text=progress.get("text", "reading the data…"))
        if job is not None and job.alive:
            st.button("Stop the search", key="tune_stop", on_click=job.stop, icon=":material/stop_circle:",
                      help="stop after the current epoch; the best model found so far is kept")
    elif status == "done" and info.get("model_path"):
        scored = f"mean test loss over {info['cv']} folds" if info.get("cv") else "validation loss"
        st.success(f"Best trial {info.get('best_trial')} ({scored} {info.get('best_value', float('nan')):.4f}) "
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


def show(registry) -> None:
    st.header("Tune", help="Let Optuna search the model and training options for a time budget: a TPE sampler, "
              "weak trials stopped early (pruned) on their validation loss. Choices use the validation data only; "
              "the first trial is the default model trained with the form's options, so the result is never worse on "
              "validation than that. Start a search from the form above.")
    if st.session_state.get("tune_message"):
        widgets.error(st.session_state["tune_message"])
    studies = tuning.list_studies()
    chosen = st.session_state.get("tune_study")
    if chosen not in studies and chosen is not None and _searching("starting", registry.tuning(chosen)):
        studies = [chosen, *studies]  # just started here: listed (and kept selected) before its folder is written
    if not studies:
        st.caption("No study yet: set the options above, choose a budget and start the search.")
        return
    if chosen not in studies:
        st.session_state["tune_study"] = studies[0]
    name = st.selectbox("Study", studies, key="tune_study")
    running = _searching(tuning.read_study(name)[0].get("status", "starting"), registry.tuning(name))
    st.fragment(study_view, run_every=3.0 if running else None)(registry, name, running)
