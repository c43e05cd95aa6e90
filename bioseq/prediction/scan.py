"""Sliding a classifier along long records (genome scale) in bounded memory: windows, batches, a bedGraph.

Windows: ``W`` letters starting every ``S`` letters, at ``0, S, 2S, …`` while ``start + W ≤ L``. When the
last of these stops short of the record's end, one more window ``[L − W, L)`` ends exactly at the end, so
every letter is covered (given ``S ≤ W``; a larger stride samples) and every window is ``W`` letters long
(the last one overlaps its neighbour more). A record shorter than ``W`` is one window ``[0, L)``. Starts are
computed a batch at a time, never listed for a whole record.

Batches: up to ``batch_size`` windows of one record (never across records), at most
:func:`~bioseq.prediction.predict.batch_letters` letters in all: batch k holds windows ``k·B .. k·B + B − 1``.
A record is never held: its letters come a block at a time (:func:`bioseq.data.io.stream_records`), are
checked as they come (the first :data:`HEAD` letters first, for the alphabet in words), and a window's
letters are copied out once it is complete; only the last ``W`` letters and the windows of the batch being
filled are kept, so memory does not grow with the record (nor with the stride). A batch's windows are encoded
at once ``(B·W, K)`` and stacked into ``x (B, W, K)``; the model gives probabilities ``(B, n_classes)``. A
window is at most :func:`~bioseq.prediction.predict.memory_limit` letters (the model's working memory).

Output, one line per window in record order, then window order:

* bedGraph (default): a ``track type=bedGraph name=… description=…`` line, then
  ``record<TAB>start<TAB>end<TAB>score``, start 0-based, end exclusive; ``score`` is the probability of the
  chosen class, by default the last class of the model's list (the positive one of two, as ``bioseq info``
  lists them);
* CSV: ``record,start,end,p_<class>...`` for every class, with a header;
* bigWig (pyBigWig): the bedGraph's scores, overlapping windows cut at the midpoints between their centres
  (:mod:`bioseq.prediction.bigwig`); chromosome sizes are the records' lengths. A file is required.

Numbers are written ``%.6g``, as in ``bioseq predict``'s CSV. Default window: the model's ``max_length``,
else its longest training sequence (the training profile in the model file); default stride: half the window.
Under torchrun the batches are shared out among the processes (:mod:`bioseq.prediction.shards`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..data.encoding import check_span, clean, encode_span
from ..data.io import Record, stream_many
from ..errors import InputError, ModelFileError
from ..model.store import ModelBundle
from ..runtime import RANK_TIMEOUT
from ..task import task_of
from .predict import batch_letters, check_alphabet, length_limit, memory_limit, predict_arrays
from .shards import write_chunks

FORMATS = ("bedgraph", "csv", "bigwig")
HEAD = 10_000  # letters of each record that the alphabet check words its message on


@dataclass(frozen=True)
class WindowBatch:
    """Windows ``[starts[i], starts[i] + window)`` of one record; ``window`` is the record's length when shorter.
    ``letters`` are the windows' letters one after another (window i at ``[i·window, (i + 1)·window)``)."""

    record: Record
    starts: np.ndarray  # (B,) int64, 0-based
    window: int
    letters: str = field(default="", repr=False)


def default_window(bundle: ModelBundle) -> int:
    """The model's ``max_length``, else its longest training sequence."""
    if bundle.max_length:
        return int(bundle.max_length)
    _, longest = length_limit(bundle)
    if longest is None:
        raise InputError("the model file records no training lengths: give the window (--window)",
                         bundle.path or bundle.name)
    return longest


def settings(bundle: ModelBundle, window: int | None, stride: int | None) -> tuple[int, int]:
    """``(window, stride)`` with their defaults, checked against the model."""
    if task_of(bundle).per_position:
        raise ModelFileError(f"{bundle.path or bundle.name}: this model labels every position; scan slides a "
                             "classifier (one label per sequence) along a record")
    window = default_window(bundle) if window is None else int(window)
    stride = max(1, window // 2) if stride is None else int(stride)
    if window < 1 or stride < 1:
        raise InputError(f"window and stride must be at least 1, not {window} and {stride}")
    limit, longest = length_limit(bundle)
    if bundle.max_length and window > bundle.max_length:
        raise InputError(f"a window of {window:,} letters is longer than the model reads (its max_length, "
                         f"{bundle.max_length:,}); choose --window {bundle.max_length} or less")
    memory = memory_limit(bundle)
    if window > memory and memory < limit:
        raise InputError(f"a window of {window:,} letters is more than this model reads at once in bounded memory "
                         f"(at most {memory:,} letters for a model of this size); choose a window of at most "
                         f"{memory:,}")
    if window > limit:
        raise InputError(f"a window of {window:,} letters is far beyond the sequences this model was trained on "
                         f"({f'at most {longest:,} letters' if longest else 'no lengths recorded'}); choose a "
                         f"window of at most {limit:,}")
    return window, stride


def window_count(length: int, window: int, stride: int) -> int:
    """How many windows a record of ``length`` letters gets (the end window included)."""
    if length <= window:
        return 1
    n = (length - window) // stride + 1
    return n + int((n - 1) * stride + window < length)


def window_starts(length: int, window: int, stride: int, first: int = 0, count: int | None = None) -> np.ndarray:
    """0-based starts of windows ``first .. first + count - 1`` of a record of ``length`` letters."""
    total = window_count(length, window, stride)
    idx = np.arange(first, total if count is None else min(total, first + count), dtype=np.int64)
    if length <= window:
        return np.zeros(len(idx), dtype=np.int64)
    starts = idx * stride
    starts[idx == total - 1] = length - window  # the last window ends at the record's end
    return starts


def window_batches(bundle: ModelBundle, records: Iterable[Record], window: int, stride: int,
                   batch_size: int = 512) -> Iterator[WindowBatch]:
    """Each record's windows in batches (records held in memory; :func:`stream_batches` for files)."""
    return stream_batches(bundle, ((rec, iter([rec.seq])) for rec in records), window, stride, batch_size)


def stream_batches(bundle: ModelBundle, records: Iterable[tuple[Record, Iterator[str]]], window: int, stride: int,
                   batch_size: int = 512) -> Iterator[WindowBatch]:
    """Each record's windows in batches, from ``(record, letters a block at a time)``; see the module docstring."""
    per = max(1, min(batch_size, batch_letters(bundle) // window))
    for rec, pieces in records:
        yield from _record_batches(bundle, rec, pieces, window, stride, per)


def _record_batches(bundle: ModelBundle, rec: Record, pieces: Iterator[str], window: int, stride: int,
                    per: int) -> Iterator[WindowBatch]:
    """One record's batches of ``per`` windows, its letters read as they come (:func:`stream_batches`)."""
    alphabet, where = bundle.alphabet, {"file": rec.file, "record": rec.where}
    buf, base, checked, worded = "", 0, 0, False  # buf holds the letters [base, base + len(buf)) of the record
    starts: list[int] = []
    windows: list[str] = []  # the letters of the windows of the batch being filled

    def add(start: int, width: int) -> Iterator[WindowBatch]:
        starts.append(start)
        windows.append(buf[start - base:start - base + width])
        if len(starts) == per:
            yield WindowBatch(rec, np.asarray(starts, dtype=np.int64), width, "".join(windows))
            starts.clear()
            windows.clear()

    done = 0  # windows taken so far
    for piece in pieces:
        buf += piece
        if not worded and len(buf) < HEAD:
            continue
        if not worded:  # the alphabet, in words, on the record's first letters
            check_alphabet(bundle, [replace(rec, seq=buf[:HEAD])])
            worded = True
        known = base + len(buf) - 1  # the last letter may be a protein's terminal '*', dropped at the end
        check_span(buf[checked - base:known - base], alphabet, offset=checked, **where)
        checked = known
        while done * stride + window <= known:  # a whole window, never the end one [L - W, L)
            yield from add(done * stride, window)
            done += 1
        keep = min(done * stride, known - window)  # the next window starts here, the end window no earlier
        if keep > base:
            buf, base = buf[keep - base:], keep
    if not worded:
        check_alphabet(bundle, [replace(rec, seq=buf[:HEAD])])
    tail = clean(buf[checked - base:], alphabet)
    check_span(tail, alphabet, offset=checked, **where)
    length = checked + len(tail)
    width = min(window, length)
    for start in window_starts(length, window, stride, done).tolist():
        yield from add(start, width)
    if starts:
        yield WindowBatch(rec, np.asarray(starts, dtype=np.int64), width, "".join(windows))


def batch_probabilities(bundle: ModelBundle, batch: WindowBatch, batch_size: int = 512) -> np.ndarray:
    """Probabilities ``(B, n_classes)`` of a batch's windows: their letters encoded at once (already checked)."""
    rows, w = encode_span(batch.letters, bundle.alphabet), batch.window
    return predict_arrays(bundle, [rows[i * w:(i + 1) * w] for i in range(len(batch.starts))], batch_size)


def batch_table(bundle: ModelBundle, batch: WindowBatch, probs: np.ndarray) -> pd.DataFrame:
    """``record, start, end, p_<class>...`` of a batch's windows."""
    table = pd.DataFrame(np.asarray(probs, dtype=float), columns=[f"p_{c}" for c in bundle.classes])
    table.insert(0, "end", batch.starts + batch.window)
    table.insert(0, "start", batch.starts)
    table.insert(0, "record", batch.record.id)
    return table


def target_column(bundle: ModelBundle, target: str | None) -> str:
    """The column of the class scored in a bedGraph: ``target``, by default the model's last class."""
    if target is None:
        return f"p_{bundle.classes[-1]}"
    if target not in bundle.classes:
        raise InputError(f"unknown class {target!r}; the model's classes are {', '.join(bundle.classes)}")
    return f"p_{target}"


def track_line(column: str, name: str = "bioseq scan") -> str:
    """The bedGraph's first line: ``track type=bedGraph name=… description=…``."""
    what = column.removeprefix("p_")
    return f'track type=bedGraph name="{name}" description="{name}: probability of {what} per window"\n'


def write_table(fh, table: pd.DataFrame, fmt: str, column: str, header: bool, name: str = "bioseq scan") -> None:
    """Windows as bedGraph (``column`` the score; ``header``: the track line first) or CSV (every class,
    ``header`` on request)."""
    if fmt == "csv":
        table.to_csv(fh, header=header, index=False, float_format="%.6g", lineterminator="\n")
    else:
        if header:
            fh.write(track_line(column, name))
        table[["record", "start", "end", column]].to_csv(fh, sep="\t", header=False, index=False,
                                                         float_format="%.6g", lineterminator="\n")


def bedgraph_text(table: pd.DataFrame, column: str) -> str:
    """The bedGraph of a table of windows (the dashboard's download)."""
    import io

    buf = io.StringIO()
    write_table(buf, table, "bedgraph", column, True)
    return buf.getvalue()


def scan_files(bundle: ModelBundle, paths: Sequence[str | os.PathLike], out: str | None = None, *,
               window: int | None = None, stride: int | None = None, target: str | None = None,
               fmt: str = "bedgraph", batch_size: int = 512, progress: Callable[[int], None] | None = None,
               rank_timeout: float = RANK_TIMEOUT) -> int:
    """Scan every record of ``paths`` and write the windows to ``out`` (``None`` or ``-``: standard output),
    atomically; return the number of windows. See the module docstring for the output."""
    if fmt not in FORMATS:
        raise InputError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    window, stride = settings(bundle, window, stride)
    column = target_column(bundle, target)

    inputs = (*paths, bundle.path)
    name = f"{bundle.name or 'bioseq'} scan"

    def render(fh, i: int, batch: WindowBatch) -> int:
        write_table(fh, batch_table(bundle, batch, batch_probabilities(bundle, batch, batch_size)),
                    "csv" if fmt == "csv" else "bedgraph", column, i == 0, name)
        return len(batch.starts)

    def windows(target: str | None) -> int:
        return write_chunks(target, stream_batches(bundle, stream_many(paths), window, stride, batch_size), render,
                            progress=progress, inputs=inputs, rank_timeout=rank_timeout)

    if fmt != "bigwig":
        return windows(out)
    return _bigwig(out, windows, inputs)


def _bigwig(out: str | None, windows: Callable[[str], int], inputs) -> int:
    """Scan into a bedGraph beside ``out`` (shared by torchrun's processes), then rank 0 writes the bigWig."""
    from .. import runtime
    from ..outputs import check_folder, write_output
    from .bigwig import write_bigwig

    if out in (None, "-"):
        raise InputError("a bigWig is a binary file: give -o OUT.bw (standard output is refused)")
    check_folder(out)
    folder, base = os.path.split(os.path.abspath(out))
    bedgraph = os.path.join(folder, f".{base}.bedgraph-tmp")
    try:
        n = windows(bedgraph)
        if runtime.is_main():
            write_output(out, lambda tmp: write_bigwig(bedgraph, tmp), inputs)
    finally:
        if runtime.is_main() and os.path.exists(bedgraph):
            os.remove(bedgraph)
    return n


def scan_records(bundle: ModelBundle, records: Sequence[Record], *, window: int | None = None,
                 stride: int | None = None, batch_size: int = 512,
                 progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Every window of ``records`` as one table ``record, start, end, p_<class>...`` (held in memory: for the
    dashboard's uploads); ``progress(done, total)`` in windows after each batch."""
    window, stride = settings(bundle, window, stride)
    total = sum(window_count(len(clean(r.seq, bundle.alphabet)), window, stride) for r in records)
    tables, done = [], 0
    for batch in window_batches(bundle, records, window, stride, batch_size):
        tables.append(batch_table(bundle, batch, batch_probabilities(bundle, batch, batch_size)))
        done += len(batch.starts)
        if progress:
            progress(done, total)
    if not tables:
        return batch_table(bundle, WindowBatch(Record("", "", "", "", 0), np.zeros(0, np.int64), 0),
                           np.zeros((0, len(bundle.classes))))
    return pd.concat(tables, ignore_index=True)
