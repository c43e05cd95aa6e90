"""What a training run's data was, to refuse continuing a run or a study on other data.

:func:`data_files` hashes every file a run reads (once, before training: what the model file records
is then known even if a file is deleted or changed during training). :func:`fingerprint` is those
hashes with the options that decide the records, their labels and the validation split (and the seed,
which draws the split). A run (``run.json``) and a study (``tune.json``) store it; ``--resume`` compares
it with :func:`differences`.
"""

from __future__ import annotations

import os

from ..errors import ref
from .dataset import file_sha256
from .source import DataOptions

# (DataOptions field, role recorded in the model file)
FILE_ROLES = (("train", "train"), ("val", "val"), ("labels_fasta", "labels"), ("mask", "mask"), ("regions", "regions"),
              ("genome", "genome"), ("background_bed", "background"), ("regions_labels", "labels"))
# the options that decide which records, labels and split a run sees
RECORD_OPTIONS = ("class_map", "val_fraction", "split_identity", "alphabet", "max_length", "length_policy",
                  "ignore_label", "bed_label_column", "width", "flank", "background", "val_chroms", "test_chroms")


def data_files(data: DataOptions) -> list[dict]:
    """``{"path", "sha256", "role"}`` per sequence and per-position label file, in order (what a model file
    records as ``training.files``)."""
    return [{"path": os.path.abspath(p), "sha256": file_sha256(p), "role": role}
            for field, role in FILE_ROLES for p in _paths(getattr(data, field))]


def _paths(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def fingerprint(data: DataOptions, files: list[dict], seed: int) -> dict:
    """The data's identity: file contents (by role, in order), the labels table's, the record options, the seed."""
    return {"files": [[f["role"], f["sha256"]] for f in files],
            "labels": file_sha256(data.labels) if data.labels else None,
            "options": {k: getattr(data, k) for k in RECORD_OPTIONS}, "seed": seed}


def differences(before: dict, now: dict) -> list[str]:
    """What differs between two fingerprints, in words (empty when they agree)."""
    out = []
    old_files, new_files = before.get("files") or [], now.get("files") or []
    if [r for r, _ in old_files] != [r for r, _ in new_files]:
        out.append(f"other files ({_count(new_files)}; it used {_count(old_files)})")
    else:
        out += [f"{role} file {i} differs from the one it used (sha256 {new[:12]}…, not {old[:12]}…)"
                for i, ((role, old), (_, new)) in enumerate(zip(old_files, new_files), 1) if old != new]
    if before.get("labels") != now.get("labels"):
        out.append(f"another labels table ({ref('labels')})")
    old_opts, new_opts = before.get("options") or {}, now.get("options") or {}
    out += [f"{_option(k, new_opts.get(k))} (it used {_option(k, old_opts.get(k))})" for k in RECORD_OPTIONS
            if k in old_opts and old_opts.get(k) != new_opts.get(k)]
    if "seed" in before and before["seed"] != now.get("seed"):
        out.append(f"{ref('seed', now.get('seed'))} (it used {before['seed']}; the seed draws the split)")
    return out


def _option(name: str, value) -> str:
    return f"no {ref(name)}" if value is None else ref(name, value)


def _count(files: list) -> str:
    roles = [r for r, _ in files]
    return ", ".join(f"{roles.count(r)} {r}" for r in dict.fromkeys(roles)) or "none"
