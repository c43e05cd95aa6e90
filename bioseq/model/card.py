"""A model in a few words: its architecture (:func:`describe_config`, :func:`describe_model`), the short ``repr``
of a loaded model or a training result, and its model card as HTML for a notebook (``_repr_html_``).

Both read the model's metadata (:attr:`ModelBundle.meta <bioseq.model.store.ModelBundle>`) and its
:class:`~bioseq.task.Task`: what the model is called (``classifier``/``labeller``), what it tells apart
(``classes``/``labels``), and its validation figures (the Task's ``headline`` metrics; its ``figure`` in the
short line). Nothing else: no validation set, no gradient records.
"""

from __future__ import annotations

import html
import math

from ..task import task_of
from . import bundled, cells


def _architecture(bundle) -> str:
    meta = bundle.meta or {}
    return describe_model(meta) if meta.get("config") else describe_config(bundle.model.cfg.to_dict())


def describe_config(cfg: dict) -> str:
    """A short architecture string, e.g. ``conv64/9 -> 2x BiLSTM 64 [batch, skip] -> max``."""
    spec = cells.CELLS.get(cfg.get("cell"))  # metadata of any file: an unknown cell reads "?"
    cell = spec.describe(cfg) if spec is not None else "?"
    parts = []
    if cfg.get("encoding", "onehot") != "onehot":
        parts.append(str(cfg.get("encoding")) + (f"{cfg.get('kmer')}/{cfg.get('embed_size')}" if cfg.get(
            "encoding") == "kmer" else f"/{cfg.get('embed_size')}" if cfg.get("encoding") == "embedding" else ""))
    if cfg.get("conv"):
        parts.append(f"conv{cfg.get('conv_filters')}/{cfg.get('conv_width')} pool{cfg.get('conv_pool')}")
    extras = [x for x in (cfg.get("norm") if cfg.get("norm") != "none" else None,
                          "skip" if cfg.get("skip") else None) if x]
    parts.append(f"{cfg.get('layers')}x {'Bi' if cfg.get('bidirectional') else ''}{cell} {cfg.get('hidden')}"
                 + (f" [{', '.join(extras)}]" if extras else ""))
    parts.append("per position" if task_of(cfg).per_position else str(cfg.get("pooling")))
    strand = cfg.get("strand", "forward")
    return " -> ".join(parts) + (f" (strands: {strand})" if strand != "forward" else "")


def describe_model(meta: dict) -> str:
    """:func:`describe_config` of a model file's metadata; an ensemble as ``ensemble of N: …``."""
    members = (meta.get("ensemble") or {}).get("members") or []
    if len(members) < 2:
        return describe_config(meta.get("config") or {})
    shown = list(dict.fromkeys(describe_config(c) for c in members))
    return f"ensemble of {len(members)}: " + ("; ".join(shown) if len(shown) > 1 else f"{len(members)}x {shown[0]}")

def _figure(value) -> str:
    return "nan" if isinstance(value, float) and math.isnan(value) else f"{value:.3f}"


def _validation(bundle, metrics: dict | None = None) -> list[tuple[str, float]]:
    metrics = metrics if metrics is not None else ((bundle.meta or {}).get("training") or {}).get("val_metrics") or {}
    return [(k, metrics[k]) for k in task_of(bundle).headline if isinstance(metrics.get(k), int | float)]


def short(bundle, metrics: dict | None = None, what: str = "model") -> str:
    """One line: ``<bioseq model 'dna': classifier, conv64/9 pool2 -> 1x BiLSTM 64 -> max; classes background,
    motif; validation accuracy 0.997>``; ``metrics`` (default: the model file's validation metrics)."""
    task = task_of(bundle)
    figures = dict(_validation(bundle, metrics))
    head = f"; validation {task.figure} {_figure(figures[task.figure])}" if task.figure in figures else ""
    return (f"<bioseq {what} {bundle.name!r}: {task.noun}, {_architecture(bundle)}; {task.words} "
            f"{', '.join(map(str, bundle.classes))}{head}>")


def card_html(bundle, metrics: dict | None = None, extra: dict | None = None) -> str:
    """The model card as an HTML table: name, task, architecture, alphabet, classes or labels, length, what it
    was trained on, the validation figures; ``extra`` rows (e.g. where a result was saved) after them."""
    meta = bundle.meta or {}
    task = task_of(bundle)
    training = meta.get("training") or {}
    rows = {"name": bundle.name, "task": f"{task.noun} (one {task.word} per {task.unit.rstrip('s')})",
            "architecture": _architecture(bundle), "alphabet": bundle.alphabet.name,
            task.words: ", ".join(map(str, bundle.classes)),
            "length": f"max {bundle.max_length or 'none'}, keep {bundle.length_policy}"}
    if training.get("counts"):
        rows["trained on"] = f"{task.counted(training['counts'])} ({task.unit} per {task.word})"
    figures = _validation(bundle, metrics)
    if figures:
        rows["validation"] = "  ".join(f"{k} {_figure(v)}" for k, v in figures)
    rows.update(bundled.card_rows(meta))
    rows.update(extra or {})
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                   f"{html.escape(str(v))}</td></tr>" for k, v in rows.items())
    return f"<table class='bioseq-card'>{body}</table>"
