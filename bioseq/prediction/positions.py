"""Prediction and evaluation for labellers (one label per position), in chunks, in input order.

Per record, a labeller gives probabilities ``(length, n_labels)`` (softmax of the logits ``(B, T, C)`` at the
valid positions). The whole sequence is labelled: a labeller ignores the model's ``max_length`` when
predicting, so every letter gets a label.

* :func:`predict_position_files` writes the long CSV ``id, position, letter, prediction, p_<label>...``
  (one row per letter, ``position`` 1-based), or with ``fmt="fasta"`` a three-line FASTA (header,
  sequence, predicted label string); atomically, a chunk of records at a time.
* :func:`evaluate_position_files` scores per-position labelled files: per-position accuracy (Q3/Q8 for
  secondary structure), per-label precision/recall/F1 and segment scores, MCC, the confusion matrix, SOV
  and the per-sequence accuracy distribution, over scored positions only.

Input files may be plain FASTA (or any format :mod:`bioseq.data.io` reads) or three-line FASTA, whose
label lines are then ignored by prediction.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ..data.encoding import encode, length_batches, pad_batch
from ..data.io import Record, chunked
from ..data.position_labels import PositionDataset, load_positions, read_sequences
from ..errors import InputError, ModelFileError
from ..metrics.positions import accuracy_name, per_label, per_sequence_accuracy, position_confusion, position_metrics
from ..model.store import ModelBundle
from .predict import CHUNK_LETTERS, batch_letters, check_alphabet, check_lengths, model_device
from .shards import write_chunks

FORMATS = ("csv", "fasta")
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def require_labeller(bundle: ModelBundle) -> None:
    if bundle.task != "label":
        raise ModelFileError(f"{bundle.path or bundle.name}: this model gives one label per sequence, not one per "
                             "position")


def predict_position_arrays(bundle: ModelBundle, arrays: Sequence[np.ndarray], batch_size: int = 128
                            ) -> list[np.ndarray]:
    """Probabilities ``(length_i, n_labels)`` float32 per encoded sequence, in input order."""
    require_labeller(bundle)
    model = bundle.model.eval()
    device = next(model.parameters()).device
    out: list[np.ndarray] = [np.zeros((0, len(bundle.classes)), dtype=np.float32)] * len(arrays)
    with torch.inference_mode():
        for idx in length_batches([len(a) for a in arrays], batch_size, letters=batch_letters(bundle)):
            x, lengths = pad_batch([arrays[i] for i in idx])
            probs = torch.softmax(model(x.to(device), lengths), -1).cpu().numpy()  # (B, T, C)
            for j, i in enumerate(idx):
                out[i] = probs[j, : int(lengths[j])]
    return out


def read_for_prediction(paths: Sequence[str | os.PathLike]) -> Iterator[Record]:
    """Records of ``paths`` in order, streaming; a three-line FASTA gives its sequences (labels dropped)."""
    return read_sequences(paths)


def encode_records(bundle: ModelBundle, records: Sequence[Record]) -> list[np.ndarray]:
    """Each record's whole sequence, one-hot; the letters must be the model's."""
    return [encode(r.seq, bundle.alphabet, file=r.file, record=r.where) for r in records]


def predict_position_chunk(bundle: ModelBundle, chunk: Sequence[Record], *, check: bool = False,
                           batch_size: int = 128) -> list[np.ndarray]:
    """Probabilities per record of one chunk; ``check`` the alphabet first. Records far beyond the training
    lengths are refused (:func:`bioseq.prediction.predict.check_lengths`)."""
    if check:
        check_alphabet(bundle, chunk)
    check_lengths(bundle, chunk)
    return predict_position_arrays(bundle, encode_records(bundle, chunk), batch_size)


def predict_position_chunks(bundle: ModelBundle, records: Iterable[Record], *, chunk_size: int = 1024,
                            batch_size: int = 128) -> Iterator[tuple[list[Record], list[np.ndarray]]]:
    """``(records, probabilities per record)`` a chunk at a time, in input order."""
    require_labeller(bundle)
    for i, chunk in enumerate(chunked(records, chunk_size, CHUNK_LETTERS)):
        yield chunk, predict_position_chunk(bundle, chunk, check=i == 0, batch_size=batch_size)


def label_string(labels: Sequence[str], probs: np.ndarray) -> str:
    """The most probable label at each position, as a string as long as the sequence."""
    return "".join(np.asarray(labels, dtype=object)[np.asarray(probs).argmax(-1)]) if len(probs) else ""


def position_table(bundle: ModelBundle, records: Sequence[Record], probs: Sequence[np.ndarray]) -> pd.DataFrame:
    """One row per letter: ``id, position`` (1-based), ``letter, prediction, p_<label>...``."""
    labels = list(bundle.classes)
    lengths = [len(p) for p in probs]
    stacked = np.concatenate(probs) if probs else np.zeros((0, len(labels)))
    table = pd.DataFrame(stacked.astype(float), columns=[f"p_{c}" for c in labels])
    table.insert(0, "prediction", np.asarray(labels, dtype=object)[stacked.argmax(1)] if len(stacked) else [])
    table.insert(0, "letter", [c for r, n in zip(records, lengths) for c in r.seq[:n]])
    table.insert(0, "position", np.concatenate([np.arange(1, n + 1) for n in lengths]) if lengths else [])
    table.insert(0, "id", np.repeat(np.asarray([r.id for r in records], dtype=object), lengths))
    return table


def _write_chunk(fh, bundle: ModelBundle, chunk: list[Record], probs: list[np.ndarray], fmt: str,
                 first: bool) -> None:
    if fmt == "csv":
        position_table(bundle, chunk, probs).to_csv(fh, header=first, index=False, float_format="%.6g",
                                                    lineterminator="\n")
        return
    for rec, p in zip(chunk, probs):
        head = rec.description if rec.description and rec.description.startswith(rec.id) else rec.id
        fh.write(f">{head}\n{rec.seq[: len(p)]}\n{label_string(bundle.classes, p)}\n")


def predict_position_files(bundle: ModelBundle, paths: Sequence[str | os.PathLike], out: str | None = None, *,
                           fmt: str = "csv", chunk_size: int = 1024, batch_size: int = 128,
                           progress: Callable[[int], None] | None = None) -> int:
    """Write per-position predictions for ``paths`` to ``out`` (``None`` or ``-`` = stdout); return the number
    of records. ``fmt`` is ``csv`` (the long table) or ``fasta`` (three-line FASTA). Nothing appears until every
    record has been read and predicted, so a bad record leaves no partial file. Under torchrun the chunks are
    shared out among the processes and merged in input order (:mod:`bioseq.prediction.shards`)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    require_labeller(bundle)

    def render(fh, i: int, chunk: list[Record]) -> int:
        _write_chunk(fh, bundle, chunk, predict_position_chunk(bundle, chunk, check=i == 0, batch_size=batch_size),
                     fmt, i == 0)
        return len(chunk)

    return write_chunks(out, chunked(read_for_prediction(paths), chunk_size, CHUNK_LETTERS), render,
                        device=model_device(bundle), progress=progress)


@dataclass
class PositionEvaluation:
    """A labeller's results on per-position labelled data (scored positions only)."""

    labels: list[str]
    metrics: dict  # n, positions, accuracy, balanced_accuracy, mcc, f1 (macro), sov
    per_label: list[dict]  # label, positions, precision, recall, f1, segment_*, sov
    confusion: list[list[int]]  # rows true, columns predicted
    per_sequence: pd.DataFrame  # id, length, scored, accuracy
    probabilities: list[np.ndarray] = field(default_factory=list)

    @property
    def accuracy_name(self) -> str:
        """``Q3`` / ``Q8`` for secondary-structure labels, else ``accuracy``."""
        return accuracy_name(self.labels)

    def quantiles(self, qs: Sequence[float] = QUANTILES) -> dict[float, float]:
        """Quantiles of the per-sequence accuracy (sequences with a scored position)."""
        acc = self.per_sequence["accuracy"].dropna().to_numpy()
        return {q: float(np.quantile(acc, q)) if len(acc) else float("nan") for q in qs}


def evaluate_positions(bundle: ModelBundle, ds: PositionDataset) -> PositionEvaluation:
    """Predict ``ds`` (checked against the model's alphabet and labels) and score it."""
    probs = predict_position_arrays(bundle, ds.encoded())
    true = ds.targets()
    n = len(bundle.classes)
    m = position_metrics(true, probs, n)
    m.pop("loss")
    m.update(n=len(ds), positions=int(sum(int((t >= 0).sum()) for t in true)))
    seq = pd.DataFrame({"id": ds.ids, "length": ds.lengths(), "scored": [int((t >= 0).sum()) for t in true],
                        "accuracy": per_sequence_accuracy(true, probs)})
    return PositionEvaluation(list(bundle.classes), m, per_label(true, probs, bundle.classes),
                              position_confusion(true, probs, n), seq, probs)


def evaluate_position_files(bundle: ModelBundle, files: Sequence[str | os.PathLike], *,
                            labels_fasta: Sequence[str] | None = None, mask: Sequence[str] | None = None,
                            ignore_label: str | None = None) -> PositionEvaluation:
    """Read per-position labelled files (three-line FASTA, or sequences plus ``labels_fasta``; ``mask``;
    ``ignore_label`` defaults to the model's) and evaluate. A label outside the model's labels is an error."""
    require_labeller(bundle)
    ignore = ignore_label if ignore_label is not None else bundle.labelling.get("ignore_label")
    ds = load_positions(files, labels_fasta=labels_fasta, mask=mask, ignore_label=ignore,
                        alphabet=bundle.alphabet, label_set=bundle.classes)
    check_alphabet(bundle, [Record(i, i, s, str(files[0]), k) for k, (i, s) in enumerate(zip(ds.ids, ds.seqs), 1)])
    return evaluate_positions(bundle, ds)
