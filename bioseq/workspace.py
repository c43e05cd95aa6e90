"""Where bioseq keeps its files, what they may be called, and how they are written.

The workspace is the folder ``$BIOSEQ_HOME`` (default ``~/.bioseq``):

* ``models/<name>.safetensors`` — model files (:mod:`bioseq.model.store`);
* ``runs/<name>/`` — run folders (:mod:`bioseq.training.runs`);
* ``uploads/<digest>/`` — files uploaded in the dashboard (:mod:`bioseq.app.uploads`).
* ``cache/<key>.bsq`` — encoded training data, memory-mapped (:mod:`bioseq.data.cache`); safe to delete.

Every file bioseq writes goes through :func:`atomic_write` (:func:`bioseq.outputs.write_output`): a
temporary file in the same folder, renamed over the target at the end, so a reader never sees half a file.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from .errors import ModelFileError
from .outputs import write_output

# ASCII letters and digits only; always used with ``fullmatch`` (``$`` would also match before a final newline)
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)


def workspace() -> Path:
    """The workspace folder: ``$BIOSEQ_HOME`` or ``~/.bioseq``."""
    return Path(os.environ.get("BIOSEQ_HOME") or Path.home() / ".bioseq")


def models_dir() -> Path:
    return workspace() / "models"


def runs_dir() -> Path:
    return workspace() / "runs"


def uploads_dir() -> Path:
    return workspace() / "uploads"


def check_name(name: str) -> str:
    """``name`` if it is a valid model or run name (all of it: no newline, NUL or look-alike letter), else
    :class:`ModelFileError`."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ModelFileError(f"invalid model name {name!r}: use letters, digits, '.', '_' or '-' (at most 100)")
    return name


def new_name(cell: str, alphabet: str) -> str:
    """A fresh name such as ``lstm-dna-20261202-101500-3fa2``."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{cell}-{alphabet}-{stamp}-{secrets.token_hex(2)}"


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], inputs=()) -> None:
    """Call ``write(tmp_path)`` and rename the result over ``path`` (never a half-written file); the guard of
    every write (:func:`bioseq.outputs.write_output`: no input overwritten, links followed, special files
    streamed, errors naming ``path``)."""
    write_output(path, write, inputs)
