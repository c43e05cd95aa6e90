"""What the Gradient flow page shows for a run: per-layer norms recorded in training, ∂C/∂h(t) and
the memory curve measured on training records, and the plain-words diagnosis."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..interpret.diagnose import Diagnosis, diagnose_run, memory_summary
from ..interpret.memory import COLUMNS as MEMORY_COLUMNS
from ..interpret.memory import effective_memory, measured_range, memory_curve
from ..interpret.position_gradients import PROFILE_COLUMNS, flow_profile
from ..model.card import describe_config
from ..model.store import load_model
from ..task import task_of
from ..training.runs import GradientSummary, gradient_summary, layer_gradients, read_gradients, read_metrics, read_run
from .records import run_records

TIME_COLUMNS = ["layer", "direction", "distance", "grad_norm"]


@dataclass
class FlowReport:
    """Everything the Gradient flow page shows for one run."""

    name: str
    architecture: str
    layers: pd.DataFrame  # layer_gradients(): epoch, step, layer, direction, grad_norm
    summary: GradientSummary
    time: pd.DataFrame  # layer, direction, distance, grad_norm (mean over records)
    memory: pd.DataFrame  # distance, influence, relative, sequences
    effective_memory: int | None
    diagnosis: Diagnosis
    records: int = 0
    note: str = ""
    measured: int = 0  # the longest distance the memory curve covers
    readout: str = "last"  # the model's read-out (pooling): last, mean, max or attention
    task: str = "classify"  # its Task's name; per position: time is G[t, s] by distance, memory per position
    model_path: str = ""
    sample: list = field(default_factory=list)  # the records measured (a labeller's G[t, s] heatmap reads one)
    tracks: list | None = None  # labellers: their true label tracks ((length,) int64, UNSCORED = -100)

    def memory_text(self) -> str:
        """The effective memory in words, read off the memory curve the page draws."""
        if self.effective_memory is not None:
            return f"{self.effective_memory} positions"
        return f"≥ {self.measured} (all measured)" if self.measured else "not measured"


def gradient_flow(name: str, n: int = 32, records: list | None = None, member: int | None = None,
                  max_positions: int = 16) -> FlowReport:
    """Per-layer norms (recorded in training), the gradient flow and the memory curve on ``n`` training records,
    and the plain-words diagnosis, for one finished run. Raises :class:`InputError` without a model.

    The flow and the memory are measured from where the model's task reads its output: the read-out of a
    classifier (‖∂C/∂h(t)‖ by step), or every position of a labeller (G[t, s] by distance t − s, ``max_positions``
    loss positions per record, the true labels of its training files). For an ensemble, ``member`` (1-based,
    default 1) is the network measured; the per-layer norms recorded in training are always member 1's (the
    members train one after another)."""
    info = read_run(name)
    model = info.get("model_path")
    if info.get("status") not in ("done", "stopped") or not model or not Path(model).is_file():
        raise InputError(f"run {name!r} has no saved model yet (status: {info.get('status')})")
    bundle = load_model(model)
    if bundle.size > 1:
        bundle = bundle.member((member or 1) - 1)
    task = task_of(bundle)
    time = pd.DataFrame(columns=PROFILE_COLUMNS if task.per_position else TIME_COLUMNS)
    memory = pd.DataFrame(columns=MEMORY_COLUMNS)
    eff, note, tracks = None, "", None
    try:
        if records is None:
            records, tracks = _training_records(name, n, bundle)
    except InputError as e:
        records, note = [], f"per-position views skipped: {e}"
    if records:
        time = flow_profile(bundle, records, tracks, max_positions=max_positions)
        memory = memory_curve(bundle, records, max_positions=max_positions)
        eff = effective_memory(memory)
    grads, hist = read_gradients(name), read_metrics(name)
    diagnosis = diagnose_run(grads.to_dict("records"), hist.to_dict("records"),
                             memory_summary(memory, bundle.alphabet.name) if records else None,
                             (bundle.meta or {}).get("training"), task.name, bundle.model.cfg.to_dict())
    return FlowReport(name, describe_config(bundle.model.cfg.to_dict()), layer_gradients(name), gradient_summary(name),
                      time, memory, eff, diagnosis, len(records), note, measured_range(memory),
                      "per position" if task.per_position else bundle.model.cfg.pooling, task.name, str(model),
                      list(records), tracks)


def _training_records(name: str, n: int, bundle) -> tuple[list, list | None]:
    """``n`` of the run's training records and, where the task labels positions, their true label tracks."""
    if not task_of(bundle).per_position:
        return run_records(name, n), None
    from .position_data import model_labelled, spread

    found, labels = model_labelled(bundle.meta or {})
    keep = spread(list(range(len(found))), n)
    return [found[i] for i in keep], [labels[i] for i in keep] if labels is not None else None


def stack(reports: list[FlowReport], part: str) -> pd.DataFrame:
    """One table from several reports' ``part`` (``layers``, ``time`` or ``memory``), with a ``run`` column."""
    frames = [getattr(r, part).assign(run=r.name) for r in reports if len(getattr(r, part))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run"])


def layer_table(reports: list[FlowReport]) -> pd.DataFrame:
    """Mean gradient norm per layer of each run: ``run, layer, grad_norm``."""
    rows = [{"run": r.name, "layer": layer, "grad_norm": v}
            for r in reports for layer, v in r.summary.per_layer.items()]
    return pd.DataFrame(rows, columns=["run", "layer", "grad_norm"])
