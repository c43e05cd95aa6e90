"""Self-describing model files and the workspace registry.

A model file is a safetensors file: the weights as tensors, and one JSON metadata entry
``bioseq`` with the format version, model config, alphabet and its ambiguity rule, class names,
length policy, training summary (data files with SHA-256, counts, metrics, history), versions,
seed and creation time. Loading never unpickles anything.

Every file written now has a top-level ``task`` (``classify`` or ``label``). A labeller (format version 2)
also has ``labelling``: ``{"labels": [...], "ignore_label": "-" or null, "mask": true/false}`` (the label
alphabet, the label character never scored, and whether a mask file marked unscored positions); its
``classes`` are the labels. Classification files stay format version 1 with the config as before (no
``task`` key in it), so they read as they always did; files without ``task`` are classifiers.

Models live in the workspace (:mod:`bioseq.workspace`), in
``models/<name>.safetensors``. The registry is the folder itself:
every model file describes itself, so there is no index to corrupt. Saves are atomic. A model is added
(:func:`register_model`), renamed (:func:`rename_model`: the name inside the file too) or deleted
(:func:`delete_model`) atomically, never over another model without ``overwrite``, never while its name is
being trained.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..data.alphabets import Alphabet
from ..errors import ModelFileError, shown
from ..task import task_of
from ..version import __version__
from ..workspace import NAME_RE, atomic_write, check_name, holding, models_dir, workspace
from . import bundled, ensemble, filecheck
from .card import card_html, describe_model, short
from .classifier import ModelConfig, SequenceClassifier

FORMAT = "bioseq-model"
FORMAT_VERSION = 3  # 2: labellers (task "label"); 3: ensembles; single classifiers are still written as version 1
ENSEMBLE_VERSION = 3
SUFFIX = ".safetensors"


def versions() -> dict:
    import Bio

    return {"bioseq": __version__, "torch": torch.__version__, "biopython": Bio.__version__,
            "python": platform.python_version()}


@dataclass
class ModelBundle:
    """A loaded model with everything needed to use it."""

    model: SequenceClassifier
    alphabet: Alphabet
    classes: list[str]
    max_length: int | None = None
    length_policy: str = "start"
    meta: dict = field(default_factory=dict)
    path: str = ""

    @property
    def task(self) -> str:
        """``classify`` (one label per sequence) or ``label`` (one label per position)."""
        return self.model.cfg.task

    @property
    def labelling(self) -> dict:
        """For a labeller: ``labels``, ``ignore_label`` and ``mask`` (see the module docstring); else ``{}``."""
        if not task_of(self).per_position:
            return {}
        return {"labels": list(self.classes), "ignore_label": None, "mask": False, **self.meta.get("labelling", {})}

    @property
    def name(self) -> str:
        return self.meta.get("name") or Path(self.path).name.removesuffix(SUFFIX)

    @property
    def size(self) -> int:
        """How many networks the model averages (1 for a single model)."""
        return len(ensemble.members(self.model))

    def __repr__(self) -> str:
        return short(self)

    def _repr_html_(self) -> str:
        return card_html(self)

    def member(self, i: int) -> ModelBundle:
        """Member ``i`` (0-based) of an ensemble as a bundle of its own (a single model: itself, for 0)."""
        nets = ensemble.members(self.model)
        if not 0 <= i < len(nets):
            raise IndexError(f"{self.name} has {len(nets)} member(s); there is no member {i + 1}")
        return ModelBundle(nets[i], self.alphabet, self.classes, self.max_length, self.length_policy,
                           {**self.meta, "member": i + 1}, self.path)


def combine(bundles: Sequence[ModelBundle], origin: str = "seeds") -> ModelBundle:
    """One ensemble :class:`ModelBundle` (:class:`~bioseq.model.ensemble.Ensemble`) from single-model bundles
    that share the alphabet, classes, task and length policy (raises ``ValueError`` naming what differs)."""
    first = bundles[0]
    for i, b in enumerate(bundles[1:], 2):
        for key in ("classes", "max_length", "length_policy"):
            if getattr(b, key) != getattr(first, key):
                raise ValueError(f"member {i} disagrees with member 1 on {key}")
        if b.alphabet.name != first.alphabet.name:
            raise ValueError(f"member {i} reads {b.alphabet.name}, member 1 {first.alphabet.name}")
    nets = [n for b in bundles for n in ensemble.members(b.model)]
    histories = [(b.meta.get("training") or {}).get("history") or [] for b in bundles]
    kept = {"member_histories": histories} if all(histories) and len(nets) == len(bundles) else {}
    meta = {**first.meta, "ensemble": {"origin": origin, "member_names": [b.name for b in bundles], **kept}}
    return ModelBundle(ensemble.Ensemble(nets).eval(), first.alphabet, first.classes, first.max_length,
                       first.length_policy, meta)


def save_model(path: str | os.PathLike, bundle: ModelBundle) -> Path:
    """Write the model file atomically and return its path; :class:`ModelFileError` (nothing written) when
    its metadata is over the format's limit (:data:`MAX_HEADER`)."""
    path = Path(path)
    meta = file_meta(bundle, path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in bundle.model.state_dict().items()}
    check_header(header_bytes(meta, tensors), path)
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"bioseq": json.dumps(meta)}))
    bundle.meta, bundle.path = meta, str(path)
    return path


def file_meta(bundle: ModelBundle, path: str | os.PathLike) -> dict:
    """The metadata :func:`save_model` writes for ``bundle`` at ``path``."""
    meta = dict(bundle.meta)
    configs = [_file_config(c) for c in ensemble.members_configs(bundle.model)]
    config = configs[0]
    labeller = task_of(bundle).per_position
    if labeller:
        meta["labelling"] = bundle.labelling
    if len(configs) > 1:
        meta["ensemble"] = {**meta.get("ensemble", {}), "members": configs}
    else:
        meta.pop("ensemble", None)
    version = ENSEMBLE_VERSION if len(configs) > 1 else 2 if labeller else 1
    meta.update({
        "format": FORMAT, "format_version": version, "task": bundle.task,
        "name": meta.get("name") or Path(path).name.removesuffix(SUFFIX),
        "config": config, "alphabet": bundle.alphabet.to_dict(),
        "classes": list(bundle.classes),
        "length": {"max_length": bundle.max_length, "policy": bundle.length_policy},
        "versions": versions(),
    })
    meta.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    return meta


# safetensors (0.8.0) refuses to write or read a file whose header, the JSON of the tensors' names, shapes
# and offsets and of the metadata, padded to 8 bytes, is over 100,000,000 bytes (measured: 100,000,000 is
# written, 100,000,008 is "header too large")
MAX_HEADER = 100_000_000
# safetensors' names of the dtypes, and their order in its Dtype enum (it writes the largest first, then by name)
_DTYPES = {torch.bool: ("BOOL", 0), torch.uint8: ("U8", 4), torch.float16: ("F16", 11), torch.bfloat16: ("BF16", 12),
           torch.int32: ("I32", 13), torch.float32: ("F32", 15), torch.float64: ("F64", 17), torch.int64: ("I64", 18)}


def header_bytes(meta: dict, tensors: dict, extra: int = 0) -> int:
    """The size of the safetensors header of a model file with ``meta`` and ``tensors`` (any device, ``meta``
    too), plus ``extra`` bytes of metadata not in ``meta`` yet."""
    entries, offset = {}, 0
    for k in sorted(tensors, key=lambda k: (-_DTYPES.get(tensors[k].dtype, ("F32", 15))[1], k)):
        v = tensors[k]
        size = v.numel() * v.element_size()
        dtype = _DTYPES.get(v.dtype, ("F32", 15))[0]
        entries[k] = {"dtype": dtype, "shape": list(v.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps({"__metadata__": {"bioseq": json.dumps(meta)}, **entries}, separators=(",", ":"),
                      ensure_ascii=False)
    n = len(text.encode()) + extra
    return n + (-n % 8)


def check_header(size: int, path: str | os.PathLike) -> None:
    """:class:`ModelFileError` when a header of ``size`` bytes is over the format's limit."""
    if size > MAX_HEADER:
        raise ModelFileError(f"{path}: the model file's metadata would be {size / 1e6:,.0f} MB; safetensors "
                             f"allows at most {MAX_HEADER / 1e6:,.0f} MB (the confusion matrix grows with the "
                             "square of the number of classes: merge or drop classes with --class-map)")


def check_writable(path: str | os.PathLike) -> None:
    """:class:`ModelFileError` unless a model file can be written at ``path``: not a folder, and its folder (or
    the nearest one that exists, where the rest will be made) takes a new file (tried, then removed)."""
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder; give the model file's path")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(20, "Not a directory")
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot save the model there ({e.strerror or e}: {folder})") from None


def _file_config(cfg: ModelConfig) -> dict:
    """A config as the file stores it: a classifier's ``task``, a forward ``strand`` and a one-hot ``encoding``
    (with its unused sizes) are left out, so such files stay readable by earlier versions."""
    config = cfg.to_dict()
    if config["task"] == "classify":
        del config["task"]
    if config.get("strand") == "forward":
        del config["strand"]
    if config.get("encoding") == "onehot":
        for key in ("encoding", "embed_size", "kmer"):
            del config[key]
    return config


def read_meta(path: str | os.PathLike) -> dict:
    """The model file's metadata, checked field by field and against the weights in the file
    (:func:`bioseq.model.filecheck.check`); raises :class:`ModelFileError` for anything else."""
    return _read(path)[0]


def _read(path: str | os.PathLike) -> tuple[dict, filecheck.Checked]:
    """The metadata of a model file and its checked parts; the one check of every loader."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{path}: no such model file" if not p.exists() else f"{path}: is not a file")
    try:
        with safe_open(str(p), framework="pt") as f:
            raw = (f.metadata() or {}).get("bioseq")
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # the header only: no tensor data
    except Exception:  # noqa: BLE001 - any parse failure means "not a model file"
        raise ModelFileError(f"{path}: not a bioseq model file (not a readable safetensors file)") from None
    if raw is None:
        raise ModelFileError(f"{path}: not a bioseq model file (no bioseq metadata)")
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError):
        raise ModelFileError(f"{path}: damaged bioseq model file (metadata is not valid JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a bioseq model file (format is {shown(meta.get('format'))})"
                             if isinstance(meta, dict) else f"{path}: damaged bioseq model file")
    version = meta.get("format_version")
    if type(version) is not int or version < 1:
        raise ModelFileError(f"{path}: damaged bioseq model file: format_version must be a whole number from 1 "
                             f"up, not {shown(version)}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path}: model file format version {version} is newer than this bioseq "
                             f"understands ({FORMAT_VERSION}); upgrade bioseq")
    try:
        return meta, filecheck.check(meta, shapes)
    except filecheck.Disagrees as e:
        raise ModelFileError(f"{path}: damaged bioseq model file: metadata disagrees with weights "
                             f"({_first_line(e)})") from None
    except Exception as e:  # noqa: BLE001 - whatever the metadata holds, one line naming the file and field
        raise ModelFileError(f"{path}: damaged bioseq model file: {_first_line(e)}") from None


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> ModelBundle:
    """Load and validate a model file: metadata, config and weights must agree (checked before anything is
    built, :func:`bioseq.model.filecheck.check`)."""
    meta, checked = _read(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            state = {k: f.get_tensor(k) for k in f.keys()}
        model = ensemble.build(checked.configs)
        model.load_state_dict(state, strict=True)
    except Exception as e:  # noqa: BLE001
        raise ModelFileError(f"{path}: damaged bioseq model file: metadata disagrees with weights "
                             f"({_first_line(e)})") from None
    model.to(device).eval()
    return ModelBundle(model, checked.alphabet, checked.classes, checked.max_length, checked.policy, meta,
                       str(path))


def model_path(name: str) -> Path:
    """The registry path of model ``name``: the path of every model saved, renamed or deleted by name, so a
    bundled model's name is refused here (:func:`bioseq.model.bundled.read_only`)."""
    if bundled.is_bundled(check_name(name)):
        raise bundled.read_only(name)
    return models_dir() / f"{name}{SUFFIX}"


def resolve(name_or_path: str) -> Path:
    """A model path from a file path, a bundled model's name (:mod:`bioseq.model.bundled`) or a registry name."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    if bundled.is_bundled(name_or_path):
        return bundled.path(name_or_path)
    if NAME_RE.fullmatch(name_or_path):
        reg = models_dir() / f"{name_or_path.removesuffix(SUFFIX)}{SUFFIX}"
        if reg.is_file():
            return reg
    raise ModelFileError(f"{name_or_path}: no such model file or registry name (workspace {workspace()})")


def list_models(include_bundled: bool = False) -> list[dict]:
    """One summary per readable model in the registry, newest first; damaged files are marked. With
    ``include_bundled``, the bundled models follow (each row then says ``bundled`` true or false), and a registry
    file with a bundled model's name is marked as hidden by it."""
    folder = models_dir()
    out = sorted(_summaries(sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []),
                 key=lambda r: r.get("created") or "", reverse=True)
    if not include_bundled:
        return out
    for r in out:
        if bundled.is_bundled(r["name"]):
            r["error"] = (f"{r['path']}: has the name of a bundled model, which takes that name's place; load this "
                          "file by its path, or save it under another name")
    return [{**r, "bundled": False} for r in out] + [{**r, "bundled": True} for r in
                                                      _summaries([bundled.path(n) for n in bundled.names()])]


def _summaries(paths: Sequence[Path]) -> list[dict]:
    out = []
    for p in paths:
        try:
            m = read_meta(p)
        except ModelFileError as e:
            out.append({"name": p.name.removesuffix(SUFFIX), "path": str(p), "error": str(e)})
            continue
        cfg, val = m.get("config", {}), (m.get("training") or {}).get("val_metrics", {})
        out.append({
            "name": m.get("name", p.stem), "path": str(p), "cell": cfg.get("cell"),
            "task": m.get("task", "classify"),
            "architecture": describe_model(m), "alphabet": m.get("alphabet", {}).get("name"),
            "classes": m.get("classes"), "val_accuracy": val.get("accuracy"), "val_auroc": val.get("auroc"),
            "val_mcc": val.get("mcc"), "created": m.get("created"),
        })
    return out


def register_model(src: str | os.PathLike, name: str, *, overwrite: bool = False) -> Path:
    """Copy the model file ``src`` into the registry as model ``name`` (the name inside the file becomes
    ``name``), atomically; a model of that name is refused unless ``overwrite``, and so is a name being
    trained (:func:`bioseq.workspace.holding`). Returns the registry path."""
    check_name(name)
    with holding(name):
        return _register(src, name, overwrite)


def rename_model(old: str, new: str, *, overwrite: bool = False) -> Path:
    """Rename registry model ``old`` to ``new`` (file and the name inside it), atomically: the new file is
    whole before the old one goes. A taken ``new`` is refused unless ``overwrite``; so is either name while it
    is being trained. Returns the new path."""
    src, _ = model_path(old), check_name(new)
    with holding(old, new):
        if not src.is_file():
            raise ModelFileError(f"{old}: no such model in the registry")
        if new == old:
            return src
        target = _register(src, new, overwrite)
        src.unlink()
    return target


def delete_model(name: str) -> None:
    """Delete registry model ``name``; refused while a model of that name is being trained."""
    p = model_path(name)
    with holding(name):
        if not p.is_file():
            raise ModelFileError(f"{name}: no such model in the registry")
        p.unlink()


def _register(src: str | os.PathLike, name: str, overwrite: bool) -> Path:
    target = model_path(name)
    if target.exists() and not overwrite:
        raise ModelFileError(f"{name}: a model called {name!r} is already in the registry; choose another name")
    meta = {**read_meta(src), "name": name}
    with safe_open(str(src), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda tmp: save_file(tensors, tmp, metadata={"bioseq": json.dumps(meta)}))
    return target
