"""One output file from one process, or from several under ``torchrun``: chunk ``i`` of the input is rank
``i % N``'s, and the merged file is byte for byte the one-process file.

A command cuts its input into chunks in input order (a list of records, or a batch of windows of one long
record) and gives :func:`write_chunks` a ``render(fh, i, chunk) -> count`` that writes chunk ``i``'s text
(the header with chunk 0). Each chunk's text is rendered on its own, then written as UTF-8 bytes.

* One process: every chunk goes into a temporary file beside the output, renamed onto it at the end (or
  copied to standard output), so a bad record never leaves a partial file.
* ``torchrun --nproc-per-node N`` (``WORLD_SIZE`` N > 1): every rank reads the whole input (reading is
  cheap next to the model) but renders only its chunks ``i % N == rank``, into its part file
  ``.OUT.part-<rank>-of-<N>`` beside the output, noting each chunk's byte count. The ranks exchange the
  counts (waiting for every rank); rank 0 copies the chunks from the part files in input
  order into a temporary file renamed onto the output, and every rank removes its part file. Across
  nodes, the output folder must be on a filesystem every node shares.
* Errors: each rank stops at its first failing chunk; every rank raises the error of the lowest failing
  chunk, the one a single process meets first. Rank 0's copy is printed and fails the job; the others'
  are ``quiet``: the command line ends those ranks with status 0, as torchrun stops every rank as soon as
  one fails, which could stop rank 0 before it prints.
* A rank that stops answering (stopped, hung, killed) is named in one line by the lowest rank that still
  answers, once ``rank_timeout`` minutes (:data:`~bioseq.runtime.RANK_TIMEOUT`, the command
  line's ``--rank-timeout``) have passed without a word from it: the ranks talk through torchrun's
  rendezvous store (:class:`~bioseq.runtime.Ranks`), each saying after every chunk that it
  is still working, so a long input is no reason to give up.
* Standard output is refused under torchrun: the ranks need a file to write their parts beside.
* The output goes through :func:`bioseq.outputs.write_output` (never an input of the command, links
  followed, special files streamed, errors naming the output); a part file is locked by its rank, so one
  left by a killed run is removed by the next (:func:`bioseq.outputs.clean_stale`).
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from typing import IO, TypeVar

from .. import runtime
from ..errors import BioseqError, InputError, OutputError
from ..outputs import check_folder, check_output, clean_stale, hold, output_error, via_temporary, write_output

T = TypeVar("T")
Render = Callable[[IO[str], int, T], int]
COPY_BLOCK = 1 << 20


def render_bytes(render: Render, i: int, chunk) -> tuple[bytes, int]:
    """Chunk ``i`` rendered: its UTF-8 bytes and its count of items."""
    buf = io.StringIO(newline="")
    count = render(buf, i, chunk)
    return buf.getvalue().encode("utf-8"), count


def to_output(out: str | None, write: Callable[[str], None], inputs: Iterable = ()) -> None:
    """Run ``write(tmp)`` and put the file it wrote at ``out`` atomically (``None`` or ``-``: standard output);
    ``inputs`` are the files the command reads (never overwritten)."""
    if out not in (None, "-"):
        check_folder(out)
        write_output(out, write, inputs)
        return
    via_temporary(write, _to_stdout)


def _to_stdout(tmp: str) -> None:
    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)
    with open(tmp, "rb") if binary else open(tmp, newline="", encoding="utf-8") as fh:
        shutil.copyfileobj(fh, binary or sys.stdout)
    (binary or sys.stdout).flush()


def write_chunks(out: str | None, chunks: Iterable[T], render: Render, *, device=None,
                 progress: Callable[[int], None] | None = None, inputs: Iterable = (),
                 rank_timeout: float = runtime.RANK_TIMEOUT, totals: Counter | None = None) -> int:
    """Write the rendered chunks to ``out`` (see the module docstring); the total count of items.

    ``progress(n)`` is called after each chunk this process renders, with its own running count. ``inputs``:
    every file the command reads, refused as ``out``. ``device`` is no longer used (the ranks talk through
    the rendezvous store whatever the device). ``totals``: a counter that ``render`` adds to; under torchrun
    every rank's ends up holding the sum over the ranks (what one process would have counted).
    """
    if runtime.active():
        return _sharded(out, chunks, render, inputs, rank_timeout, progress, totals)
    if out not in (None, "-"):
        check_folder(out)
        check_output(out, inputs)  # before any work
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

    to_output(out, write, inputs)
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


def merge_parts(out: str, parts: list[str], sizes: list[list[int]], beat: Callable[[], None] | None = None) -> None:
    """Copy chunk ``i`` from ``parts[i % N]`` in input order into ``out``, atomically; ``beat()`` after each."""
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
                    if beat:
                        beat()
        finally:
            for h in handles:
                h.close()

    write_output(out, write, keep=parts)


def _copy(src: IO[bytes], dst: IO[bytes], n: int) -> None:
    while n > 0:
        block = src.read(min(n, COPY_BLOCK))
        if not block:
            raise OSError(f"{src.name}: ends early (a part file changed while merging?)")
        dst.write(block)
        n -= len(block)


def _fail(message: str, is_input: bool, rank: int, speaker: int = 0) -> BaseException:
    e: BaseException = BioseqError(message) if is_input else RuntimeError(message)
    e.quiet = rank != speaker  # type: ignore[attr-defined] - the CLI prints one rank's copy only
    return e


def _sharded(out: str | None, chunks: Iterable[T], render: Render, inputs: Iterable, rank_timeout: float,
             progress: Callable[[int], None] | None, totals: Counter | None = None) -> int:
    rank, size = runtime.world()
    if out in (None, "-"):
        raise _fail("under torchrun every process writes part of the output: give -o OUT (standard output "
                    "is refused)", True, rank)
    try:
        check_folder(out)
        target = str(check_output(out, inputs))
    except OutputError as e:  # every rank meets it: rank 0 says it
        raise _fail(str(e), True, rank) from None
    if os.path.exists(target) and not os.path.isfile(target):  # /dev/null, a FIFO: the parts go elsewhere
        target = os.path.join(tempfile.gettempdir(), f"bioseq-{os.path.basename(target)}")
    clean_stale(os.path.dirname(target))
    part = part_path(target, rank, size)
    try:
        ranks = runtime.Ranks(rank_timeout, f"nothing was written to {out}")
        lock, mine = _hold_part(part, out)
    except runtime.RankSilent as e:
        raise _silent(e, rank, size) from None
    silent = False
    try:
        if mine is None:
            def beat(n: int) -> None:
                ranks.beat()
                if progress:
                    progress(n)

            mine = write_part(part, chunks, render, rank, size, beat)
        every = ranks.gather("parts", {**mine, "totals": Counter(totals or ())})
        if totals is not None:
            totals.clear()
            for r in every.values():
                totals.update(r["totals"])
        errors = sorted(r["error"] for r in every.values() if r["error"])
        if errors:
            raise _fail(errors[0][1], errors[0][2], rank)
        if rank == 0:
            status = None
            try:
                merge_parts(out, [part_path(target, r, size) for r in range(size)],
                            [every[r]["sizes"] for r in range(size)], beat=ranks.beat)
            except Exception as e:  # noqa: BLE001 - every rank raises it, rank 0's copy is printed
                status = (str(e), isinstance(e, BioseqError))
            ranks.post("merged", status)
        else:
            status = ranks.gather("merged", ranks=[0])[0]
        if status:
            raise _fail(*status, rank)
        ranks.what = f"{out} was written"
        return sum(r["count"] for r in every.values())
    except runtime.RankSilent as e:
        silent = True  # no goodbye: the silent rank would not answer it either
        raise _silent(e, rank, size) from None
    finally:
        if lock is not None:
            if os.path.exists(part):
                os.remove(part)
            os.close(lock)
        if not silent:
            _goodbye(ranks, rank, size)


def _hold_part(part: str, out: str) -> tuple[int | None, dict | None]:
    """Lock this rank's part file: ``(descriptor, None)``, or ``(None, a failed part)`` naming the output."""
    try:
        return hold(part), None
    except OSError as e:
        return None, {"sizes": [], "count": 0, "error": (-1, str(output_error(out, e)), True)}


def _silent(e: runtime.RankSilent, rank: int, size: int) -> BaseException:
    """The error of a silent rank, printed by the lowest rank that answered."""
    return _fail(str(e), True, rank, min(set(range(size)) - set(e.ranks)))


def _goodbye(ranks: runtime.Ranks, rank: int, size: int) -> None:
    """Rank 0 (which may hold the store) leaves once every rank has read what it needs, and names a rank that
    stopped after writing its part (torchrun would otherwise wait for it for ever)."""
    try:
        if rank:
            ranks.post("done", None)
        else:
            ranks.gather("done", ranks=range(1, size))
    except runtime.RankSilent as e:
        raise _silent(e, rank, size) from None
