"""Prediction over sequence files in chunks, with bounded memory, in input order, for either task.

Each chunk of records is encoded to ``(length, alphabet)`` arrays (cut by a classifier's length policy; a
labeller reads the whole sequence, so every letter gets a label), batched by length, and run through the model
in eval mode; rows come back in input order. The model's :class:`~bioseq.task.Task` decides the rest: a
classifier's table (and the CSV of ``bioseq predict``) has the columns ``id, prediction, p_<class>..., length,
unlike_training, file`` (and ``sequence`` on request); a labeller's ``id, position, letter, prediction,
p_<label>...``, one row per letter (``position`` 1-based), or with ``fmt="fasta"`` three-line FASTA.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.alphabets import detect_alphabet
from ..data.encoding import clean, encode, length_batches, pad_batch
from ..data.io import LongRecord, Record, chunked
from ..errors import InputError
from ..model import cells, encodings
from ..model.classifier import SequenceClassifier
from ..model.recurrence import padded_ok
from ..model.store import ModelBundle
from ..runtime import RANK_TIMEOUT
from ..task import encode_cut, task_of
from .novelty import flag_arrays, tally
from .shards import write_chunks

LONG_FACTOR = 10  # predict refuses records the model would read whole beyond this many times its longest training one
MIN_LIMIT = 300_000  # ... but never below this many letters (about 0.8 GB at most with the default DNA model);
# the limit for models saved without training lengths too
encode_records = encode_cut  # the rows a model reads as trained (its length policy): what interpret explains
BATCH_LETTERS = 1 << 18  # a batch holds at most this many padded positions (at least one record) ...
MEMORY = 600 << 20  # ... and the model's working memory for one batch stays under this many bytes (position_bytes):
# with the process itself (about 0.4 GB with PyTorch), under 1 GB; the longest record or window read whole too
CHUNK_LETTERS = 1 << 24  # a chunk of records holds at most about this many letters (at least one record)


def check_alphabet(bundle: ModelBundle, records: Sequence[Record]) -> None:
    """Refuse records that do not fit the model's alphabet, naming the file (and record).

    For a DNA or RNA model the letters decide, so IUPAC-rich DNA that detection would call protein
    is accepted; detection only words the message. A protein model reads every nucleotide letter,
    so there detection decides.
    """
    want = bundle.alphabet
    by_file: dict[str, list[Record]] = {}
    for r in records:
        by_file.setdefault(r.file, []).append(r)
    for file, recs in by_file.items():
        seqs = [r.seq for r in recs]
        try:
            found, why = detect_alphabet(seqs, file).name, ""
        except ValueError as e:
            found, why = None, str(e)
        if found == want.name:
            continue
        if want.name == "protein":
            if found is None:
                raise InputError(why)
            if max(map(len, seqs)) >= 20:
                raise InputError(f"looks like {found.upper()}, but the model expects PROTEIN sequences", file)
            continue
        for r in recs:
            try:
                encode(r.seq, want, file=r.file, record=r.where)
            except InputError as e:
                if found is None:
                    raise
                raise InputError(f"looks like {found.upper()}, but the model expects {want.name.upper()} sequences "
                                 f"(first invalid letter {r.seq[e.position - 1]!r} in record {r.where}, "
                                 f"position {e.position})", file) from None


def predict_logits(bundle: ModelBundle, arrays: Sequence[np.ndarray], batch_size: int | None = None):
    """Scores (logits) for encoded sequences, in input order: ``(N, n_classes)`` for a classifier, one
    ``(length, n_labels)`` array per sequence for a labeller (:meth:`bioseq.task.Task.gather`)."""
    task = task_of(bundle)
    model = bundle.model.eval()
    device = next(model.parameters()).device
    rows = [np.zeros((0, len(bundle.classes)), dtype=np.float32)] * len(arrays)
    with torch.inference_mode():
        for idx in length_batches([len(a) for a in arrays], batch_size or task.batch_size,
                                  letters=batch_letters(bundle)):
            x, lengths = pad_batch([arrays[i] for i in idx])
            for i, row in zip(idx, task.rows(model(x.to(device), lengths).float().cpu().numpy(), lengths)):
                rows[i] = row
    return task.gather(rows, len(bundle.classes))


def predict_arrays(bundle: ModelBundle, arrays: Sequence[np.ndarray], batch_size: int | None = None):
    """Probabilities for encoded sequences, in input order: ``(N, n_classes)``, or ``(length, n_labels)`` per
    sequence for a labeller."""
    logits = predict_logits(bundle, arrays, batch_size)
    if isinstance(logits, np.ndarray):
        return torch.softmax(torch.from_numpy(logits), -1).numpy()
    return [torch.softmax(torch.from_numpy(x), -1).numpy() for x in logits]


def length_limit(bundle: ModelBundle) -> tuple[int, int | None]:
    """``(limit, longest)``: the longest record :func:`predict_files` reads whole (:data:`LONG_FACTOR` times the
    longest training sequence, at least :data:`MIN_LIMIT`), and that training length (``None`` for a model saved
    without it: the limit is then :data:`MIN_LIMIT`)."""
    longest = ((bundle.meta.get("training") or {}).get("profile") or {}).get("length_max")
    return (max(LONG_FACTOR * int(longest), MIN_LIMIT), int(longest)) if longest else (MIN_LIMIT, None)


def _member_bytes(cfg, fused: bool) -> int:
    """:func:`position_bytes` of one network: the larger of the convolution's and the recurrent layers' share."""
    gates, hidden, dirs = cells.get(cfg.cell).blocks, cfg.hidden, cfg.directions
    # a fused (oneDNN) layer's gates and outputs; an unrolled cell's per-step tensors cost about 1.6 kB a step
    rnn = 4 * dirs * (gates + 2) * hidden + 640 if fused else 4 * dirs * (gates + 4) * hidden + 1600 * dirs
    rnn += 8 * dirs * hidden * (cfg.layers - 1)  # the outputs a layer hands on
    feats, pool = (cfg.conv_filters, cfg.conv_pool) if cfg.conv else (encodings.out_size(cfg), 1)
    front = 4 * (encodings.out_size(cfg) + 3 * cfg.conv_filters) if cfg.conv else 0
    return (8 * cfg.alphabet_size + 12 * cfg.n_classes + encodings.position_bytes(cfg)
            + max(front, (rnn + 4 * feats) // pool))


def position_bytes(bundle: ModelBundle) -> int:
    """An upper estimate of the bytes a forward pass holds per input position at its peak, on the CPU: measured
    peaks (float32, one sequence of 50,000-300,000 letters) lie 0-60% below it, from about 200 bytes (a 1-layer
    LSTM of 8 units) to 6,900 (256 units); the default DNA model takes about 1,500 (``python -m
    bench.bench_memory``). An ensemble runs its members one after another."""
    cpu = torch.device("cpu")  # every network inside the model (an ensemble's members, a wrapped labeller ...)
    nets = [m for m in bundle.model.modules() if isinstance(m, SequenceClassifier)]
    return max((_member_bytes(m.cfg, all(padded_ok(rnn, cpu) for rnn in m.rnns)) for m in nets), default=1)


def memory_limit(bundle: ModelBundle) -> int:
    """The most positions the model reads at once within :data:`MEMORY`: the longest record :func:`predict_files`
    reads whole and the longest window of a scan; batches hold at most this many padded positions too."""
    return max(1, MEMORY // position_bytes(bundle))


def batch_letters(bundle: ModelBundle) -> int:
    """The padded positions of one batch: :data:`BATCH_LETTERS`, fewer for a model too large for them."""
    return min(BATCH_LETTERS, memory_limit(bundle))


def read_limit(bundle: ModelBundle) -> tuple[int, str]:
    """``(limit, why)``: the longest record predict reads whole (the lower of :func:`length_limit` and
    :func:`memory_limit`) and the reason for a message about a longer one."""
    limit, longest = length_limit(bundle)
    memory = memory_limit(bundle)
    if memory < limit:
        return memory, (f"more than this model reads at once in bounded memory (at most {memory:,} letters for a "
                        "model of this size)")
    trained = f"at most {longest:,} letters" if longest else "lengths not recorded in the model file"
    return limit, f"far beyond the sequences this model was trained on ({trained}; predict reads records of up to " \
                  f"{limit:,})"


def refuses_beyond(bundle: ModelBundle) -> int | None:
    """The length beyond which :func:`check_lengths` refuses every record (``None``: a classifier whose
    ``max_length`` cuts every record to a length it reads), so that a reader need not hold longer ones
    (``read_many(..., hold=...)``: one more letter, as a protein's terminal ``*`` is dropped)."""
    limit, _ = read_limit(bundle)
    cut = task_of(bundle).cut(bundle)
    return None if cut and cut <= limit else limit + 1


def check_lengths(bundle: ModelBundle, records: Sequence[Record]) -> None:
    """Refuse a record whose part the model reads (all of it, for a labeller or a model without ``max_length``)
    is far beyond the training lengths or beyond what the model reads in bounded memory (:func:`read_limit`):
    memory stays bounded whatever the input. A :class:`~bioseq.data.io.LongRecord` (read with ``hold``) is
    refused on its count of letters, never held."""
    limit, why = read_limit(bundle)
    task = task_of(bundle)
    cut = task.cut(bundle)
    for r in records:
        long = isinstance(r, LongRecord)
        n = r.length if long else len(r.seq)
        if min(n, cut or n) <= limit:
            continue
        n = n - (not clean(r.last, bundle.alphabet)) if long else len(clean(r.seq, bundle.alphabet))
        if min(n, cut or n) <= limit:
            continue
        raise InputError(f"{n:,} letters, {why}: {task.too_long}", r.file, r.where)


def predict_chunk(bundle: ModelBundle, chunk: Sequence[Record], *, check: bool = False,
                  batch_size: int | None = None) -> tuple[list[np.ndarray], object]:
    """One chunk's encoded arrays and probabilities (:func:`predict_arrays`); ``check`` the alphabet first.
    Records far beyond the training lengths are refused (:func:`check_lengths`)."""
    if check:
        check_alphabet(bundle, chunk)
    check_lengths(bundle, chunk)
    arrays = task_of(bundle).encode(bundle, chunk)
    return arrays, predict_arrays(bundle, arrays, batch_size)


def predict_chunks(bundle: ModelBundle, records: Iterable[Record], *, chunk_size: int | None = None,
                   batch_size: int | None = None, check: bool = True) -> Iterator[tuple[list[Record], list, object]]:
    """Yield ``(records, encoded arrays, probabilities)`` a chunk at a time, in input order."""
    size = task_of(bundle).chunk_size if chunk_size is None else chunk_size  # 0 is refused, not the default
    for i, chunk in enumerate(chunked(records, size, CHUNK_LETTERS)):
        yield chunk, *predict_chunk(bundle, chunk, check=check and i == 0, batch_size=batch_size)


def predict_records(bundle: ModelBundle, records: Iterable[Record], *, chunk_size: int | None = None,
                    batch_size: int | None = None, check: bool = True) -> Iterator[tuple[Record, np.ndarray]]:
    """Yield ``(record, probabilities)`` in input order, a chunk at a time."""
    for chunk, _, probs in predict_chunks(bundle, records, chunk_size=chunk_size, batch_size=batch_size, check=check):
        yield from zip(chunk, probs)


def _flags(bundle: ModelBundle, arrays: Sequence[np.ndarray], flagged: Counter | None = None
           ) -> Callable[[], pd.DataFrame]:
    """The flags of ``arrays``, computed when a table asks (a labeller's never does); their
    :func:`~bioseq.prediction.novelty.tally` added to ``flagged`` then."""
    def flags() -> pd.DataFrame:
        found = flag_arrays(arrays, (bundle.meta.get("training") or {}).get("profile"))
        if flagged is not None:
            flagged.update(tally(found))
        return found
    return flags


def prediction_table(bundle: ModelBundle, records: Sequence[Record], arrays: Sequence[np.ndarray],
                     probs, *, with_sequence: bool = False) -> pd.DataFrame:
    """The prediction rows for one chunk (:meth:`bioseq.task.Task.table`): a classifier's ``id, prediction,
    p_<class>..., length, unlike_training, file`` (plus ``sequence`` on request), where ``length`` is what the
    model reads and ``unlike_training`` says why a record is unlike the training data (empty when it is not; see
    :mod:`bioseq.prediction.novelty`); a labeller's ``id, position, letter, prediction, p_<label>...``."""
    return task_of(bundle).table(bundle.classes, records, probs, _flags(bundle, arrays), with_sequence=with_sequence)


def predict_frame(bundle: ModelBundle, records: Iterable[Record], *, chunk_size: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Predictions for ``records`` as one DataFrame (:func:`prediction_table`), calling ``progress(done, total)``
    after every chunk (``total`` 0 when ``records`` is a stream)."""
    frames, done = [], 0
    total = len(records) if isinstance(records, Sequence) else 0
    for chunk, arrays, probs in predict_chunks(bundle, records, chunk_size=chunk_size):
        frames.append(prediction_table(bundle, chunk, arrays, probs))
        done += len(chunk)
        if progress:
            progress(done, total)
    return pd.concat(frames, ignore_index=True) if frames else prediction_table(bundle, [], [], [])


def model_device(bundle: ModelBundle) -> torch.device:
    return next(bundle.model.parameters()).device


def predict_files(bundle: ModelBundle, paths: Sequence[str | os.PathLike], out: str | None = None, *,
                  fmt: str | None = None, chunk_size: int | None = None, batch_size: int | None = None,
                  with_sequence: bool = False, progress: Callable[[int], None] | None = None,
                  rank_timeout: float = RANK_TIMEOUT, flagged: Counter | None = None) -> int:
    """Write predictions for ``paths`` to ``out`` (``None`` or ``-`` = stdout); return the number of records.
    ``fmt`` is ``csv`` (:func:`prediction_table`) or, for a labeller, ``fasta`` (three-line FASTA: header,
    sequence, predicted label string); a labeller reads three-line FASTA too (its labels dropped).
    ``rank_timeout``: under torchrun, minutes to wait for a rank that stops answering. ``flagged``: a counter
    that gets the :func:`~bioseq.prediction.novelty.tally` of the records unlike the training data (a
    classifier's ``unlike_training`` column; a labeller's output has none), over every rank under torchrun.

    Output goes to a temporary file first and appears only when every record has been read, so a
    bad record never leaves a partial file (or partial standard output). Under torchrun the chunks are
    shared out among the processes and merged in input order (:mod:`bioseq.prediction.shards`).
    """
    task = task_of(bundle)
    fmt = task.check_format(fmt)

    def render(fh, i: int, chunk: list[Record]) -> int:
        arrays, probs = predict_chunk(bundle, chunk, check=i == 0, batch_size=batch_size)
        task.write(fh, bundle.classes, chunk, probs, _flags(bundle, arrays, flagged), fmt, i == 0, with_sequence)
        return len(chunk)

    records = task.read(paths, hold=refuses_beyond(bundle))  # a record that will be refused is never held
    size = task.chunk_size if chunk_size is None else chunk_size  # 0 is refused by chunked, not the default
    return write_chunks(out, chunked(records, size, CHUNK_LETTERS), render,
                        progress=progress, inputs=(*paths, bundle.path), rank_timeout=rank_timeout, totals=flagged)
