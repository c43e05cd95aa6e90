"""Train: every option of the options table, with presets; training in a background worker; live progress and
curves read from the run folder (so a run started from the command line shows the same); comparison."""

import streamlit as st

from bioseq import plots, workspace
from bioseq.app import presets, run_table, train_again, train_form
from bioseq.errors import BioseqError
from bioseq.options import option
from bioseq.task import task_of
from bioseq.training import crowding, runs
from dashboard import loaders, state, widgets
from dashboard.parts import manage, tune_panel  # the Tune panel: its controls sit in the form

registry = loaders.job_registry()
again = st.session_state.pop("train_again", None)  # "Train again with these options", from a run or a model
if again is not None and again.source is not None:
    state.set_source(again.source)
source = state.current_source()
live_box, form_box, compare_box = st.container(), st.container(), st.container()
LAUNCHED = {"cli": "started from the command line", "dashboard": "started here", "python": "started from Python"}


def _eta(seconds) -> str:
    return "—" if seconds is None else f"{int(seconds) // 60}m {int(seconds) % 60:02d}s"


def monitor(name: str, poll: bool) -> None:
    """Progress of one run, from its run folder alone, whoever started it."""
    info = runs.read_run(name)
    status, job = info["status"], registry.get(name)
    st.caption(f"Status: **{status}** · {LAUNCHED.get(info.get('launcher'), 'started elsewhere')} · "
               f"{info.get('summary', {}).get('records', '?')} training records · started {info.get('started', '?')}")
    if status == "running":
        p = runs.RunProgress.of(info)
        st.progress(p.fraction, text=f"epoch {max(p.epoch, 1)}/{p.epochs} · step {p.step}/{p.steps_per_epoch} · "
                    f"loss {p.loss:.4f} · ETA {_eta(p.eta)}" if p.steps_per_epoch else "reading the data…")
        if job is not None and job.alive:
            st.button("Stop", key="train_stop", on_click=job.stop, icon=":material/stop_circle:",
                      help="stop after this batch; the best weights so far are saved as the model")
    elif status in ("done", "stopped") and info.get("cv"):
        st.success(run_table.cv_headline(info), icon=":material/check_circle:")
        if run_table.model_of(info):
            st.session_state[state.MODEL_KEY] = run_table.model_of(info)
    elif status in ("done", "stopped"):
        vm = info.get("val_metrics") or {}
        last = ("SOV", "sov") if "auroc" not in vm and "sov" in vm else ("AUROC", "auroc")  # a labeller has SOV
        weak = run_table.weakest(info)  # a labeller's worst label beside the means
        said = (f"{'Stopped early by you; ' if status == 'stopped' else ''}saved as model **{name}** "
                f"(best epoch {info.get('best_epoch')}, validation accuracy {vm.get('accuracy', float('nan')):.3f}, "
                f"{last[0]} {vm.get(last[1], float('nan')):.3f}{f'; {weak}' if weak else ''})")
        verdict = run_table.verdict(info)  # the diagnosis decides the colour: green only when nothing is wrong
        if verdict.ok:
            st.success(f"{said}.", icon=":material/check_circle:")
        else:
            st.warning(f"{said}; but the diagnosis finds a problem: {verdict.text()}. Read the Gradient flow page "
                       "before using this model.", icon=":material/warning:")
        for note in run_table.run_notes(info):
            st.warning(note, icon=":material/warning:")
        st.session_state[state.MODEL_KEY] = name
    elif status == "failed":
        widgets.error(f"Training failed: {info.get('error_markup') or info.get('error', '')}")
    elif status == "interrupted":
        st.warning("This run was interrupted (its process stopped while it trained).", icon=":material/warning:")
    members = run_table.ensemble_words(info) or run_table.cv_words(info)
    if members:
        st.info(members, icon=":material/stacks:")
    folds = run_table.cv_table(info)  # a cross-validation: each figure's mean ± sd and per fold
    if folds is not None:
        widgets.table(folds, "train_cv", f"{name}_cross_validation", hide_index=True)
    metrics = runs.RunFolder.named(name).member_metrics()  # an ensemble: one colour per member, a CV per fold
    for i, panel in enumerate(plots.training_panels(metrics)):
        widgets.chart(panel, f"train_live_{i}", f"{name}_curves_{i + 1}")
    if poll and status != "running":
        st.rerun()  # the run ended: draw the page once more, without polling


table = runs.list_runs()
active = False
with live_box:
    if len(table):
        st.header("Runs", anchor="runs")
        if st.session_state.pop("train_scroll", False):  # just started: bring the live progress into view
            widgets.scroll_to("runs")
        names = list(table["name"])
        status = dict(zip(table["name"], table["status"]))
        if st.session_state.get("train_run") not in names:
            st.session_state["train_run"] = names[0]
        name = st.selectbox("Run", names, key="train_run")
        active = status[name] == "running"
        st.fragment(monitor, run_every=1.0 if active else None)(name, active)
        if status[name] not in ("running", "starting"):
            st.button("Train again with these options", key="train_again_run", icon=":material/replay:",
                      on_click=lambda n=name: st.session_state.update(train_again=train_again.from_run(
                          runs.read_run(n))), help="fills in the form below with this run's options (and its data, "
                      "when they are still in the workspace); nothing starts until you press Start training")
        if status[name] in ("done", "stopped"):
            c1, c2, c3 = st.columns(3)
            c1.page_link("dashboard/views/gradient_flow.py", label="Gradient flow of this run",
                         icon=":material/show_chart:")
            model = run_table.model_of(runs.read_run(name))
            c2.page_link("dashboard/views/gates_saliency.py", label="Gates & saliency", icon=":material/grid_on:",
                         query_params={"model": model} if model else None)
            if model:
                c3.page_link("dashboard/views/models.py", label=f"Its model: {model}", icon=":material/inventory_2:",
                             query_params={"model": model})
            else:
                c3.caption("Its model is not in the registry (saved elsewhere, renamed or deleted).")
        manage.message("train_runs")
        if status[name] != "running":
            with st.expander("Rename or delete this run", icon=":material/edit:"):
                st.caption("A run's folder holds its logs and checkpoints; its model is renamed or deleted on the "
                           "Models page.")
                manage.controls("run", name, "train_runs", rename=runs.rename_run, delete=runs.delete_run,
                                renamed=lambda new: st.session_state.update(train_run=new),
                                deleted=lambda: st.session_state.pop("train_run", None))

def compare(chosen: list[str]) -> None:
    """The chosen runs' curves and the comparison table; redrawn every few seconds while one trains."""
    if chosen:
        for i, panel in enumerate(plots.training_panels(runs.compare_metrics(chosen))):
            widgets.chart(panel, f"train_compare_{i}", f"run_comparison_{i + 1}")
    widgets.table(run_table.comparison_table(), "train_runs_table", "runs", hide_index=True,
                  column_config={"minutes": st.column_config.NumberColumn("minutes", format="%.1f")})


with compare_box:
    if len(table) > 1:
        st.header("Compare runs", help="Runs on the same alphabet and classes as the run above are overlaid by "
                  "default; a DNA run and a protein run compare nothing. Click a column of the table to sort by it.")
        like = run_table.comparable(table, st.session_state.get("train_run", table["name"].iloc[0]))
        # the default follows the runs (a run's classes are known once it has read its data) until the user
        # picks runs of their own
        if st.session_state.get("train_compare") in (None, st.session_state.get("train_compare_auto")):
            st.session_state["train_compare"] = like[:3]
        st.session_state["train_compare_auto"] = like[:3]
        st.session_state["train_compare"] = [n for n in st.session_state["train_compare"] if n in set(table["name"])]
        chosen = st.multiselect("Runs to overlay", list(table["name"]), key="train_compare")
        training = bool(set(chosen) & set(table.loc[table["status"] == "running", "name"]))
        st.fragment(compare, run_every=3.0 if training else None)(chosen)


def _remember(alphabet: str, preset: str, values: dict, task: str = "classify") -> None:
    """Keep the form's values under a non-widget key: Streamlit drops widget state while the page is away."""
    st.session_state["train_saved"] = {"alphabet": alphabet, "task": task, "preset": preset, "values": dict(values)}


def _apply_preset(alphabet: str, task: str = "classify") -> None:
    values = presets.preset_values(st.session_state["train_preset"], alphabet, task)
    for k, v in values.items():
        st.session_state[train_form.key(k)] = v
    _remember(alphabet, st.session_state["train_preset"], values, task)
    st.session_state["train_again_message"] = None  # the form no longer holds a run's or a model's options


def _form_state(alphabet: str, task: str = "classify") -> None:
    """Every form widget's value set with ``setdefault`` before anything reads it: the remembered values,
    or the preset's for this alphabet and task when the data (or its alphabet, or its task) is new."""
    saved = st.session_state.get("train_saved")
    if saved is None or saved["alphabet"] != alphabet or saved.get("task", "classify") != task:
        st.session_state.setdefault("train_preset", presets.DEFAULT_PRESET)
        _apply_preset(alphabet, task)
        saved = st.session_state["train_saved"]
    st.session_state.setdefault("train_preset", saved["preset"])
    for k, v in {**train_form.defaults(alphabet, task), **saved["values"]}.items():
        st.session_state.setdefault(train_form.key(k), v)
    st.session_state.setdefault("train_name", workspace.new_name(st.session_state[train_form.key("cell")], alphabet))


def _start(data, alphabet: str, task: str = "classify") -> None:
    values = train_form.read(st.session_state, alphabet, task)
    _remember(alphabet, st.session_state["train_preset"], values, task)
    try:
        job = registry.start(st.session_state["train_name"], *train_form.to_configs(values, data),
                             overwrite=bool(st.session_state.get("train_overwrite")))
    except BioseqError as e:
        st.session_state["train_message"] = e.dashboard()
        return
    st.session_state.update(train_message=None, train_run=job.name, train_overwrite=False, train_scroll=True,
                            train_name=workspace.new_name(values["cell"], alphabet), train_again_message=None)


def _remember_tuned(alphabet: str, task: str):
    """What the form keeps when it starts a search instead of a training run: its values, and a fresh name."""
    def remember(values: dict) -> None:
        _remember(alphabet, st.session_state["train_preset"], values, task)
        st.session_state["train_name"] = workspace.new_name(values["cell"], alphabet)
    return remember


def _widget(o) -> None:
    kw = {"key": train_form.key(o), "help": o.describe()}
    if o.kind == "bool":
        st.checkbox(o.form_label, **kw)
    elif o.kind == "choice":
        st.selectbox(o.form_label, o.allowed, **kw)
    elif o.kind == "int":
        st.number_input(o.form_label, step=1, min_value=None if o.form_min is None else int(o.form_min),
                        max_value=None if o.max is None else int(o.max), **kw)
    else:
        st.number_input(o.form_label, min_value=o.form_min, max_value=o.max, step=o.step,
                        format="%.5f" if (o.step or 1) < 0.01 else "%.2f", **kw)


def _columns(by_group: dict) -> None:
    """The options of each group in its column (a group with none shown leaves its column empty)."""
    for (group, shown), col in zip(by_group.items(), st.columns(len(by_group))):
        with col:
            if shown:
                st.markdown(f"**{group.capitalize()}**")
            for o in shown:
                _widget(o)


def _fill(again, alphabet: str, task: str) -> None:
    """The form's widgets set to a run's or a model's saved options (:mod:`bioseq.app.train_again`)."""
    for k, v in again.values.items():
        st.session_state[train_form.key(k)] = v
    _remember(alphabet, st.session_state["train_preset"], again.values, task)
    st.session_state.update(train_name=workspace.new_name(again.values["cell"], alphabet), train_message=None,
                            train_again_message=again.message())


with form_box:
    st.header("New run")
    if source is None:
        if again is not None:  # its data are gone: fill the form once a dataset is chosen
            st.session_state["train_again"] = again
        st.info("Choose a dataset first: load an example on the home page or pick files on the Data page.",
                icon=":material/info:")
        st.page_link("dashboard/views/data.py", label="Go to Data", icon=":material/dataset:")
        st.stop()
    try:
        summary = loaders.data_report(source).summary
    except BioseqError as e:
        widgets.error(e)
        st.stop()
    alphabet, task = summary["alphabet"], summary.get("task", "classify")
    per_position = task_of(task).per_position
    what = "a label per position; labels" if per_position else "classes"
    st.markdown(f"**Data:** {source.name} — {summary['records']:,} records, {what} "
                f"{', '.join(f'{c} ({n:,})' for c, n in summary['per_class'].items())}, {alphabet.upper()}.")
    if per_position:
        st.caption("The model will be a **labeller**: its head labels every position (no read-out), the "
                   "convolution does not pool, and the loss and metrics count scored positions only.")
    crowd = crowding.crowding()
    if crowd is not None:
        st.warning(f"{crowd.text('a new run')}.", icon=":material/speed:")
    _form_state(alphabet, task)
    if again is not None:
        _fill(again, alphabet, task)
    if st.session_state.get("train_again_message"):
        st.info(st.session_state["train_again_message"], icon=":material/replay:")
    p1, p2 = st.columns(2)
    p1.selectbox("Preset", list(presets.PRESETS), key="train_preset", on_change=_apply_preset, args=(alphabet, task),
                 help="fills in the model options below; you can still change any of them")
    with p2:  # outside the form: the cell decides which options the form shows
        _widget(option("cell"))
    st.caption(presets.PRESETS[st.session_state["train_preset"]][0])
    parts = train_form.layout(alphabet, task, st.session_state[train_form.key("cell")])
    with widgets.form("train_form"):
        st.text_input("Run and model name", key="train_name", help="letters, digits, '.', '_' or '-'; the model is "
                      "saved under this name")
        st.checkbox("Replace a model or run of this name", key="train_overwrite", help="without it, a name that is "
                    "taken is refused; with it, the model of that name is replaced when the new one is saved")
        _columns(parts[True])
        with st.expander("Advanced", icon=":material/tune:"):
            st.caption("Only the options that apply to this data and this cell are shown; the others keep their "
                       "defaults.")
            _columns(parts[False])
        st.form_submit_button("Start training", key="train_start", type="primary", on_click=_start,
                              args=(source.data_options(), alphabet, task), icon=":material/play_arrow:")
        tune_panel.controls(registry, source.data_options(), _remember_tuned(alphabet, task),
                            read=lambda s: train_form.read(s, alphabet, task))
    if st.session_state.get("train_message"):
        widgets.error(st.session_state["train_message"])

tune_panel.show(registry)
