""""Train again with these options": the Train form's values from a run's or a model's saved options, and its
data when they are still in the workspace. Nothing starts: the form is filled in, the user presses Start."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..data.source import DataSource
from ..task import task_of
from . import train_form
from .uploads import source_of_files


@dataclass
class Again:
    """What fills the form: ``values`` (every form field), ``notes`` on saved options left out, ``source``
    (the data it trained on, or ``None`` when they are gone) and ``origin`` in words (``run NAME``)."""

    origin: str
    values: dict
    notes: list[str] = field(default_factory=list)
    source: DataSource | None = None
    alphabet: str | None = None
    task: str = "classify"

    def message(self) -> str:
        data = (f"its data ({self.source.name}) loaded" if self.source is not None else
                "its data are no longer in the workspace, so the dataset loaded now is kept")
        text = f"Filled in with the options of {self.origin}; {data}. Nothing starts until you press Start training."
        return text + "".join(f" Note: {n}." for n in self.notes)


def _source(train, labels=None, class_map=None) -> DataSource | None:
    found = source_of_files([str(p) for p in train or []], labels) if train else None
    return replace(found, class_map=class_map) if found is not None and class_map else found


def from_run(info: dict) -> Again:
    """The saved options of a run (its ``run.json``: ``model_config``, ``train_config``, ``data``)."""
    model, data = info.get("model_config") or {}, info.get("data") or {}
    alphabet = (info.get("summary") or {}).get("alphabet") or data.get("alphabet")
    task = task_of(model).name
    values, notes = train_form.saved_values(model, info.get("train_config"), data, alphabet=alphabet, task=task)
    return Again(f"run {info.get('name')}", values, notes, _source(data.get("train"), data.get("labels"),
                                                                   data.get("class_map")), alphabet, task)


def from_model(meta: dict) -> Again:
    """The saved options of a model file (its ``config``, ``training.train_config`` and length policy)."""
    training, length = meta.get("training") or {}, meta.get("length") or {}
    data = {"max_length": length.get("max_length"), "length_policy": length.get("policy")} if length else {}
    data = {k: v for k, v in data.items() if v is not None or k == "max_length"}
    alphabet = (meta.get("alphabet") or {}).get("name")
    task = task_of(meta).name
    values, notes = train_form.saved_values(meta.get("config"), training.get("train_config"), data,
                                            alphabet=alphabet, task=task)
    files = [Path(f["path"]) for f in training.get("files") or [] if f.get("role") == "train" and f.get("path")]
    return Again(f"model {meta.get('name')}", values, notes, _source(files, training.get("labels"),
                                                                     training.get("class_map")), alphabet, task)
