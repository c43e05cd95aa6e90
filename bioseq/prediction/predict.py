"""Prediction over sequence files in chunks, with bounded memory, in input order.

Each chunk of records is encoded to ``(length, alphabet)`` arrays, cut by the model's length
policy, batched by length, and run through the model in eval mode; rows come back in input order.
The table (and the CSV of ``bioseq predict``) has the columns ``id, prediction, p_<class>..., length,
unlike_training, file`` (and ``sequence`` on request).
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.alphabets import detect_alphabet
from ..data.encoding import encode, fit_length, length_batches, pad_batch
from ..data.io import Record, chunked, read_many
from ..errors import InputError
from ..model.store import ModelBundle
from ..workspace import atomic_write
from .novelty import flag_arrays


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
        for idx in length_batches([len(a) for a in arrays], batch_size):
            x, lengths = pad_batch([arrays[i] for i in idx])
            logits[idx] = model(x.to(device), lengths).cpu().numpy()
    return logits


def predict_arrays(bundle: ModelBundle, arrays: Sequence[np.ndarray], batch_size: int = 512) -> np.ndarray:
    """Class probabilities ``(N, n_classes)`` for encoded sequences, in input order."""
    return torch.softmax(torch.from_numpy(predict_logits(bundle, arrays, batch_size)), 1).numpy()


def encode_records(bundle: ModelBundle, records: Sequence[Record]) -> list[np.ndarray]:
    out = []
    for r in records:
        # Encode the whole record (one clean, positions as in the file), then cut the rows.
        rows = encode(r.seq, bundle.alphabet, file=r.file, record=r.where)
        out.append(fit_length(rows, bundle.max_length, bundle.length_policy))
    return out


def predict_chunks(bundle: ModelBundle, records: Iterable[Record], *, chunk_size: int = 4096,
                   batch_size: int = 512, check: bool = True
                   ) -> Iterator[tuple[list[Record], list[np.ndarray], np.ndarray]]:
    """Yield ``(records, encoded arrays, probabilities (n, n_classes))`` a chunk at a time, in input order."""
    for i, chunk in enumerate(chunked(records, chunk_size)):
        if check and i == 0:
            check_alphabet(bundle, chunk)
        arrays = encode_records(bundle, chunk)
        yield chunk, arrays, predict_arrays(bundle, arrays, batch_size)


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


def predict_files(bundle: ModelBundle, paths: Sequence[str | os.PathLike], out: str | None = None, *,
                  chunk_size: int = 4096, with_sequence: bool = False,
                  progress: Callable[[int], None] | None = None) -> int:
    """Write predictions for ``paths`` as CSV to ``out`` (``None`` or ``-`` = stdout); return the count.

    Output goes to a temporary file first and appears only when every record has been read, so a
    bad record never leaves a partial file (or partial standard output).
    """
    n = 0

    def write(tmp: str) -> None:
        nonlocal n
        with open(tmp, "w", newline="", encoding="utf-8") as fh:  # UTF-8 whatever the locale
            for chunk, arrays, probs in predict_chunks(bundle, read_many(paths), chunk_size=chunk_size):
                table = prediction_table(bundle, chunk, arrays, probs, with_sequence=with_sequence)
                table.to_csv(fh, header=n == 0, index=False, float_format="%.6g", lineterminator="\n")
                n += len(chunk)
                if progress:
                    progress(n)

    if out not in (None, "-"):
        folder = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(folder):  # an output path is never a reason to create folders
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", folder)
        atomic_write(out, write)
        return n
    with tempfile.TemporaryDirectory(prefix="bioseq-predict-") as folder:
        tmp = os.path.join(folder, "predictions.csv")
        write(tmp)
        sys.stdout.flush()
        binary = getattr(sys.stdout, "buffer", None)
        with open(tmp, "rb") if binary else open(tmp, newline="", encoding="utf-8") as fh:
            shutil.copyfileobj(fh, binary or sys.stdout)
        (binary or sys.stdout).flush()
    return n
