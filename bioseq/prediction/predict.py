"""Prediction over sequence files in chunks, with bounded memory, in input order.

Each chunk of records is encoded to ``(length, alphabet)`` arrays, cut by the model's length
policy, batched by length, and run through the model in eval mode; rows come back in input order.
The table (and the CSV of ``bioseq predict``) has the columns ``id, prediction, p_<class>..., length,
unlike_training, file`` (and ``sequence`` on request).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.alphabets import detect_alphabet
from ..data.encoding import clean, encode, encode_cut, length_batches, pad_batch
from ..data.io import Record, chunked, read_many
from ..errors import InputError
from ..model.store import ModelBundle
from ..training.distributed import RANK_TIMEOUT
from .novelty import flag_arrays
from .shards import write_chunks

LONG_FACTOR = 10  # predict refuses records the model would read whole beyond this many times its longest training one
MIN_LIMIT = 300_000  # ... but never below this many letters (about 0.8 GB at most with the default DNA model);
# the limit for models saved without training lengths too
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


def predict_logits(bundle: ModelBundle, arrays: Sequence[np.ndarray], batch_size: int = 512) -> np.ndarray:
    """Class scores (logits) ``(N, n_classes)`` for encoded sequences, in input order."""
    model = bundle.model.eval()
    device = next(model.parameters()).device
    logits = np.zeros((len(arrays), len(bundle.classes)), dtype=np.float32)
    with torch.inference_mode():
        for idx in length_batches([len(a) for a in arrays], batch_size, letters=BATCH_LETTERS):
            x, lengths = pad_batch([arrays[i] for i in idx])
            logits[idx] = model(x.to(device), lengths).cpu().numpy()
    return logits


def predict_arrays(bundle: ModelBundle, arrays: Sequence[np.ndarray], batch_size: int = 512) -> np.ndarray:
    """Class probabilities ``(N, n_classes)`` for encoded sequences, in input order."""
    return torch.softmax(torch.from_numpy(predict_logits(bundle, arrays, batch_size)), 1).numpy()


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
    cut = bundle.max_length if bundle.task != "label" else None
    for r in records:
        n = len(r.seq)
        if min(n, cut or n) <= limit:
            continue
        n = len(clean(r.seq, bundle.alphabet))
        if min(n, cut or n) <= limit:
            continue
        trained = f"at most {longest:,} letters" if longest else "lengths not recorded in the model file"
        what = ("cut it into pieces near the training lengths (a labeller labels every letter of what it reads)"
                if bundle.task == "label" else "slide the model along it with `bioseq scan MODEL FILE` (in the "
                "dashboard: Scan a long sequence, on the Predict page)")
        raise InputError(f"{n:,} letters, far beyond the sequences this model was trained on ({trained}; predict "
                         f"reads records of up to {limit:,}): {what}", r.file, r.where)


def encode_records(bundle: ModelBundle, records: Sequence[Record]) -> list[np.ndarray]:
    """The rows the model reads per record (after its length policy); every letter is checked, positions as in
    the file, and a long record is checked a block at a time with only its kept part encoded."""
    return [encode_cut(r.seq, bundle.alphabet, bundle.max_length, bundle.length_policy, file=r.file,
                       record=r.where) for r in records]


def predict_chunk(bundle: ModelBundle, chunk: Sequence[Record], *, check: bool = False, batch_size: int = 512
                  ) -> tuple[list[np.ndarray], np.ndarray]:
    """One chunk's encoded arrays and probabilities ``(n, n_classes)``; ``check`` the alphabet first."""
    if check:
        check_alphabet(bundle, chunk)
    check_lengths(bundle, chunk)
    arrays = encode_records(bundle, chunk)
    return arrays, predict_arrays(bundle, arrays, batch_size)


def predict_chunks(bundle: ModelBundle, records: Iterable[Record], *, chunk_size: int = 4096,
                   batch_size: int = 512, check: bool = True
                   ) -> Iterator[tuple[list[Record], list[np.ndarray], np.ndarray]]:
    """Yield ``(records, encoded arrays, probabilities (n, n_classes))`` a chunk at a time, in input order."""
    for i, chunk in enumerate(chunked(records, chunk_size, CHUNK_LETTERS)):
        yield chunk, *predict_chunk(bundle, chunk, check=check and i == 0, batch_size=batch_size)


def predict_records(bundle: ModelBundle, records: Iterable[Record], *, chunk_size: int = 4096,
                    batch_size: int = 512, check: bool = True) -> Iterator[tuple[Record, np.ndarray]]:
    """Yield ``(record, probabilities)`` in input order, a chunk at a time."""
    for chunk, _, probs in predict_chunks(bundle, records, chunk_size=chunk_size, batch_size=batch_size, check=check):
        yield from zip(chunk, probs)


def prediction_table(bundle: ModelBundle, records: Sequence[Record], arrays: Sequence[np.ndarray],
                     probs: np.ndarray, *, with_sequence: bool = False) -> pd.DataFrame:
    """The prediction rows of :data:`COLUMNS` (plus ``sequence`` on request) for one chunk.

    ``length`` is what the model reads (after its length policy); ``unlike_training`` says why a record
    is unlike the training data (empty when it is not; see :mod:`bioseq.prediction.novelty`).
    """
    classes = list(bundle.classes)
    table = pd.DataFrame(np.asarray(probs, dtype=float).reshape(len(records), len(classes)),
                         columns=[f"p_{c}" for c in classes])
    table.insert(0, "prediction", np.asarray(classes, dtype=object)[np.asarray(probs).argmax(1)] if len(records)
                 else [])
    table.insert(0, "id", [r.id for r in records])
    flags = flag_arrays(arrays, (bundle.meta.get("training") or {}).get("profile"))
    table["length"] = flags["length"].to_numpy()
    table["unlike_training"] = flags["flag"].to_numpy()
    table["file"] = [r.file for r in records]
    if with_sequence:
        table["sequence"] = [r.seq for r in records]
    return table


def model_device(bundle: ModelBundle) -> torch.device:
    return next(bundle.model.parameters()).device


def predict_files(bundle: ModelBundle, paths: Sequence[str | os.PathLike], out: str | None = None, *,
                  chunk_size: int = 4096, batch_size: int = 512, with_sequence: bool = False,
                  progress: Callable[[int], None] | None = None,
                  rank_timeout: float = RANK_TIMEOUT) -> int:
    """Write predictions for ``paths`` as CSV to ``out`` (``None`` or ``-`` = stdout); return the count.

    Output goes to a temporary file first and appears only when every record has been read, so a
    bad record never leaves a partial file (or partial standard output). Under torchrun the chunks are
    shared out among the processes and merged in input order (:mod:`bioseq.prediction.shards`).
    """
    def render(fh, i: int, chunk: list[Record]) -> int:
        arrays, probs = predict_chunk(bundle, chunk, check=i == 0, batch_size=batch_size)
        table = prediction_table(bundle, chunk, arrays, probs, with_sequence=with_sequence)
        table.to_csv(fh, header=i == 0, index=False, float_format="%.6g", lineterminator="\n")
        return len(chunk)

    return write_chunks(out, chunked(read_many(paths), chunk_size, CHUNK_LETTERS), render,
                        progress=progress, inputs=(*paths, bundle.path), rank_timeout=rank_timeout)
