"""A model file's metadata, checked field by field and against the weights in the same file, before anything
is built from it.

Every field gets a type and range check: a whole number is an ``int`` (never ``"1"``, ``1.0``, ``true`` or
``-5``), a choice is one of its choices, a list or mapping holds what it should. Every size is bounded by the
weights the file actually holds, read from the safetensors header (names and shapes; no tensor data is read):
the config's dimensions (alphabet size, classes, hidden units, conv filters and width) are no larger than the
largest dimension of any tensor, the layers of all members together and the members themselves no more than
the tensors, the class names no more than the largest dimension. Only then is the model built, on PyTorch's
``meta`` device (shapes without memory), and its tensor names and shapes compared with the file's, exactly.
So a hostile file (``layers: 1000000000``) is refused in milliseconds, and loading never allocates more than
the weights the file holds.

:func:`check` is the one check of every loader (:func:`bioseq.model.store.read_meta`, which
:func:`~bioseq.model.store.load_model`, the CLI, the dashboard's model upload, ``bioseq.load`` and ensembles
all go through). It raises ``ValueError`` naming the field (:class:`Disagrees` where the metadata disagrees with the
weights); the caller adds the file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..data.alphabets import Alphabet
from ..data.lengths import LENGTH_POLICIES
from ..errors import shown
from ..task import task_of
from . import ensemble
from .config import TASKS, ModelConfig

MAX_TENSORS = 20_000  # far above any bioseq model (8 bidirectional LSTM layers with batch norm: about 110)
MAX_LENGTH = 10**9  # letters: the largest max_length or training length a file may record

Check = Callable[[str, object], None]


@dataclass
class Checked:
    """What a model file's metadata says, checked: everything :func:`~bioseq.model.store.load_model` needs."""

    configs: list[ModelConfig]
    alphabet: Alphabet
    classes: list[str]
    max_length: int | None
    policy: str


class Disagrees(ValueError):
    """The metadata disagrees with the weights in the file (or with itself)."""


def _fail(field: str, what: str, value) -> None:
    raise ValueError(f"{field} must be {what}, not {shown(value)}")


def whole(lo: int = 0, hi: int | None = None) -> Check:
    def check(field, v):
        if type(v) is not int or v < lo or (hi is not None and v > hi):
            _fail(field, f"a whole number from {lo:,}" + (f" to {hi:,}" if hi is not None else " up"), v)
    return check


def number(lo: float | None = None, finite: bool = True) -> Check:
    def check(field, v):
        if type(v) not in (int, float) or (finite and not math.isfinite(v)) or (lo is not None and not v >= lo):
            _fail(field, "a finite number" if lo is None else f"a finite number of at least {lo:g}", v)
    return check


def text(choices: tuple[str, ...] | None = None) -> Check:
    def check(field, v):
        if not isinstance(v, str):
            _fail(field, "text", v)
        if choices is not None and v not in choices:
            raise ValueError(f"unknown {field} {shown(v)}; choose one of {', '.join(choices)}")
    return check


def flag(field, v) -> None:
    if type(v) is not bool:
        _fail(field, "true or false", v)


def anything(field, v) -> None:
    return None


def optional(inner: Check) -> Check:
    def check(field, v):
        if v is not None:
            inner(field, v)
    return check


def list_of(item: Check, most: int | None = None) -> Check:
    def check(field, v):
        if not isinstance(v, list):
            _fail(field, "a list", v)
        if most is not None and len(v) > most:
            raise ValueError(f"{field} holds {len(v):,} entries; this model file has room for at most {most:,}")
        for i, x in enumerate(v):
            item(f"{field}[{i}]", x)
    return check


def mapping(spec: dict[str, Check] | None = None, values: Check = anything, required: tuple[str, ...] = ()
            ) -> Check:
    """A JSON object: the keys of ``spec`` checked by their check (``required`` ones present), any other key
    by ``values``. Keys are text (JSON's)."""
    spec = spec or {}

    def check(field, v):
        if not isinstance(v, dict):
            _fail(field, "a mapping", v)
        for key in required:
            if key not in v:
                raise ValueError(f"{field}.{key} is missing")
        for key, x in v.items():
            spec.get(key, values)(f"{field}.{key}", x)
    return check


def _split(field, v) -> None:
    """A validation split rule (:mod:`bioseq.data.splits`): what :func:`~bioseq.data.splits.describe_split`
    reads."""
    needs = ("identity",) if isinstance(v, dict) and v.get("method") == "homology" else ()
    needs += ("checked", "identity") if isinstance(v, dict) and "overlap" in v else ()
    mapping({"method": text(), "val_fraction": number(0), "identity": number(0), "clusters": whole(),
             "largest_cluster": whole(), "rounds": whole(), "overlap": whole(), "checked": whole(),
             "tool": optional(text()), "tool_version": optional(text()), "definition": optional(text())},
            required=needs)(field, v)


HISTORY = list_of(mapping({"epoch": whole(), "split": text()}, values=optional(number(finite=False))))  # epochs
TRAINING = mapping({
    "files": list_of(mapping({"path": text(), "sha256": text(), "role": text()}, required=("path", "sha256",
                                                                                           "role"))),
    "labels": optional(text()), "class_map": optional(text()),
    "counts": mapping(values=whole()), "val_counts": mapping(values=whole()),
    "profile": optional(mapping({"length_min": whole(0, MAX_LENGTH), "length_max": whole(0, MAX_LENGTH),
                                 "composition": list_of(number(0)), "composition_cutoff": number(0)},
                                required=("length_min", "length_max", "composition", "composition_cutoff"))),
    "split": optional(_split),
    "leakage": optional(mapping({"method": text(), "identity": optional(number(0)), "count": whole(),
                                 "checked": whole(), "share": number(0), "examples": list_of(mapping()),
                                 "note": text()}, required=("method", "count", "checked", "share"))),
    "train_config": mapping(), "best_epoch": optional(whole()),
    "val_metrics": mapping(values=optional(number(finite=False))),
    "confusion": optional(list_of(list_of(whole()))),
    "history": HISTORY,
    "seconds": number(0), "stopped_early": flag, "interrupted": flag, "run_dir": optional(text()),
})

# top-level fields besides format, format_version, config, ensemble, alphabet, classes, length, labelling
SEED = whole(-2**63, 2**64)
TOP = {"task": text(TASKS), "name": text(), "created": optional(text()), "seed": optional(SEED),
       "versions": mapping(values=text()), "training": optional(TRAINING), "tuning": optional(mapping()),
       "member": anything}

ENSEMBLE = {"origin": text(), "member_names": list_of(text()), "seeds": list_of(SEED),
            "member_val_metrics": list_of(mapping(values=optional(number(finite=False)))),
            "member_histories": list_of(HISTORY)}


def check(meta: dict, shapes: dict[str, tuple[int, ...]]) -> Checked:
    """Check the metadata ``meta`` of a model file whose tensors have ``shapes`` (name -> shape); see the
    module docstring. Returns the parsed parts; raises ``ValueError`` naming the field."""
    count = len(shapes)
    if not count:
        raise Disagrees("the file holds no weights")
    if count > MAX_TENSORS:
        raise Disagrees(f"the file holds {count:,} tensors; a bioseq model holds at most {MAX_TENSORS:,}")
    largest = max((d for s in shapes.values() for d in s), default=1)
    for key, rule in TOP.items():
        if key in meta:
            rule(key, meta[key])
    configs = _configs(meta, count, largest)
    alphabet = Alphabet.from_dict(meta.get("alphabet"))
    classes = _classes(meta.get("classes"), largest)
    task = meta.get("task", "classify")
    first = configs[0]
    if alphabet.size != first.alphabet_size or len(classes) != first.n_classes or task != first.task:
        raise Disagrees(f"alphabet, classes or task disagree with the model config ({alphabet.size} letters, "
                        f"{len(classes)} classes, task {task}; the config says {first.alphabet_size}, "
                         f"{first.n_classes}, {first.task})")
    profile = (meta.get("training") or {}).get("profile")
    if profile and len(profile["composition"]) != alphabet.size:
        raise Disagrees(f"training.profile.composition has {len(profile['composition'])} entries, not one per "
                        f"letter ({alphabet.size})")
    confusion = (meta.get("training") or {}).get("confusion")
    if confusion and (len(confusion) != len(classes) or any(len(row) != len(classes) for row in confusion)):
        raise Disagrees(f"training.confusion must be {len(classes)} rows of {len(classes)} counts")
    if task_of(task).per_position:
        _labelling(meta.get("labelling"), classes)
    length = {} if meta.get("length") is None else meta["length"]
    mapping({"max_length": optional(whole(1, MAX_LENGTH)), "policy": text(LENGTH_POLICIES)})("length", length)
    _compare(configs, shapes)
    return Checked(configs, alphabet, classes, length.get("max_length"), length.get("policy", "start"))


def _configs(meta: dict, count: int, largest: int) -> list[ModelConfig]:
    """The members' configs, each checked by :meth:`ModelConfig.from_dict` and bounded by the weights."""
    if "config" not in meta:
        raise ValueError("config is missing")
    ens = meta.get("ensemble")
    mapping(ENSEMBLE)("ensemble", {} if ens is None else ens)
    members = (ens or {}).get("members")
    if members is None:
        members = [meta["config"]]
    elif not isinstance(members, list) or not 2 <= len(members) <= count:
        raise Disagrees(f"ensemble.members must be a list of 2 to {count} configs (one or more tensors each), "
                        f"not {shown(members) if not isinstance(members, list) else f'{len(members):,} of them'}")
    elif members[0] != meta["config"]:
        raise Disagrees("config disagrees with ensemble.members[0]")
    configs = []
    for i, raw in enumerate(members):
        where = "config" if len(members) == 1 else f"ensemble.members[{i}]"
        try:
            cfg = ModelConfig.from_dict(raw, where)
        except ValueError as e:
            raise ValueError(str(e) if str(e).startswith(where) else f"{where}: {e}") from None
        configs.append(_bounded(cfg, where, count, largest))
    layers = sum(c.layers for c in configs)
    if layers > count:
        raise Disagrees(f"the members’ layers add up to {layers:,}, but the file holds {count:,} tensors (every "
                        "layer has weights)")
    return configs


def _bounded(cfg: ModelConfig, where: str, count: int, largest: int) -> ModelConfig:
    """``cfg`` if each whole-number option is within what the weights allow (see the module docstring)."""
    if cfg.layers > count:
        raise Disagrees(f"{where}.layers is {cfg.layers:,}, but the file holds {count:,} tensors (every layer "
                        "has weights)")
    sizes = cfg.weight_sizes()
    for o in ModelConfig.OPTIONS:
        if o.type is not int or o.name == "layers":
            continue
        value = getattr(cfg, o.name)
        limit = largest if o.name in sizes else max(largest, int(o.max or 0))
        if value > limit:
            raise Disagrees(f"{where}.{o.name} is {value:,}, larger than the weights in the file allow "
                            f"(at most {limit:,}; the largest dimension of any tensor is {largest:,})")
    return cfg


def _classes(classes, largest: int) -> list[str]:
    if not isinstance(classes, list):
        _fail("classes", "a list of class names", classes)
    if not 2 <= len(classes) <= largest:
        raise Disagrees(f"classes holds {len(classes):,} names; the weights allow 2 to {largest:,}")
    for i, c in enumerate(classes):
        if not isinstance(c, str) or not c or not c.isprintable():
            _fail(f"classes[{i}]", "a non-empty name of printable characters", c)
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes names a class twice: {shown(classes)}")
    return list(classes)


def _labelling(labelling, classes: list[str]) -> None:
    """A labeller's ``labelling`` entry (:mod:`bioseq.model.store`): labels the classes, one printable
    character never scored (or none), a mask flag."""
    if labelling is None:
        raise ValueError("labelling is missing (a labeller's file has one)")
    mapping({"labels": list_of(text()), "ignore_label": optional(text()), "mask": flag})("labelling", labelling)
    labels = labelling.get("labels")
    if labels is not None and labels != classes:
        raise Disagrees(f"labelling.labels {shown(labels)} disagree with classes {shown(classes)}")
    ignore = labelling.get("ignore_label")
    if ignore is not None and (len(ignore) != 1 or not ignore.isprintable()):
        _fail("labelling.ignore_label", "one printable character", ignore)


def _compare(configs: list[ModelConfig], shapes: dict[str, tuple[int, ...]]) -> None:
    """Build the model on the ``meta`` device (no memory) and compare its tensors with the file's, exactly."""
    try:
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in ensemble.build(configs).state_dict().items()}
    except ValueError as e:  # members that disagree with each other
        raise Disagrees(str(e)) from None
    if shapes != expected:
        bad = sorted(set(shapes) ^ set(expected)) or [k for k in expected if shapes[k] != expected[k]]
        raise Disagrees(f"weights do not match the config: {', '.join(bad[:3])}")
