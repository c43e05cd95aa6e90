"""Where bioseq keeps its files, what they may be called, and how they are written.

The workspace is the folder ``$BIOSEQ_HOME`` (default ``~/.bioseq``):

* ``models/<name>.safetensors`` — model files (:mod:`bioseq.model.store`);
* ``runs/<name>/`` — run folders (:mod:`bioseq.training.runs`);
* ``uploads/<digest>/`` — files uploaded in the dashboard (:mod:`bioseq.app.uploads`).
* ``cache/<key>.bsq`` — encoded training data, memory-mapped (:mod:`bioseq.data.cache`); safe to delete.

A name being trained is held by its run folder's lock (``runs/<name>/.lock``, :func:`lock_folder`, taken by
:mod:`bioseq.training.claims`); renaming or deleting a model or run holds the same lock (:func:`holding`), so
neither happens to a name that is being trained, and no training starts on a name while it is renamed.

Every file bioseq writes goes through :func:`atomic_write` (:func:`bioseq.outputs.write_output`): a
temporary file in the same folder, renamed over the target at the end, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import InputError, ModelFileError
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


LOCK = ".lock"  # the lock file of a run folder


class Locked(Exception):
    """The folder's lock is held by another process (``pid``, as it wrote it, or ``?``)."""

    def __init__(self, pid: str):
        super().__init__(pid)
        self.pid = pid


def lock_folder(folder: str | os.PathLike) -> int:
    """An open descriptor holding ``folder/.lock`` exclusively (``flock``; the file holds this process id);
    :class:`Locked` when another process holds it, :class:`OSError` when it cannot be opened. The kernel drops
    the lock when the process ends, even by ``kill -9``."""
    import fcntl

    path = Path(folder) / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise Locked(pid) from None
        try:  # the holder before us may have removed the file after we opened it: lock the file that is there
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            return fd
        os.close(fd)


def unlock_folder(folder: str | os.PathLike, fd: int) -> None:
    """Drop a lock of :func:`lock_folder`: the lock file goes first, while still held."""
    try:
        (Path(folder) / LOCK).unlink(missing_ok=True)
    finally:
        os.close(fd)


def busy_message(name: str, pid: str) -> str:
    return f"{name!r} is being trained right now (process {pid}); wait for it to finish"


@contextlib.contextmanager
def holding(*names: str) -> Iterator[dict[str, Path]]:
    """Hold the workspace names ``names`` (their run folders' locks, folders made for it removed after) while
    a model or run is renamed or deleted; :class:`InputError` when one is being trained. Yields each name's
    run folder."""
    held: list[tuple[Path, int, tuple[Path, ...]]] = []
    try:
        for name in dict.fromkeys(names):
            folder = runs_dir() / check_name(name)
            made = tuple(p for p in (folder, *folder.parents) if not p.exists())
            try:
                folder.mkdir(parents=True, exist_ok=True)
                held.append((folder, lock_folder(folder), made))
            except Locked as e:
                raise InputError(busy_message(name, e.pid)) from None
            except OSError as e:
                raise InputError(f"cannot lock the run folder ({e.strerror})", str(folder)) from None
        yield {name: runs_dir() / name for name in names}
    finally:
        for folder, fd, made in reversed(held):
            unlock_folder(folder, fd)
            for p in made:
                try:
                    p.rmdir()  # only if empty: nothing was written there
                except OSError:
                    break
