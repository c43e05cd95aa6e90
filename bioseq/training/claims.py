"""One claim per run or study name, shared by ``bioseq train``, ``bioseq tune``, the dashboard and
:func:`bioseq.train`.

:func:`claim` takes the run folder for this process: it holds an exclusive lock (``flock``) on
``<folder>/.lock`` for as long as the run lasts, so a second training or study of the same name at the
same time is refused at once, in one line, whoever started it; the kernel drops the lock when the
process ends, even by ``kill -9``, so no stale lock is ever left to clear. Holding the lock, it checks
that the name is free: no model file at the model path and no earlier run or study in the folder,
unless ``overwrite`` (start again, replacing them at the end) or ``resume`` (continue what is there,
which must then exist). :meth:`Claim.release` drops the lock and removes the folders the claim made if
nothing was written in them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..workspace import Locked, lock_folder, unlock_folder

MARKERS = ("run.json", "study.db", "tune.json")  # files that show the folder holds a run or a study


class NameTaken(InputError):
    """A name in use; :meth:`dashboard` says what to do in the dashboard's words."""

    def __init__(self, message: str, dashboard: str | None = None):
        super().__init__(message)
        self._dashboard = dashboard or message

    def dashboard(self) -> str:
        return self._dashboard


@dataclass
class Claim:
    """A held claim on ``name``: the run ``folder`` (locked) and the ``model`` path it will write."""

    name: str
    folder: Path
    model: Path | None
    fd: int | None
    made: tuple[Path, ...] = ()  # the folders the claim created, deepest first

    def release(self) -> None:
        """Drop the lock (the lock file goes first, while still held), once."""
        if self.fd is None:
            return
        try:
            unlock_folder(self.folder, self.fd)
        finally:
            self.fd = None
        for folder in self.made:
            try:
                folder.rmdir()  # only if empty: nothing was written there
            except OSError:
                break

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _lock(folder: Path, name: str) -> int:
    """An open descriptor holding ``folder/.lock`` exclusively; :class:`NameTaken` if another holds it."""
    try:
        return lock_folder(folder)
    except Locked as e:
        raise NameTaken(f"a run or study called {name!r} already exists and is being trained right now (process "
                        f"{e.pid}, {folder}); wait for it to finish, or choose another name") from None
    except OSError as e:
        raise InputError(f"cannot write the run folder ({e.strerror})", str(folder)) from None


def claim(name: str, folder: str | os.PathLike, model: str | os.PathLike | None = None, *,
          overwrite: bool = False, resume: bool = False, resume_from: str | os.PathLike | None = None,
          kind: str = "run", rename: str = "--name", resumable: bool = True) -> Claim:
    """Claim ``name``: lock ``folder`` for this process and check the name is free (see the module docstring).

    ``resume_from`` is the file a resume continues (a checkpoint, a study database): it must exist.
    ``kind`` (``run`` or ``study``) and ``rename`` (the option that picks another name) word the refusals;
    a study has no ``overwrite``, and a run that cannot be continued (``resumable`` False: a cross-validation)
    is not offered ``--resume``.
    """
    if resume and overwrite:
        raise InputError("--resume continues a run and --overwrite starts it again: give one of them")
    folder = Path(folder)
    model = Path(model) if model is not None else None
    made = tuple(p for p in (folder, *folder.parents) if not p.exists())
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the run folder ({e.strerror})", str(folder)) from None
    held = Claim(name, folder, model, _lock(folder, name), made)
    try:
        _check_free(held, overwrite, resume, resume_from, kind, rename, resumable)
    except BaseException:
        held.release()
        raise
    return held


def _check_free(c: Claim, overwrite: bool, resume: bool, resume_from, kind: str, rename: str,
                resumable: bool = True) -> None:
    if resume:
        if resume_from is not None and not Path(resume_from).exists():
            what = "study" if kind == "study" else "run"
            raise InputError(f"nothing to resume: no {what} {c.name!r} with {Path(resume_from).name} in {c.folder}"
                             + (" (that run ended before its first epoch)" if (c.folder / "run.json").exists()
                                else "") + "; start it without --resume")
        return
    taken = [str(c.folder / m) for m in MARKERS if (c.folder / m).exists()]
    if c.model is not None and c.model.exists() and not c.model.is_dir():  # a folder: the save check says so
        taken.insert(0, str(c.model))
    if not taken or overwrite:
        return
    if kind == "study":
        study = [t for t in taken if t.endswith(MARKERS[1:])]
        if study:
            raise NameTaken(f"study {c.name!r} already exists ({study[0]}); add --resume to continue it, or choose "
                            f"another {rename}", f"a study called {c.name!r} already exists; choose another name")
        raise NameTaken(f"a model or run called {c.name!r} already exists ({taken[0]}); choose another {rename}",
                        f"a model or run called {c.name!r} already exists; choose another name")
    raise NameTaken(f"a model or run called {c.name!r} already exists ({taken[0]}); add --overwrite to replace it, "
                    + ("--resume to continue it, " if resumable else "") + f"or choose another {rename}",
                    f"a model or run called {c.name!r} already exists; tick “Replace a model or run of this "
                    "name” to replace it, or choose another name")
