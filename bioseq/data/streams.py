"""Inputs that can be read only once: a FIFO (named pipe), or a process substitution such as ``<(zcat x.fa.gz)``
(``/dev/fd/63``, a pipe). Training reads a file several times (the gzip check, the three-line check, the parse,
the SHA-256 for the model card), and a second read of a pipe finds it drained, or waits for a writer that
never comes. :func:`reopenable` copies such an input, at its first open, into a temporary file that every
later open of the same path in this process reads instead: each input is read once, and every reader
sees the same bytes. Regular files are opened where they are, and so are character devices (``/dev/null``;
``/dev/zero`` is refused as binary by the reader after its first bytes). Messages still name the path as
given.

Every opener of an input file goes through :func:`reopenable`: the sequence reader
(:func:`bioseq.data.io.read_blocks`), the labels table, the file hash and the size check for the cache.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

_COPIES: dict[tuple[int, int], Path] = {}  # (device, inode) of a stream -> its copy
_LOCK = threading.Lock()
_FOLDER: list[Path] = []


def reopenable(path: str | os.PathLike) -> Path:
    """The temporary copy of the pipe ``path`` names, made on the first call; any other ``path`` (a regular
    file, a folder, a device, a missing path: the reader says what is wrong) as it is."""
    p = Path(path)
    try:
        st = os.stat(p)
    except OSError:
        return p
    if not stat.S_ISFIFO(st.st_mode):
        return p
    key = (st.st_dev, st.st_ino)
    with _LOCK:
        if key not in _COPIES:
            _COPIES[key] = _copy(p, len(_COPIES))
        return _COPIES[key]


def _copy(p: Path, number: int) -> Path:
    if not _FOLDER:
        _FOLDER.append(Path(tempfile.mkdtemp(prefix="bioseq-streams-")))
        atexit.register(shutil.rmtree, _FOLDER[0], True)
    dest = _FOLDER[0] / f"{number}-{p.name}"
    with open(p, "rb") as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    return dest
