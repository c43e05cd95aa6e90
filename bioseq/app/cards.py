"""Model cards: a model file's metadata as a readable two-column table, and its training history.

The input is the metadata dict of :func:`bioseq.store.read_meta` (nothing is unpickled); the
card lists what ``bioseq info`` prints: architecture, alphabet and its ambiguity rule, classes,
length policy, training data with checksums, the validation split rule and the leakage found,
validation metrics, seed, versions and creation time.
"""

from __future__ import annotations

import math

import pandas as pd

from ..data.leakage import describe_leakage
from ..data.splits import describe_split
from ..model import bundled
from ..model.card import describe_model
from ..task import task_of

CARD_METRICS = ("accuracy", "balanced_accuracy", "auroc", "auprc", "mcc", "f1", "sov")


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def model_card(meta: dict) -> pd.DataFrame:
    """Rows ``field, value`` describing one model."""
    t = meta.get("training") or {}
    a = meta.get("alphabet") or {}
    length = meta.get("length") or {}
    rows = [
        ("name", meta.get("name")),
        ("architecture", describe_model(meta)),
        ("alphabet", f"{a.get('name')} ({a.get('letters')}); {a.get('rule', '')}"),
        ("task", TASK_WORDS.get(meta.get("task", "classify"), meta.get("task"))),
        *ensemble_rows(meta),
        *labelling_rows(meta),
        ("classes", ", ".join(meta.get("classes") or [])),
        ("length", f"max {length.get('max_length') or 'none'}, keep the {length.get('policy', 'start')}"),
        ("created", meta.get("created")),
        ("seed", meta.get("seed")),
        ("versions", ", ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items())),
        *bundled.card_rows(meta),
    ]
    if t:
        rows.append(("training records", ", ".join(f"{c}: {n}" for c, n in (t.get("counts") or {}).items())))
        rows.append(("validation records", ", ".join(f"{c}: {n}" for c, n in (t.get("val_counts") or {}).items())))
        rows.append(("validation split", describe_split(t.get("split"))))
        rows.append(("leakage", describe_leakage(t.get("leakage"))))
        rows.append(("best epoch", f"{t.get('best_epoch')} ({t.get('seconds', 0):.0f} s of training"
                     + (", stopped early" if t.get("stopped_early") else "")
                     + (", stopped by the user" if t.get("interrupted") else "") + ")"))
        vm = t.get("val_metrics") or {}
        rows += [(f"validation {k.replace('_', ' ')}", _fmt(vm[k])) for k in CARD_METRICS if k in vm]
        weakest = task_of(meta).weakest(t.get("confusion"), meta.get("classes") or [])
        rows += [("validation worst label", weakest)] if weakest else []
        rows += [(f"{f.get('role')} file", f"{f.get('path')} (sha256 {str(f.get('sha256'))[:16]}…)")
                 for f in t.get("files") or []]
        tc = t.get("train_config") or {}
        if tc:
            rows.append(("training options", ", ".join(f"{k}={v}" for k, v in tc.items())))
    return pd.DataFrame([(k, "" if v is None else str(v)) for k, v in rows], columns=["field", "value"])


TASK_WORDS = {"classify": "classify (one label per sequence)", "label": "label (one label per position)"}


def ignore_rule(labelling: dict) -> str:
    """Which positions a labeller was not scored on, in words."""
    rules = [f"label {labelling['ignore_label']!r} is never scored"] if labelling.get("ignore_label") else []
    if labelling.get("mask"):
        rules.append("a 0/1 mask chose the scored positions")
    return "; ".join(rules) or "every position scored"


def labelling_rows(meta: dict) -> list[tuple[str, str]]:
    """A labeller's label set and ignore rule (none for a classifier)."""
    if meta.get("task") != "label":
        return []
    labelling = meta.get("labelling") or {}
    return [("labels", ", ".join(labelling.get("labels") or meta.get("classes") or [])),
            ("unscored positions", ignore_rule(labelling))]


def ensemble_size(meta: dict) -> int:
    """How many networks the model averages (1 for a single model)."""
    return max(len((meta.get("ensemble") or {}).get("members") or []), 1)


def ensemble_rows(meta: dict) -> list[tuple[str, str]]:
    """An ensemble's members in words: how many, where they came from (seeds, or a study's trials); none for a
    single model."""
    e, size = meta.get("ensemble") or {}, ensemble_size(meta)
    if size < 2:
        return []
    origin = f"seeds {', '.join(map(str, e['seeds']))}" if e.get("seeds") else e.get("origin", "")
    return [("ensemble", f"{size} networks, their probabilities averaged" + (f" ({origin})" if origin else ""))]


def history(meta: dict) -> pd.DataFrame:
    """The per-epoch metrics stored in the model file (``epoch, split, loss, accuracy, ...``); for an ensemble
    whose file records each member's, all of them with a ``run`` column (``member 1``, ``member 2``, ...; the
    fold models of a cross-validation, ``fold 1``, ...)."""
    members = [h for h in (meta.get("ensemble") or {}).get("member_histories") or []]
    word = "fold" if meta.get("cv") else "member"
    if len(members) > 1 and all(members):
        return pd.concat([pd.DataFrame(h).assign(run=f"{word} {i}") for i, h in enumerate(members, 1)],
                         ignore_index=True)
    return pd.DataFrame((meta.get("training") or {}).get("history") or [])


def confusion(meta: dict) -> list[list[int]] | None:
    """The validation confusion matrix (rows true, columns predicted), if the model file has one."""
    return (meta.get("training") or {}).get("confusion")


def notes(meta: dict) -> list[str]:
    """Warnings about the model's validation figures (:func:`bioseq.metrics.metric_notes`)."""
    from ..metrics import metric_notes

    t, task = meta.get("training") or {}, task_of(meta)
    counts = (t.get("val_counts") or t.get("counts") or {}).values()
    return metric_notes(t["val_metrics"], counts, task.unit, task.word) if t.get("val_metrics") else []
