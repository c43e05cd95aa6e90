"""Train: every training option with presets, training in a background worker, live curves, comparison."""

import streamlit as st

import ui
from bioseq import plots, workspace
from bioseq.errors import BioseqError
from bioseq.training import jobs, runs

registry = ui.job_registry()
source = ui.current_source()
live_box, form_box, compare_box = st.container(), st.container(), st.container()


def _eta(seconds) -> str:
    return "—" if seconds is None else f"{int(seconds) // 60}m {int(seconds) % 60:02d}s"


def monitor(name: str, poll: bool) -> None:
    """Progress of one run: from the live job when this server runs it, else from its files."""
    job = registry.get(name)
    snap = job.snapshot() if job else None
    info = runs.read_run(name)
    status = snap.status if snap else info["status"]
    st.caption(f"Status: **{status}** · {info.get('summary', {}).get('records', '?')} training records · "
               f"started {info.get('started', '?')}")
    if snap is not None and snap.active:
        st.progress(snap.fraction, text=f"epoch {max(snap.epoch, 1)}/{snap.epochs} · step {snap.step}/"
                    f"{snap.steps_per_epoch or '?'} · loss {snap.loss:.4f} · ETA {_eta(snap.eta)}")
        st.button("Stop", key="train_stop", on_click=job.stop, icon=":material/stop_circle:",
                  help="stop after this batch; the best weights so far are saved as the model")
    elif status == "running":
        st.progress(min(1.0, (info.get("epoch") or 0) / max(info.get("epochs") or 1, 1)),
                    text=f"running outside this dashboard: epoch {info.get('epoch') or 0}/{info.get('epochs')}")
    elif status in ("done", "stopped"):
        vm = info.get("val_metrics") or {}
        st.success(f"{'Stopped early by you; ' if status == 'stopped' else ''}saved as model **{name}** "
                   f"(best epoch {info.get('best_epoch')}, validation accuracy {vm.get('accuracy', float('nan')):.3f}, "
                   f"AUROC {vm.get('auroc', float('nan')):.3f}).", icon=":material/check_circle:")
        st.session_state[ui.MODEL_KEY] = name
    elif status == "failed":
        st.error(f"Training failed: {info.get('error') or (snap.error if snap else '')}", icon=":material/error:")
    elif status == "interrupted":
        st.warning("This run was interrupted (the server stopped while it trained).", icon=":material/warning:")
    metrics = runs.read_metrics(name)
    ui.chart(plots.training_curves(metrics), "train_live", f"{name}_curves")
    if poll and status not in ("starting", "running"):
        st.rerun()  # the run ended: draw the page once more, without polling


table = runs.list_runs()
active = False
with live_box:
    if len(table):
        st.header("Runs")
        names = list(table["name"])
        status = dict(zip(table["name"], table["status"]))
        if st.session_state.get("train_run") not in names:
            st.session_state["train_run"] = names[0]
        name = st.selectbox("Run", names, key="train_run")
        job = registry.get(name)
        active = (job is not None and job.snapshot().active) or status[name] == "running"
        st.fragment(monitor, run_every=1.0 if active else None)(name, active)
        if status[name] in ("done", "stopped"):
            c1, c2 = st.columns(2)
            c1.page_link("pages/gradient_flow.py", label="Gradient flow of this run", icon=":material/show_chart:")
            c2.page_link("pages/gates_saliency.py", label="Gates & saliency", icon=":material/grid_on:")

with compare_box:
    if len(table) > 1:
        st.header("Compare runs")
        chosen = st.multiselect("Runs to overlay", list(table["name"]), default=list(table["name"][:2]),
                                key="train_compare")
        if chosen:
            ui.chart(plots.training_curves(runs.compare_metrics(chosen)), "train_compare", "run_comparison")


def _apply_preset(alphabet: str) -> None:
    for k, v in jobs.preset_values(st.session_state["train_preset"], alphabet).items():
        st.session_state[f"train_opt_{k}"] = v


def _start(data) -> None:
    values = {o.name: st.session_state[f"train_opt_{o.name}"] for o in jobs.OPTIONS}
    try:
        job = registry.start(st.session_state["train_name"], *jobs.build_options(values, data))
    except BioseqError as e:
        st.session_state["train_message"] = str(e)
        return
    st.session_state.update(train_message=None, train_run=job.name, train_name=workspace.new_name(
        values["cell"], st.session_state["train_alphabet"]))


def _widget(o: jobs.Option):
    key = f"train_opt_{o.name}"
    if o.kind == "bool":
        return st.checkbox(o.label, key=key, help=o.help)
    if o.kind == "choice":
        return st.selectbox(o.label, o.choices, key=key, help=o.help)
    if o.kind == "int":
        return st.number_input(o.label, key=key, help=o.help, step=1, min_value=None if o.min is None else int(o.min),
                               max_value=None if o.max is None else int(o.max))
    fmt = "%.5f" if (o.step or 1) < 0.01 else "%.2f"
    return st.number_input(o.label, key=key, help=o.help, min_value=o.min, max_value=o.max, step=o.step, format=fmt)


with form_box:
    st.header("New run")
    if source is None:
        st.info("Choose a dataset first: load an example on the home page or pick files on the Data page.",
                icon=":material/info:")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/dataset:")
        st.stop()
    try:
        summary = ui.data_report(source).summary
    except BioseqError as e:
        ui.error(e)
        st.stop()
    alphabet = summary["alphabet"]
    st.markdown(f"**Data:** {source.name} — {summary['records']:,} records, classes "
                f"{', '.join(f'{c} ({n})' for c, n in summary['per_class'].items())}, {alphabet.upper()}.")
    st.session_state.setdefault("train_preset", "BiLSTM + conv")
    if st.session_state.get("train_alphabet") != alphabet:
        st.session_state["train_alphabet"] = alphabet
        _apply_preset(alphabet)
    st.selectbox("Preset", list(jobs.PRESETS), key="train_preset", on_change=_apply_preset, args=(alphabet,),
                 help="fills in the model options below; you can still change any of them")
    st.caption(jobs.PRESETS[st.session_state["train_preset"]][0])
    st.session_state.setdefault("train_name", workspace.new_name(st.session_state["train_opt_cell"], alphabet))
    with st.expander("Options", expanded=not active, icon=":material/tune:"), st.form("train_form", border=False):
        st.text_input("Run and model name", key="train_name", help="letters, digits, '.', '_' or '-'; the model is "
                      "saved under this name")
        columns = dict(zip(("model", "training", "data"), st.columns(3)))
        for group, col in columns.items():
            with col:
                st.markdown(f"**{group.capitalize()}**")
                for o in jobs.OPTIONS:
                    if o.group == group:
                        _widget(o)
        st.form_submit_button("Start training", key="train_start", type="primary", on_click=_start,
                              args=(source.data_options(),), icon=":material/play_arrow:")
    if st.session_state.get("train_message"):
        st.error(st.session_state["train_message"], icon=":material/error:")
