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
from .memory import FRACTION
from .remedies import REMEDIES, Remedy, applicable

__all__ = ["ORDER", "REMEDIES", "Diagnosis", "Remedy", "diagnose_model", "diagnose_run", "memory_summary"]

EXPLODE_NORM = 1e3
LAYER_RATIO = 0.1
TIME_FRACTION = FRACTION  # the effective memory's threshold (bioseq.interpret.memory)
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
    settings: dict = field(default_factory=dict)  # the model's and training's option values, where known

    @property
    def remedies(self) -> list[Remedy]:
        """What to try for every verdict, in their order (``str()`` gives the CLI's words): each option once
        (the first verdict's words), never its current value, never an option the cell does not read (the cell
        registry) nor one the task does not use (a labeller's read-out); advice in words once."""
        return applicable([r for v in self.verdicts or [self.verdict] for r in REMEDIES[v]], self.settings,
                          task_of(self.task).unused)

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
                 memory: dict | None = None, training: dict | None = None, task: str = "classify",
                 config: dict | None = None) -> Diagnosis:
    """Diagnose a run from its per-layer gradient rows, history, optional memory curve and training facts.

    ``memory`` is ``{"distance": [...], "influence": [...], "effective_memory": int | None}``, as
    :func:`memory_summary` makes it from :func:`bioseq.interpret.memory_curve`. ``training`` is a model
    file's ``training`` dict (``counts``, ``train_config``, ``leakage``); without its class counts the
    training verdicts (not learning, overfitting, ...) are not judged. ``task`` is the model's (``bundle.task``):
    ``label`` words the findings for a labeller, whose memory is counted from each position labelled.
    ``config``: the model's options (``ModelConfig.to_dict()``); with the training options of ``training`` they
    decide which remedies apply (:attr:`Diagnosis.remedies`).
    """
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
        findings += _memory_findings(memory, task, numbers, verdicts, _fits_well(history))
    if losses.size >= 2 and np.isfinite(losses).all():
        numbers.update(first_loss=float(losses[0]), last_loss=float(losses[-1]))
        findings.append(f"training loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    trained = training_findings(history, training, task)
    verdicts += trained.verdicts
    findings += trained.findings
    numbers.update(trained.numbers)
    verdicts = [v for v in ORDER if v in verdicts]
    settings = {**(config or {}), **((training or {}).get("train_config") or {})}
    return Diagnosis(verdicts[0] if verdicts else "healthy", findings, numbers, verdicts, task, settings)


def _memory_findings(memory: dict, task: str, numbers: dict, verdicts: list[str], fits: bool) -> list[str]:
    """The memory sentences, every number read off the one curve (the chart's line, the effective memory of
    :func:`bioseq.interpret.memory.effective_memory`): inputs ``TIME_DISTANCE`` or more positions away keep at most
    ``far`` of the peak influence, which is under 1% exactly when the effective memory is ``TIME_DISTANCE`` or less."""
    infl = np.asarray(memory["influence"], dtype=float)
    dist = np.asarray(memory["distance"], dtype=float)
    far = dist >= TIME_DISTANCE
    span = memory.get("effective_memory")
    numbers["effective_memory"] = span
    if not far.any():
        return []
    frac = float(np.nanmax(infl[far]))
    numbers["far_influence"] = frac
    origin = task_of(task).origin
    where = f"inputs {TIME_DISTANCE}+ positions from {origin}"
    if frac >= TIME_FRACTION:
        reach = f"effective memory {span} positions" if span is not None else "as far as measured"
        return [f"{where} keep up to {frac:.1%} of the peak influence ({reach})"]
    if not fits:
        verdicts.append("vanishing across time")
        return [f"{where} get under {TIME_FRACTION:.0%} of the peak influence (at most {frac:.2%}; effective "
                f"memory {span} positions), and the model does not fit the validation data"]
    if not span:
        return [f"no distance from {origin} keeps {TIME_FRACTION:.0%} of the peak influence in the median sequence: "
                "each sequence's influence sits somewhere else (where its signal is); the model fits the "
                "validation data"]
    used = memory.get("words") or f"the {task_of(task).nearest} ~{span} positions"
    return [f"the model uses only {used} (effective memory {span} positions; inputs {TIME_DISTANCE}+ positions "
            f"away get at most {frac:.2%} of the peak influence); it fits the validation data, so the signal is "
            f"probably near {origin}"]


def memory_summary(curve, alphabet: str | None = None) -> dict | None:
    """The ``memory`` argument of :func:`diagnose_run` from a :func:`bioseq.interpret.memory.memory_curve`
    table: the relative influence of the strongest direction at each distance (the line the Gradient flow page
    draws), the effective memory read off the same curve (:func:`~bioseq.interpret.memory.effective_memory`) and
    which inputs that is, in the sequence's terms for ``alphabet`` (:func:`~bioseq.interpret.memory.span_words`)."""
    from .memory import effective_memory, reach, span_words

    if curve is None or not len(curve):
        return None
    strongest = reach(curve)
    return {"distance": strongest["distance"].tolist(), "influence": strongest["relative"].tolist(),
            "effective_memory": effective_memory(curve), "words": span_words(curve, alphabet)}


def diagnose_model(bundle, ids: list[str], seqs: list[str], grad_rows: list[dict], history: list[dict],
                   max_records: int = 128) -> Diagnosis:
    """:func:`diagnose_run` plus a memory curve measured on up to ``max_records`` sequences (per position for a
    labeller), and the training facts of the model file (``bundle.meta["training"]``)."""
    from ..data.io import Record
    from .memory import memory_curve

    task = getattr(bundle, "task", "classify")
    records = [Record(i, i, s, "validation data", n)  # the first max_records only: the data may be large
               for n, (i, s) in enumerate(zip(ids[:max_records], seqs[:max_records]), 1)]
    return diagnose_run(grad_rows, history,
                        memory_summary(memory_curve(bundle, records), bundle.alphabet.name) if records else None,
                        (bundle.meta or {}).get("training"), task, bundle.model.cfg.to_dict())
