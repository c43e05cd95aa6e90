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
from ..data.io import Record, chunked
from ..errors import InputError
from ..model.store import ModelBundle
from ..task import encode_cut, task_of
from ..training.distributed import RANK_TIMEOUT
from .novelty import flag_arrays, tally
from .shards import write_chunks

LONG_FACTOR = 10  # predict refuses records the model would read whole beyond this many times its longest training one
MIN_LIMIT = 300_000  # ... but never below this many letters (about 0.8 GB at most with the default DNA model);
# the limit for models saved without training lengths too
encode_records = encode_cut  # the rows a model reads as trained (its length policy): what interpret explains
BATCH_LETTERS = 1 << 18  # a batch holds at most this many padded positions (at least one record)
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
        for idx in length_batches([len(a) for a in arrays], batch_size or task.batch_size, letters=BATCH_LETTERS):
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


def check_lengths(bundle: ModelBundle, records: Sequence[Record]) -> None:
    """Refuse a record whose part the model reads (all of it, for a labeller or a model without ``max_length``)
    is far beyond the training lengths (:func:`length_limit`): memory stays bounded whatever the input."""
    limit, longest = length_limit(bundle)
    task = task_of(bundle)
    cut = task.cut(bundle)
    for r in records:
        n = len(r.seq)
        if min(n, cut or n) <= limit:
            continue
        n = len(clean(r.seq, bundle.alphabet))
        if min(n, cut or n) <= limit:
            continue
        trained = f"at most {longest:,} letters" if longest else "lengths not recorded in the model file"
        raise InputError(f"{n:,} letters, far beyond the sequences this model was trained on ({trained}; predict "
                         f"reads records of up to {limit:,}): {task.too_long}", r.file, r.where)


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

    size = task.chunk_size if chunk_size is None else chunk_size  # 0 is refused by chunked, not the default
    return write_chunks(out, chunked(task.read(paths), size, CHUNK_LETTERS), render,
                        progress=progress, inputs=(*paths, bundle.path), rank_timeout=rank_timeout, totals=flagged)
