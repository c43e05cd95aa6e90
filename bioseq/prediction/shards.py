"""One output file from one process, or from several under ``torchrun``: chunk ``i`` of the input is rank
``i % N``'s, and the merged file is byte for byte the one-process file.

A command cuts its input into chunks in input order (a list of records, or a batch of windows of one long
record) and gives :func:`write_chunks` a ``render(fh, i, chunk) -> count`` that writes chunk ``i``'s text
(the header with chunk 0). Each chunk's text is rendered on its own, then written as UTF-8 bytes.

* One process: every chunk goes into a temporary file beside the output, renamed onto it at the end (or
  copied to standard output), so a bad record never leaves a partial file.
* ``torchrun --nproc-per-node N`` (``WORLD_SIZE`` N > 1): every rank reads the whole input (reading is
  cheap next to the model) but renders only its chunks ``i % N == rank``, into its part file
  ``.OUT.part-<rank>-of-<N>`` beside the output, noting each chunk's byte count. One all-gather (which
  waits for every rank) exchanges the counts; rank 0 copies the chunks from the part files in input
  order into a temporary file renamed onto the output, and every rank removes its part file. Across
  nodes, the output folder must be on a filesystem every node shares.
* Errors: each rank stops at its first failing chunk; every rank raises the error of the lowest failing
  chunk, the one a single process meets first. Rank 0's copy is printed and fails the job; the others'
  are ``quiet``: the command line ends those ranks with status 0, as torchrun stops every rank as soon as
  one fails, which could stop rank 0 before it prints.
* Standard output is refused under torchrun: the ranks need a file to write their parts beside.

The process group is joined here when the caller has not (gloo on CPU, NCCL on CUDA, a day's timeout:
ranks wait for each other only once, at the end) and left again afterwards.
"""

from __future__ import annotations

import datetime
import errno
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from typing import IO, TypeVar

import torch

from ..errors import BioseqError, InputError
from ..training import distributed
from ..workspace import atomic_write

T = TypeVar("T")
Render = Callable[[IO[str], int, T], int]
TIMEOUT = datetime.timedelta(days=1)
COPY_BLOCK = 1 << 20


def render_bytes(render: Render, i: int, chunk) -> tuple[bytes, int]:
    """Chunk ``i`` rendered: its UTF-8 bytes and its count of items."""
    buf = io.StringIO(newline="")
    count = render(buf, i, chunk)
    return buf.getvalue().encode("utf-8"), count


def check_folder(out: str) -> None:
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):  # an output path is never a reason to create folders
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", folder)


def to_output(out: str | None, write: Callable[[str], None]) -> None:
    """Run ``write(tmp)`` and put the file it wrote at ``out`` atomically (``None`` or ``-``: standard output)."""
    if out not in (None, "-"):
        check_folder(out)
        atomic_write(out, write)
        return
    with tempfile.TemporaryDirectory(prefix="bioseq-out-") as folder:
        tmp = os.path.join(folder, "output")
        write(tmp)
        sys.stdout.flush()
        binary = getattr(sys.stdout, "buffer", None)
        with open(tmp, "rb") if binary else open(tmp, newline="", encoding="utf-8") as fh:
            shutil.copyfileobj(fh, binary or sys.stdout)
        (binary or sys.stdout).flush()


def write_chunks(out: str | None, chunks: Iterable[T], render: Render, *, device: torch.device | None = None,
                 progress: Callable[[int], None] | None = None) -> int:
    """Write the rendered chunks to ``out`` (see the module docstring); the total count of items.

    ``progress(n)`` is called after each chunk this process renders, with its own running count.
    """
    if distributed.active():
        return _sharded(out, chunks, render, device or torch.device("cpu"), progress)
    n = 0

    def write(tmp: str) -> None:
        nonlocal n
        with open(tmp, "wb") as fh:
            for i, chunk in enumerate(chunks):
                data, count = render_bytes(render, i, chunk)
                fh.write(data)
                n += count
                if progress:
                    progress(n)

    to_output(out, write)
    return n


def part_path(out: str, rank: int, size: int) -> str:
    folder, name = os.path.split(os.path.abspath(out))
    return os.path.join(folder, f".{name}.part-{rank}-of-{size}")


def write_part(path: str, chunks: Iterable[T], render: Render, rank: int, size: int,
               progress: Callable[[int], None] | None = None) -> dict:
    """Rank ``rank``'s chunks into ``path``: ``{"sizes": bytes per chunk, "count": items, "error": (chunk
    index, message, is a BioseqError) of the first failure or None}``. Never raises for a failing chunk."""
    sizes: list[int] = []
    n, i, error = 0, 0, None
    it = iter(chunks)
    with open(path, "wb") as fh:
        while True:
            try:
                chunk = next(it)
                if i % size == rank:
                    data, count = render_bytes(render, i, chunk)
                    fh.write(data)
                    sizes.append(len(data))
                    n += count
                    if progress:
                        progress(n)
            except StopIteration:
                break
            except Exception as e:  # noqa: BLE001 - handed to every rank, raised there
                error = (i, str(e), isinstance(e, BioseqError))
                break
            i += 1
    return {"sizes": sizes, "count": n, "error": error}


def merge_parts(out: str, parts: list[str], sizes: list[list[int]]) -> None:
    """Copy chunk ``i`` from ``parts[i % N]`` in input order into ``out``, atomically."""
    missing = [p for p in parts if not os.path.isfile(p)]
    if missing:
        raise InputError(f"the part file {missing[0]} is missing: across nodes, the output folder must be on a "
                         "filesystem that every node shares", out)

    def write(tmp: str) -> None:
        handles = [open(p, "rb") for p in parts]
        try:
            with open(tmp, "wb") as fh:
                for i in range(sum(map(len, sizes))):
                    _copy(handles[i % len(parts)], fh, sizes[i % len(parts)][i // len(parts)])
        finally:
            for h in handles:
                h.close()

    atomic_write(out, write)


def _copy(src: IO[bytes], dst: IO[bytes], n: int) -> None:
    while n > 0:
        block = src.read(min(n, COPY_BLOCK))
        if not block:
            raise OSError(f"{src.name}: ends early (a part file changed while merging?)")
        dst.write(block)
        n -= len(block)


def _fail(message: str, is_input: bool, rank: int) -> BaseException:
    e: BaseException = BioseqError(message) if is_input else RuntimeError(message)
    e.quiet = rank != 0  # type: ignore[attr-defined] - the CLI prints rank 0's copy only
    return e


def _sharded(out: str | None, chunks: Iterable[T], render: Render, device: torch.device,
             progress: Callable[[int], None] | None) -> int:
    import torch.distributed as dist

    rank, size = distributed.world()
    if out in (None, "-"):
        raise _fail("under torchrun every process writes part of the output: give -o OUT (standard output "
                    "is refused)", True, rank)
    check_folder(out)
    joined = not dist.is_initialized()
    if joined:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=TIMEOUT)
    part = part_path(out, rank, size)
    try:
        mine = write_part(part, chunks, render, rank, size, progress)
        every: list = [None] * size
        dist.all_gather_object(every, mine)
        errors = sorted(r["error"] for r in every if r["error"])
        if errors:
            raise _fail(errors[0][1], errors[0][2], rank)
        status = [None]
        if rank == 0:
            try:
                merge_parts(out, [part_path(out, r, size) for r in range(size)], [r["sizes"] for r in every])
            except Exception as e:  # noqa: BLE001
                status = [(str(e), isinstance(e, BioseqError))]
        dist.broadcast_object_list(status, src=0)
        if status[0]:
            raise _fail(*status[0], rank)
        return sum(r["count"] for r in every)
    finally:
        if os.path.exists(part):
            os.remove(part)
        if joined:
            dist.destroy_process_group()
