"""Diagnosis in plain words: healthy, or what went wrong, with the numbers and what to try.

Verdicts, in the order they are reported: **exploding**, **not learning**, **vanishing across layers**,
**vanishing across time**, **leakage**, **overfitting**, **underfitting**, **accuracy misleads**. The
gradient verdicts come from here; the training ones from :mod:`bioseq.interpret.diagnose_training`
(the history, class counts and leakage), and their remedies, as data, from
:mod:`bioseq.interpret.remedies`. A model at chance is never "healthy": it is "not learning".

Inputs are the per-layer gradient rows recorded during training (``gradients.csv``), the metric
history, optionally a memory curve (influence by distance from the read-out) and the ``training``
dict of the model file (class counts, training options, leakage). Gradient thresholds:

* **exploding** — a non-finite gradient norm or loss, or a layer norm above ``EXPLODE_NORM``;
* **vanishing across layers** — the first recurrent layer gets under ``LAYER_RATIO`` (10%) of the
  last layer's gradient (under 1% is severe);
* **vanishing across time** — inputs ``TIME_DISTANCE`` or more positions from the read-out get under
  1% of the peak influence, while the model does not fit the validation data (balanced accuracy
  under ``FIT_ACCURACY``). A model that fits while ignoring far inputs gets a finding, not a verdict:
  its signal is probably near the read-out.

A labeller (``task="label"``) is diagnosed the same way: its memory curve is measured per position
(:func:`bioseq.interpret.memory.memory_curve` per position, distance from the position labelled, past and
future), the training words say labels and positions (:mod:`bioseq.interpret.diagnose_training`), and
remedies on options a labeller does not use (the Task's ``unused``: the read-out, conv pooling) are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..task import task_of
from ..training.recorder import layer_ratio
from .diagnose_training import training_findings
from .remedies import REMEDIES, Remedy

__all__ = ["ORDER", "REMEDIES", "Diagnosis", "Remedy", "diagnose_model", "diagnose_run", "memory_summary"]

EXPLODE_NORM = 1e3
LAYER_RATIO = 0.1
TIME_FRACTION = 0.01
TIME_DISTANCE = 20
FIT_ACCURACY = 0.9  # far inputs may be ignored on purpose by a model that fits

ORDER = ("exploding", "not learning", "vanishing across layers", "vanishing across time", "leakage",
         "overfitting", "underfitting", "accuracy misleads")


@dataclass
class Diagnosis:
    verdict: str  # healthy, or the first of ``verdicts`` (see ORDER)
    findings: list[str] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    verdicts: list[str] = field(default_factory=list)
    task: str = "classify"

    @property
    def remedies(self) -> list[Remedy]:
        """What to try for every verdict, in their order, each once (``str()`` gives the CLI's words); for a
        labeller without the remedies on options it does not use."""
        out: list[Remedy] = []
        for v in self.verdicts or [self.verdict]:
            out += [r for r in REMEDIES[v] if r not in out
                    and r.option not in task_of(self.task).unused]
        return out

    def text(self) -> str:
        lines = [f"diagnosis: {self.verdict.upper()}"]
        lines += [f"  - {f}" for f in self.findings]
        if self.remedies:
            lines.append("  remedies: " + "; ".join(map(str, self.remedies)))
        return "\n".join(lines)


def _fits_well(history: list[dict] | None) -> bool:
    """True when the last validation balanced accuracy reaches ``FIT_ACCURACY``."""
    val = [h for h in history or [] if h.get("split") == "val"]
    return bool(val) and float(val[-1].get("balanced_accuracy", math.nan)) >= FIT_ACCURACY


def diagnose_run(grad_rows: list[dict], history: list[dict] | None = None,
                 memory: dict | None = None, training: dict | None = None, task: str = "classify") -> Diagnosis:
    """Diagnose a run from its per-layer gradient rows, history, optional memory curve and training facts.

    ``memory`` is ``{"distance": [...], "influence": [...], "effective_memory": int | None}``, as
    :func:`memory_summary` makes it from :func:`bioseq.interpret.memory_curve`. ``training`` is a model
    file's ``training`` dict (``counts``, ``train_config``, ``leakage``); without its class counts the
    training verdicts (not learning, overfitting, ...) are not judged. ``task`` is the model's (``bundle.task``):
    ``label`` words the findings for a labeller, whose memory is counted from each position labelled.
    """
    origin = task_of(task).origin
    verdicts: list[str] = []
    findings: list[str] = []
    numbers: dict = {}
    norms = np.array([float(r["grad_norm"]) for r in grad_rows], dtype=float)
    losses = np.array([float(h["loss"]) for h in history or [] if h.get("split") == "train"], dtype=float)
    if norms.size and (not np.isfinite(norms).all() or norms.max() > EXPLODE_NORM) or \
            (losses.size and not np.isfinite(losses).all()):
        peak = float(np.nanmax(np.where(np.isfinite(norms), norms, np.nan))) if np.isfinite(norms).any() else math.inf
        numbers["max_grad_norm"] = peak
        verdicts.append("exploding")
        findings.append(f"gradient norms blow up (largest finite layer norm {peak:.3g}; "
                        f"non-finite values: {int((~np.isfinite(norms)).sum())})")
    layers = layer_ratio(grad_rows)
    means, ratio = layers["per_layer"], layers["ratio"]
    if len(means) >= 2:
        last = means[max(means)]
        numbers.update(layer_means=means, layer_ratio=ratio)
        desc = ", ".join(f"L{k} {v:.3g}" for k, v in means.items())
        if ratio < LAYER_RATIO:
            verdicts.append("vanishing across layers")
            findings.append(f"layer 1 gets {ratio:.1%} of layer {max(means)}'s gradient "
                            f"({'severe, ' if ratio < 0.01 else ''}mean norms {desc})")
        elif math.isnan(ratio):
            findings.append(f"no first/last layer ratio: the last layer's mean gradient norm is {last:.3g} "
                            f"(mean norms {desc})")
        else:
            findings.append(f"gradient reaches layer 1 (first/last ratio {ratio:.2f}; mean norms {desc})")
    elif means:
        numbers["layer_means"] = means
        findings.append(f"one recurrent layer, mean gradient norm {next(iter(means.values())):.3g}")
    if memory and memory.get("influence"):
        infl = np.asarray(memory["influence"], dtype=float)
        dist = np.asarray(memory["distance"], dtype=float)
        peak = float(np.nanmax(infl)) if infl.size else 0.0
        far = dist >= TIME_DISTANCE
        numbers["effective_memory"] = memory.get("effective_memory")
        if peak > 0 and far.any():
            frac = float(np.nanmean(infl[far]) / peak)
            numbers["far_influence"] = frac
            fits = _fits_well(history)
            if frac < TIME_FRACTION and not fits:
                verdicts.append("vanishing across time")
                findings.append(f"inputs {TIME_DISTANCE}+ positions from {origin} get {frac:.2%} of the peak "
                                f"influence (effective memory {memory.get('effective_memory')} positions), "
                                "and the model does not fit the validation data")
            elif frac < TIME_FRACTION:
                near = task_of(task).nearest
                findings.append(f"the model uses only the {near} ~{memory.get('effective_memory')} positions "
                                f"(far inputs get {frac:.2%} of the peak influence); it fits the validation "
                                f"data, so the signal is probably near {origin}")
            else:
                findings.append(f"inputs {TIME_DISTANCE}+ positions from {origin} keep {frac:.1%} of the peak "
                                "influence")
    if losses.size >= 2 and np.isfinite(losses).all():
        numbers.update(first_loss=float(losses[0]), last_loss=float(losses[-1]))
        findings.append(f"training loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    trained = training_findings(history, training, task)
    verdicts += trained.verdicts
    findings += trained.findings
    numbers.update(trained.numbers)
    verdicts = [v for v in ORDER if v in verdicts]
    return Diagnosis(verdicts[0] if verdicts else "healthy", findings, numbers, verdicts, task)


def memory_summary(curve) -> dict | None:
    """The ``memory`` argument of :func:`diagnose_run` from a :func:`bioseq.interpret.memory.memory_curve`
    table: the relative influence of the strongest direction at each distance (the curve the Gradient
    flow page draws), and the effective memory read off the same curve."""
    from .memory import effective_memory, reach

    if curve is None or not len(curve):
        return None
    strongest = reach(curve)
    return {"distance": strongest["distance"].tolist(), "influence": strongest["relative"].tolist(),
            "effective_memory": effective_memory(curve)}


def diagnose_model(bundle, ids: list[str], seqs: list[str], grad_rows: list[dict], history: list[dict],
                   max_records: int = 128) -> Diagnosis:
    """:func:`diagnose_run` plus a memory curve measured on up to ``max_records`` sequences (per position for a
    labeller), and the training facts of the model file (``bundle.meta["training"]``)."""
    from ..data.io import Record
    from .memory import memory_curve

    task = getattr(bundle, "task", "classify")
    records = [Record(i, i, s, "validation data", n)  # the first max_records only: the data may be large
               for n, (i, s) in enumerate(zip(ids[:max_records], seqs[:max_records]), 1)]
    return diagnose_run(grad_rows, history, memory_summary(memory_curve(bundle, records)) if records else None,
                        (bundle.meta or {}).get("training"), task)
