"""The Predict page for labellers: uploaded sequences labelled position by position, in chunks with a progress
callback; per-record rows; per-position evaluation when the uploads carry true labels (three-line FASTA, or a
label FASTA and a mask FASTA matched by id); the three-line FASTA of predicted labels.

Per record the model gives probabilities ``(length, n_labels)``; :attr:`PositionPredictions.table` is the long
CSV of ``bioseq predict`` (``id, position, letter, prediction, p_<label>...``, plus ``true`` when known).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.io import Record
from ..errors import InputError
from ..metrics.positions import PositionEvaluation
from ..model.store import ModelBundle
from ..prediction.predict import predict_chunks, prediction_table
from ..task import label_string

NOT_SCORED = ""


@dataclass
class PositionPredictions:
    """What the Predict page shows for a labeller's uploads."""

    records: list[Record]
    tracks: list[np.ndarray] | None  # true label indices per record (UNSCORED = -100), None when unknown
    probs: list[np.ndarray]  # (length, n_labels) per record
    table: pd.DataFrame  # long: id, position, letter, prediction, p_<label>..., true (when known)
    per_record: pd.DataFrame  # index, id, length, scored, accuracy, confidence, prediction, segments, share_<label>
    evaluation: PositionEvaluation | None = None

    def fasta(self, labels: Sequence[str]) -> str:
        """Three-line FASTA of the predicted labels: header, sequence, predicted label string."""
        return "".join(f">{r.description or r.id}\n{r.seq}\n{label_string(labels, p)}\n"
                       for r, p in zip(self.records, self.probs))

    def record_tracks(self, index: int) -> pd.DataFrame:
        """One record's rows as :func:`bioseq.interpret.tracks.label_tracks` lays them out (for the chart)."""
        rows = self.table[self.table["id"] == self.records[index].id]
        rows = rows.iloc[: len(self.records[index].seq)]
        true = rows["true"] if "true" in rows else pd.Series(NOT_SCORED, index=rows.index)
        return rows.rename(columns={"prediction": "predicted"}).assign(true=true.fillna(NOT_SCORED))


def renamed(e: InputError, names: dict[str, str]) -> InputError:
    """The error with stored upload paths replaced by the names the user gave the files."""
    text = str(e)
    for stored, name in names.items():
        text = text.replace(stored, name)
    return InputError(text)


def predict_uploads(bundle: ModelBundle, files: Sequence[tuple[str, bytes]],
                    labels_fasta: Sequence[tuple[str, bytes]] = (), mask: Sequence[tuple[str, bytes]] = (), *,
                    chunk_size: int = 1024, progress: Callable[[int, int], None] | None = None) -> PositionPredictions:
    """Label uploaded ``(name, bytes)`` files with a labeller; evaluate them when they carry true labels.
    Errors (:class:`InputError`) name the user's files."""
    from ..prediction.evaluate import evaluate_files
    from .position_data import read_labelled
    from .records import position_record_table
    from .uploads import save_uploads

    paths = [str(p) for p in save_uploads([*files, *labels_fasta, *mask])]
    names = dict(zip(paths, [n for n, _ in [*files, *labels_fasta, *mask]]))
    seqs, labels, masks = (paths[:len(files)], paths[len(files):len(files) + len(labels_fasta)],
                           paths[len(files) + len(labels_fasta):])
    ignore = (bundle.labelling or {}).get("ignore_label")
    try:
        records, tracks = read_labelled(seqs, bundle.classes, labels_fasta=labels, mask=masks, ignore_label=ignore)
        probs: list[np.ndarray] = []
        for _chunk, _, p in predict_chunks(bundle, records, chunk_size=chunk_size):
            probs += p
            if progress:
                progress(len(probs), len(records))
        evaluation = evaluate_files(bundle, seqs, labels_fasta=labels or None, mask=masks or None) \
            if tracks is not None else None
    except InputError as e:
        raise renamed(e, names) from None
    table = prediction_table(bundle, records, [], probs)
    if tracks is not None:
        names_ = np.asarray(bundle.classes, dtype=object)
        true = np.concatenate([np.where(t >= 0, names_[np.clip(t, 0, None)], NOT_SCORED) for t in tracks]) \
            if tracks else np.zeros(0, dtype=object)
        table["true"] = true
    per_record = position_record_table(bundle, records, tracks, probs).drop(columns=["true", "correct"])
    return PositionPredictions(records, tracks, probs, table, per_record, evaluation)
