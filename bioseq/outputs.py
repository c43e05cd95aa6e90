"""The one guard for every file bioseq writes: a command's output (``-o``, ``--out``), a model, a run file.

:func:`write_output` (also :func:`bioseq.workspace.atomic_write`) calls ``write(path)`` and puts the file
it wrote at the output path:

* an output that is the same file as an input of the command (same resolved path, or the same inode: a
  hard link) is refused before anything is written (:func:`check_output`), and so is a folder;
* a symbolic link is followed: the file it points to is replaced, the link stays;
* a regular file (or a new path) is written to a temporary file beside it, renamed over it at the end,
  so a reader never sees half a file; a special file (``/dev/null``, a FIFO, a terminal) is never
  replaced: the output is written to a temporary file elsewhere, then copied into it;
* an operating-system error while writing names the output path the user gave (never the temporary
  file) as an :class:`~bioseq.errors.OutputError` (the command line exits with status 2).

Temporary files are called ``.<name>.<pid>.<random>.bioseq.tmp``; torchrun's part files
``.<name>.part-<rank>-of-<N>`` (:mod:`bioseq.prediction.shards`). Their writer holds an exclusive
``flock`` on each until it is renamed or removed, so a file nobody holds was left by a process that no
longer runs (``kill -9``): :func:`clean_stale` removes those from the output's folder on the next write
there, never a file a live process holds (and likewise the temporary folders of outputs streamed to standard
output or a special file, ``bioseq-stream-*`` in the system's temporary folder). Temporary files and folders
of earlier versions (``.<name>.<random>.tmp``, ``bioseq-out-*``, unlocked) are removed once a day old.

:func:`json_text` is the one writer of every ``--json`` output: strict JSON (an undefined figure, NaN or infinite,
is ``null``; numpy numbers and arrays are plain numbers and lists), so any JSON parser reads it.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import OutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no locks, stale files go by age only
    fcntl = None

TMP_SUFFIX = ".bioseq.tmp"
STREAM_PREFIX = "bioseq-stream-"  # temporary folders of outputs streamed to standard output or a special file
OLD_STREAM_PREFIX = "bioseq-out-"  # the same, written by earlier versions (unlocked)
TEMP_RE = re.compile(r"^\..+\.\d+\.[a-z0-9_]{8}" + re.escape(TMP_SUFFIX) + "$")
PART_RE = re.compile(r"^\..+\.part-\d+-of-\d+$")
SAFE_AGE = 24 * 3600  # seconds: a temporary file whose owner cannot be told (no lock) is stale after this
NAME_KEEP = 200  # letters of the output's name kept in a temporary file's name (file names stop at 255)
# errors without a file name that come from writing (an input's read errors name their file)
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def _flat(inputs) -> list[str]:
    """Paths of ``inputs``: a path, ``None``, or (nested) lists of them."""
    if inputs is None:
        return []
    if isinstance(inputs, str | os.PathLike):
        return [os.fspath(inputs)]
    return [p for item in inputs for p in _flat(item)]


def _stat(path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def check_output(out: str | os.PathLike, *inputs) -> Path:
    """The file to write for the output path ``out`` (symbolic links followed); refuses a folder and a file
    that is one of ``inputs`` (paths, or lists of paths: every file the command reads)."""
    try:
        st = _stat(out)  # through links, /dev/stdout's included
    except OSError as e:
        raise output_error(out, e) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{out}: is a folder; give a file name for the output")
    if st is not None and stat.S_ISCHR(st.st_mode):
        return Path(out)  # /dev/null, a terminal: writing there destroys nothing
    target = Path(os.path.realpath(out)) if st is None or stat.S_ISREG(st.st_mode) else Path(out)
    for path in _flat(inputs):
        if path in ("", "-"):
            continue
        try:
            same = os.path.realpath(path) == str(target) or (st is not None and os.path.samestat(st, os.stat(path)))
        except OSError:
            continue  # an input that cannot be read is the reader's error, not the output's
        if same:
            which = "" if os.fspath(out) == path else f" ({path})"
            raise OutputError(f"{out}: is also an input of this command{which}; writing the output there would "
                              "destroy it: choose another output path")
    return target


def write_output(out: str | os.PathLike, write: Callable[[str], None], inputs: Iterable = (), *,
                 make_folder: bool = True, keep: Iterable[str] = ()) -> Path:
    """Call ``write(path)`` and put what it wrote at ``out`` (see the module docstring); the file written.

    ``inputs``: every file the command reads (refused as the output). ``make_folder``: create missing
    folders above ``out`` (the workspace's files); otherwise a missing folder is an error. ``keep``: working
    files that ``write`` reads (part files being merged), never cleaned away.
    """
    target = check_output(out, inputs)
    st = _stat(target)
    if st is not None and not stat.S_ISREG(st.st_mode):  # a device, a FIFO, a socket: written into
        _guarded(out, target, lambda: via_temporary(write, lambda src: _copy_into(src, target)))
    else:
        _guarded(out, target, lambda: _replace(out, target, write, make_folder, keep))
    return target


def check_folder(out: str | os.PathLike) -> None:
    """Refuse an output whose folder does not exist (a command's output path is never a reason to make one)."""
    folder = os.path.dirname(os.path.realpath(out))
    if not os.path.isdir(folder):
        raise OutputError(f"{out}: cannot write the output: No such file or directory (the folder {folder} "
                          "does not exist)")


def via_temporary(write: Callable[[str], None], deliver: Callable[[str], None]) -> None:
    """``write(tmp)`` into a temporary folder outside the output's, then ``deliver(tmp)`` (copy it to a stream).
    The folder (``bioseq-stream-*`` in the system's temporary folder) is removed by the next run if a killed
    process left it."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        age = 0 if name.startswith(STREAM_PREFIX) else SAFE_AGE if name.startswith(OLD_STREAM_PREFIX) else None
        if age is not None and _remove_if_unheld(os.path.join(base, name, "output"), age):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=STREAM_PREFIX) as folder:
        tmp = os.path.join(folder, "output")
        fd = hold(tmp)
        try:
            write(tmp)
            deliver(tmp)
        finally:
            os.close(fd)


def _copy_into(src: str, target: Path) -> None:
    with open(src, "rb") as fh, open(target, "wb") as dst:
        shutil.copyfileobj(fh, dst)


def _replace(out, target: Path, write: Callable[[str], None], make_folder: bool, keep: Iterable[str]) -> None:
    folder = target.parent
    if make_folder:
        folder.mkdir(parents=True, exist_ok=True)
    else:
        check_folder(out)
    clean_stale(folder, target.name, keep)
    fd, tmp = hold_temporary(target)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def _guarded(out, target: Path, step: Callable[[], None]) -> None:
    """Run ``step``; an OS error of the output's own writing becomes an :class:`OutputError` naming ``out``."""
    try:
        step()
    except OutputError:
        raise
    except OSError as e:
        names = [os.fspath(n) for n in (e.filename, e.filename2) if n is not None]
        if not (all(_ours(n, out, target) for n in names) if names else e.errno in WRITE_ERRNOS):
            raise  # an input's error: it names its own file
        raise output_error(out, e) from None


def _ours(name: str, out, target: Path) -> bool:
    """Whether an error's file is the output, its temporary file or a folder above it."""
    return (name in (os.fspath(out), str(target)) or bool(TEMP_RE.match(os.path.basename(name)))
            or os.path.basename(os.path.dirname(name)).startswith(STREAM_PREFIX)
            or target.is_relative_to(os.path.abspath(name)))


def output_error(out, e: OSError) -> OutputError:
    return OutputError(f"{out}: cannot write the output: {e.strerror or e}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def hold_temporary(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target``, locked by this process: ``(fd, path)``. Close ``fd`` when the
    file is renamed or removed."""
    prefix = f".{target.name[:NAME_KEEP]}.{os.getpid()}."
    while True:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=TMP_SUFFIX, dir=target.parent)
        if _lock(fd, tmp):
            return fd, tmp
        os.close(fd)  # removed as stale between its creation and the lock (a microsecond): make another


def hold(path: str | os.PathLike) -> int:
    """Create (or open) ``path`` and lock it for this process: a working file no :func:`clean_stale` removes
    while the returned descriptor is open."""
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
        if _lock(fd, path):
            return fd
        os.close(fd)


def _lock(fd: int, path) -> bool:
    """Lock ``fd`` (waiting for a cleaner that holds it); whether it is still the file at ``path``."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            return True  # a filesystem without locks: stale files then go by age only
    st = _stat(path)
    return st is not None and os.path.samestat(st, os.fstat(fd))


def clean_stale(folder: str | os.PathLike, name: str | None = None, keep: Iterable[str] = ()) -> list[str]:
    """Remove the temporary and part files in ``folder`` that no running process holds (and temporary files
    of earlier versions for the output ``name`` once :data:`SAFE_AGE` old), except those of ``keep``; the
    names removed."""
    removed = []
    kept = {os.path.basename(p) for p in keep}
    legacy = re.compile(r"^\." + re.escape(name) + r"\.[a-z0-9_]{8}\.tmp$") if name else None
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        n = entry.name
        if not n.startswith(".") or n in kept:
            continue
        if TEMP_RE.match(n) or PART_RE.match(n):
            min_age = 0
        elif legacy is not None and legacy.match(n):
            min_age = SAFE_AGE
        else:
            continue
        if _remove_if_unheld(entry.path, min_age):
            removed.append(n)
    return removed


def _remove_if_unheld(path: str, min_age: float) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a live process is writing it
            except OSError:
                min_age = max(min_age, SAFE_AGE)  # no locks here: go by age
        else:
            min_age = max(min_age, SAFE_AGE)
        now = _stat(path)
        if now is None or not os.path.samestat(now, st) or time.time() - st.st_mtime < min_age:
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def json_ready(value):
    """``value`` with NaN and infinities as ``None``, numpy scalars and arrays as Python numbers and lists, tuples
    as lists and paths as text (dict keys as text), for strict JSON."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalar or array
        return json_ready(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def json_text(value, indent: int | None = 1) -> str:
    """``value`` as strict JSON (:func:`json_ready`; ``allow_nan=False``): what every ``--json`` prints."""
    return json.dumps(json_ready(value), indent=indent, allow_nan=False)
